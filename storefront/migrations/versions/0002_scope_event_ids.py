"""Event ids unique per visitor and caller: events keyed by (id, visitor, source).

`events` gains `source` ("" for the visitor's own browser, "key:<id>" for an API caller); every
row is kept, and two visitors whose client ids match are both counted.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# the columns both shapes share, in order
SHARED = (
    "id, visitor, type, product_id, slot, page, query, ts, received, country, device, channel, "
    "quantity"
)


def _events(scoped: bool) -> list:
    """The events table's columns in either shape (frozen here, not read from storefront.db)."""
    return [
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("visitor", sa.String(64), primary_key=scoped, nullable=False),
        *(
            [sa.Column("source", sa.String(16), primary_key=True, server_default="")]
            if scoped
            else []
        ),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("product_id", sa.String(32), nullable=True),
        sa.Column("slot", sa.String(64), nullable=True),
        sa.Column("page", sa.String(16), nullable=True),
        sa.Column("query", sa.String(200), nullable=True),
        sa.Column("ts", sa.DateTime, nullable=False),
        sa.Column("received", sa.DateTime, nullable=False),
        sa.Column("country", sa.String(2), nullable=True),
        sa.Column("device", sa.String(16), nullable=True),
        sa.Column("channel", sa.String(16), nullable=True),
        sa.Column("quantity", sa.Integer, nullable=True),
    ]


def _copy_sqlite(scoped: bool) -> None:
    """SQLite cannot alter a primary key: copy into a new table (inside the run's transaction)."""
    op.drop_index("ix_events_visitor", table_name="events")
    op.rename_table("events", "events_old")
    op.create_table("events", *_events(scoped))
    op.create_index("ix_events_visitor", "events", ["visitor"])
    op.execute(f"INSERT INTO events ({SHARED}) SELECT {SHARED} FROM events_old")
    op.drop_table("events_old")


def _primary_key_name() -> str:
    return sa.inspect(op.get_bind()).get_pk_constraint("events")["name"] or "events_pkey"


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _copy_sqlite(scoped=True)
        return
    op.add_column("events", sa.Column("source", sa.String(16), nullable=False, server_default=""))
    op.drop_constraint(_primary_key_name(), "events", type_="primary")
    op.create_primary_key("events_pkey", "events", ["id", "visitor", "source"])


def downgrade() -> None:
    shared = op.get_bind().execute(
        sa.text("SELECT count(*) FROM (SELECT id FROM events GROUP BY id HAVING count(*) > 1) d")
    )
    if shared.scalar_one():
        raise RuntimeError(
            "cannot key events by id alone: some event ids are shared by several visitors or "
            "callers (nothing was changed)"
        )
    if op.get_bind().dialect.name == "sqlite":
        _copy_sqlite(scoped=False)
        return
    op.drop_constraint(_primary_key_name(), "events", type_="primary")
    op.drop_column("events", "source")
    op.create_primary_key("events_pkey", "events", ["id"])
