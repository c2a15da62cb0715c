"""Shared secrets: the Flask secret key (visitor cookies, CSRF, QA tokens) in the database, so
every shop node signs and reads the same cookies (storefront/shared_secret.py).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # frozen here, not read from storefront.db
    op.create_table(
        "shared_secrets",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("created", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("shared_secrets")
