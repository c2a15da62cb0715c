"""Baseline: every table as the last release before Alembic made it (events keyed by id alone).

Revision ID: 0001
Revises:
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

from storefront.migrations import baseline

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    baseline.metadata.create_all(op.get_bind(), checkfirst=False)


def downgrade() -> None:
    baseline.metadata.drop_all(op.get_bind(), checkfirst=False)
