"""The database's schema by Alembic revisions shipped inside the package (versions/), for SQLite
and PostgreSQL alike. No alembic.ini: the configuration is built here, so the migrations run the
same from a checkout, an installed package and any working directory, on the app's own database
(STOREFRONT_DATABASE_URL, or the engine handed in).

Three entry points: `upgrade` (the `storefront db upgrade` command, and every command that opens
the store: import, train, demo...), `downgrade` (ops and tests), and `require_head`, which the web
app calls at start: a node never serves a schema other than the one its code was written for.

A database made before Alembic (tables, no alembic_version) is adopted: the tables, nullable
columns and indexes it may lack are added from the frozen baseline (the old start-up added the
first two), then it is stamped at the revision its shape matches (0001 if `events` is keyed by
the client's id alone, 0002 if already by (id, visitor, source)) and upgraded from there.

Every run holds one transaction and one lock (SQLite: BEGIN IMMEDIATE, so DDL is part of it;
PostgreSQL: an advisory lock), so two nodes upgrading at once never both migrate, and a failed
migration leaves the schema as it was.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text
from sqlalchemy.engine import Engine

HERE = Path(__file__).resolve().parent
# pg_advisory_xact_lock's key: any constant of our own ("storefront schema")
LOCK_KEY = 0x5354_4F52_4553_4348 & 0x7FFF_FFFF_FFFF_FFFF


class SchemaNotCurrent(RuntimeError):
    """The database's schema is not the one this release serves; the message is one line that
    says what to run. A RuntimeError, so gunicorn prints it as one line and stops."""


def config() -> Config:
    """Alembic's configuration, programmatic: the scripts are this package's."""
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    return cfg


@functools.cache
def _script() -> ScriptDirectory:
    return ScriptDirectory.from_config(config())


def head() -> str:
    """The newest revision this release ships."""
    return _script().get_current_head()


def current(engine: Engine) -> str | None:
    """The database's revision; None for an empty database or one made before Alembic."""
    with engine.connect() as conn:
        return _revision(conn)


def _revision(conn: Connection) -> str | None:
    # Alembic logs its dialect at INFO on every context: noise in a server's start-up log
    log = logging.getLogger("alembic.runtime.migration")
    level = log.level
    log.setLevel(max(level, logging.WARNING))
    try:
        return MigrationContext.configure(conn).get_current_revision()
    finally:
        log.setLevel(level)


def describe(engine: Engine) -> str:
    """One line for `storefront db current`."""
    revision = current(engine)
    if revision is None:
        return (
            "pre-Alembic schema (run `storefront db upgrade`)"
            if _has_tables(engine)
            else ("empty database (run `storefront db upgrade`)")
        )
    known = {s.revision: s for s in _script().walk_revisions()}
    if revision not in known:
        return f"{revision} (unknown to this release: a newer release migrated this database)"
    suffix = " (head)" if revision == head() else f" (behind head {head()})"
    return f"{revision}{suffix}: {known[revision].doc.splitlines()[0]}"


def require_head(engine: Engine) -> None:
    """Raise SchemaNotCurrent unless the database is at this release's head revision."""
    revision = current(engine)
    if revision == head():
        return
    url = engine.url.render_as_string(hide_password=True)
    if revision is None:
        state = "has no schema" if not _has_tables(engine) else "was made before migrations"
    else:
        state = f"is at schema revision {revision}, this release needs {head()}"
    raise SchemaNotCurrent(
        f"the database {url} {state}: run `storefront db upgrade` before serving"
    )


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the database up to `revision`, creating it from nothing or adopting a database
    made before Alembic. Cheap when already there: one read of the version table."""
    if revision == "head" and current(engine) == head():
        return
    with locked(engine) as conn:
        if not _versioned(conn) and _has_tables(conn):
            _adopt(conn)
        command.upgrade(_bound(conn), revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Migrate the database down to `revision` ("base": no tables at all)."""
    with locked(engine) as conn:
        command.downgrade(_bound(conn), revision)


def _bound(conn: Connection) -> Config:
    cfg = config()
    cfg.attributes["connection"] = conn  # env.py runs on it, inside our transaction
    return cfg


@contextmanager
def locked(engine: Engine) -> Iterator[Connection]:
    """One connection in one transaction that holds the migration lock; committed at the end,
    rolled back (DDL included) on any error."""
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            # pysqlite would run each DDL statement outside any transaction: open one ourselves
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        elif conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
        yield conn
        conn.commit()


def _versioned(conn: Connection) -> bool:
    return _revision(conn) is not None


def _has_tables(bind) -> bool:
    from storefront.migrations import baseline

    return bool(set(inspect(bind).get_table_names()) & set(baseline.metadata.tables))


def _adopt(conn: Connection) -> None:
    """Bring a database made before Alembic to a revision's shape and stamp it there."""
    from storefront.migrations import baseline

    existing = inspect(conn)
    tables = set(existing.get_table_names())
    for table in baseline.metadata.sorted_tables:
        if table.name not in tables:
            table.create(conn)
            continue
        have = {c["name"] for c in existing.get_columns(table.name)}
        for column in table.columns:
            if column.name not in have and column.nullable:
                kind = column.type.compile(dialect=conn.dialect)
                conn.execute(text(f'ALTER TABLE {table.name} ADD COLUMN "{column.name}" {kind}'))
        indexes = {i["name"] for i in existing.get_indexes(table.name)}
        for index in table.indexes:
            if index.name not in indexes:
                index.create(conn)
    pk = inspect(conn).get_pk_constraint("events")["constrained_columns"]
    command.stamp(_bound(conn), "0001" if pk == ["id"] else "0002")
