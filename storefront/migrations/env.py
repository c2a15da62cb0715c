"""Alembic's environment: runs the revisions on the connection storefront.migrations hands in
(config.attributes["connection"], inside its transaction and lock). Run by Alembic's own command
line instead, it opens the app's database (STOREFRONT_DATABASE_URL) itself. Online only: revision
0002 inspects the database it runs on, so there is no offline (--sql) mode."""

from __future__ import annotations

from alembic import context

from storefront import db


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=db.metadata, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("storefront's migrations run online only (no --sql)")
connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:  # pragma: no cover - Alembic's own command line
    from storefront.config import load_settings

    engine = db.make_engine(load_settings().effective_database_url)
    with engine.connect() as conn:
        _run(conn)
        conn.commit()
    engine.dispose()
