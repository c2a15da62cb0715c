"""The deletion ledger: `deletions` (a hash of each deleted visitor or customer id, its kind and
when), which training honours (storefront/deletions.py, storefront/training_data.py).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # frozen here, not read from storefront.db
    op.create_table(
        "deletions",
        sa.Column("hash", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("deleted", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("deletions")
