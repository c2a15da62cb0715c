"""Model artifacts in the database: model_versions (manifest, published) and model_artifacts
(the files in chunks), so a publish on one node reaches every node (storefront/model_store.py).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # frozen here, not read from storefront.db
    op.create_table(
        "model_versions",
        sa.Column("version", sa.String(32), primary_key=True),
        sa.Column("manifest", sa.Text, nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("created", sa.DateTime, nullable=False),
        sa.Column("published", sa.DateTime, nullable=True),
    )
    op.create_index("ix_model_versions_published", "model_versions", ["published"])
    op.create_table(
        "model_artifacts",
        sa.Column("version", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(255), primary_key=True),
        sa.Column("chunk_no", sa.Integer, primary_key=True),
        sa.Column("data", sa.LargeBinary, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("model_artifacts")
    op.drop_index("ix_model_versions_published", table_name="model_versions")
    op.drop_table("model_versions")
