"""The visit's operating system in the event log: `events.os` (signals/device.py: the client
hints' platform, else the User-Agent's), so the impact report can judge rules on it from the
shop's recent visits. Nullable: events recorded before it have none.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("os", sa.String(16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.drop_column("os")
