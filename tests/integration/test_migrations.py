"""The schema's Alembic migrations (storefront/migrations) on SQLite and PostgreSQL: up and down
through every revision with rows kept, the models and the migrations agreeing, a database made
by the last release before Alembic adopted and upgraded, `storefront db ...`, and a server that
refuses a schema that is not current with one line."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData, Table, create_engine, func, inspect, select, text

from storefront import db, migrations
from tests.conftest import ROOT, postgres_url

SCHEMA = "migrations_test"  # PostgreSQL: a schema of its own, the shared tables left alone
NOW = datetime(2026, 1, 1)
OLD_EVENTS = """CREATE TABLE events (
    id VARCHAR(64) NOT NULL PRIMARY KEY, visitor VARCHAR(64) NOT NULL, type VARCHAR(16) NOT NULL,
    product_id VARCHAR(32), slot VARCHAR(64), page VARCHAR(16), query VARCHAR(200),
    ts TIMESTAMP NOT NULL, received TIMESTAMP NOT NULL, country VARCHAR(2), device VARCHAR(16),
    channel VARCHAR(16), quantity INTEGER)"""


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request, tmp_path):
    """An empty database on either back end."""
    if request.param == "sqlite":
        engine = db.make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    else:
        if postgres_url() is None:
            pytest.skip("no PostgreSQL answering")
        with create_engine(postgres_url()).begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
            conn.execute(text(f"CREATE SCHEMA {SCHEMA}"))
        engine = create_engine(postgres_url(), connect_args={"options": f"-csearch_path={SCHEMA}"})
    yield engine
    engine.dispose()
    if request.param == "postgres":
        with create_engine(postgres_url()).begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))


def differences(engine) -> list:
    """What Alembic's autogenerate would change to make the database match storefront.db."""
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


def events_key(engine) -> list[str]:
    return inspect(engine).get_pk_constraint("events")["constrained_columns"]


def tables(engine) -> set[str]:
    return set(inspect(engine).get_table_names()) - {"alembic_version"}


def add_event(engine, event_id: str, visitor: str, **extra) -> None:
    """One event row in raw SQL (the table's shape differs between revisions)."""
    names = "".join(f", {k}" for k in extra)
    values = "".join(f", :{k}" for k in extra)
    with engine.begin() as conn:
        conn.execute(
            text(
                f"INSERT INTO events (id, visitor, type, ts, received{names})"
                f" VALUES (:id, :visitor, 'view', :t, :t{values})"
            ),
            {"id": event_id, "visitor": visitor, "t": NOW, **extra},
        )


def event_rows(engine) -> list[tuple]:
    with engine.connect() as conn:
        return sorted(conn.execute(text("SELECT id, visitor FROM events")).all())


def test_up_and_down_through_every_revision_keeping_rows(engine):
    assert migrations.current(engine) is None and tables(engine) == set()
    migrations.upgrade(engine, "0001")
    assert migrations.current(engine) == "0001"
    assert tables(engine) == set(before_alembic(engine).tables)
    assert events_key(engine) == ["id"]
    add_event(engine, "e1", "visitor-a")

    migrations.upgrade(engine, "0002")  # events keyed by (id, visitor, source)
    assert migrations.current(engine) == "0002"
    assert sorted(events_key(engine)) == ["id", "source", "visitor"]
    assert event_rows(engine) == [("e1", "visitor-a")]
    add_event(engine, "e2", "visitor-b", source="key:abc")
    with engine.connect() as conn:
        sources = dict(conn.execute(text("SELECT id, source FROM events")).all())
    assert sources == {"e1": "", "e2": "key:abc"}  # old rows get the browser's source

    migrations.upgrade(engine, "0003")  # model artifacts in the database
    assert migrations.current(engine) == "0003"
    assert {"model_versions", "model_artifacts"} <= tables(engine)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO model_artifacts (version, name, chunk_no, data) VALUES (:v, :n, 0, :d)"
            ),
            {"v": "v1", "n": "meta.json", "d": b"\x00\xff" * 10},
        )
        assert (
            conn.execute(text("SELECT data FROM model_artifacts")).scalar_one() == b"\x00\xff" * 10
        )
    assert event_rows(engine) == [("e1", "visitor-a"), ("e2", "visitor-b")]

    migrations.upgrade(engine, "0004")  # 0004: the deletion ledger
    assert migrations.current(engine) == "0004"
    assert "deletions" in tables(engine)
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO deletions (hash, kind, deleted) VALUES (:h, 'visitor', :t)"),
            {"h": "ab" * 32, "t": NOW},
        )
        assert conn.execute(text("SELECT hash FROM deletions")).scalar_one() == "ab" * 32
    migrations.downgrade(engine, "0003")
    assert migrations.current(engine) == "0003" and "deletions" not in tables(engine)
    assert {"model_versions", "model_artifacts"} <= tables(engine)
    assert event_rows(engine) == [("e1", "visitor-a"), ("e2", "visitor-b")]
    migrations.upgrade(engine, "0004")  # up again: an empty ledger
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM deletions")).scalar_one() == 0

    migrations.upgrade(engine, "0005")  # 0005: the secret every node shares
    assert migrations.current(engine) == "0005"
    assert "shared_secrets" in tables(engine)

    migrations.upgrade(engine)  # 0006: the operating system in the event log
    assert migrations.current(engine) == migrations.head() == "0006"
    assert "os" in {c["name"] for c in inspect(engine).get_columns("events")}
    add_event(engine, "e3", "visitor-c", os="ios")
    assert event_rows(engine) == [("e1", "visitor-a"), ("e2", "visitor-b"), ("e3", "visitor-c")]
    migrations.downgrade(engine, "0005")
    assert "os" not in {c["name"] for c in inspect(engine).get_columns("events")}
    assert event_rows(engine) == [("e1", "visitor-a"), ("e2", "visitor-b"), ("e3", "visitor-c")]
    migrations.downgrade(engine, "0004")
    assert "shared_secrets" not in tables(engine)
    migrations.downgrade(engine, "0003")
    migrations.downgrade(engine, "0002")
    assert migrations.current(engine) == "0002"
    assert not {"model_versions", "model_artifacts"} & tables(engine)

    migrations.downgrade(engine, "0001")
    assert migrations.current(engine) == "0001" and events_key(engine) == ["id"]
    assert "source" not in {c["name"] for c in inspect(engine).get_columns("events")}
    assert event_rows(engine) == [("e1", "visitor-a"), ("e2", "visitor-b"), ("e3", "visitor-c")]

    migrations.downgrade(engine, "base")
    assert migrations.current(engine) is None and tables(engine) == set()
    migrations.upgrade(engine)  # and up again from nothing
    assert migrations.current(engine) == migrations.head() and differences(engine) == []


def test_the_models_and_the_migrations_agree(engine):
    """Alembic's autogenerate finds nothing to change after upgrade head: a table changed in
    storefront/db.py without a revision fails here."""
    db.create_schema(engine)
    assert differences(engine) == []
    assert sorted(events_key(engine)) == ["id", "source", "visitor"]  # keys are not compared


def test_a_downgrade_that_would_merge_events_changes_nothing(engine):
    """Two visitors with the same client event id cannot be keyed by id alone: the downgrade
    refuses before changing anything, and says why."""
    db.create_schema(engine)
    add_event(engine, "same", "visitor-a")
    add_event(engine, "same", "visitor-b")
    with pytest.raises(RuntimeError, match="shared by several visitors"):
        migrations.downgrade(engine, "0001")
    assert migrations.current(engine) == migrations.head()
    assert sorted(events_key(engine)) == ["id", "source", "visitor"]
    assert event_rows(engine) == [("same", "visitor-a"), ("same", "visitor-b")]
    assert "events_old" not in tables(engine)


def test_a_failed_run_rolls_its_ddl_back(engine):
    """A migration run is one transaction, DDL included (SQLite too, where pysqlite would
    otherwise run each DDL statement on its own): what fails half-way leaves nothing behind."""
    db.create_schema(engine)
    with pytest.raises(ZeroDivisionError), migrations.locked(engine) as conn:
        conn.execute(text("CREATE TABLE half_done (x INTEGER)"))
        conn.execute(text("DROP TABLE api_keys"))
        _ = 1 / 0
    assert "half_done" not in tables(engine) and "api_keys" in tables(engine)


def before_alembic(engine) -> MetaData:
    """Today's tables less those a later revision added (the release before Alembic had no
    model_versions / model_artifacts / deletions / shared_secrets: revisions 0003 to 0005 make
    them; nor the events' os column: revision 0006)."""
    later = {"model_versions", "model_artifacts", "deletions", "shared_secrets"}
    later_columns = {"events": {"os"}}  # revision 0006
    kept = MetaData()
    for table in db.metadata.sorted_tables:
        if table.name in later:
            continue
        dropped = later_columns.get(table.name)
        if dropped:
            Table(table.name, kept, *(c._copy() for c in table.columns if c.name not in dropped))
        else:
            table.to_metadata(kept)
    return kept


def old_release(engine) -> None:
    """A database as the previous release left it: its create_all (today's tables) with the
    old shape of events (keyed by the client's id alone, no source), no alembic_version, rows
    in it."""
    for table in before_alembic(engine).sorted_tables:
        if table.name != "events":
            table.create(engine)
    with engine.begin() as conn:
        conn.execute(text(OLD_EVENTS))
        conn.execute(text("CREATE INDEX ix_events_visitor ON events (visitor)"))
        conn.execute(
            db.products.insert(),
            [{"id": "P1", "title": "Mug", "category": "kitchen", "price": 3.5, "units_sold": 2}],
        )
        conn.execute(
            db.order_lines.insert(),
            [
                {"invoice": "I1", "product_id": "P1", "customer_id": "C1", "quantity": 2}
                | {"price": 3.5, "ts": NOW}
            ],
        )
    add_event(engine, "old-1", "visitor-a")


def test_a_database_from_the_previous_release_upgrades_and_keeps_its_rows(engine):
    old_release(engine)
    assert migrations.current(engine) is None
    assert "pre-Alembic" in migrations.describe(engine)
    with pytest.raises(migrations.SchemaNotCurrent, match="storefront db upgrade"):
        migrations.require_head(engine)
    db.create_schema(engine)  # adopted: stamped at 0001 (events keyed by id), then upgraded
    assert migrations.current(engine) == migrations.head()
    assert differences(engine) == []
    assert sorted(events_key(engine)) == ["id", "source", "visitor"]
    add_event(engine, "old-1", "visitor-b")  # the same client id from another visitor counts
    assert event_rows(engine) == [("old-1", "visitor-a"), ("old-1", "visitor-b")]
    with engine.connect() as conn:
        assert conn.execute(select(db.products.c.title)).scalars().all() == ["Mug"]
        assert conn.execute(select(func.sum(db.order_lines.c.quantity))).scalar_one() == 2
    migrations.require_head(engine)


def test_a_database_already_keyed_per_visitor_is_stamped_at_that_revision(engine):
    """The release just before Alembic already made events keyed by (id, visitor, source):
    adopting it stamps 0002 and runs nothing on its rows (then 0003 adds the model tables, 0004
    the deletion ledger)."""
    before_alembic(engine).create_all(engine)
    add_event(engine, "e1", "visitor-a", source="")
    db.create_schema(engine)
    assert migrations.current(engine) == migrations.head() and differences(engine) == []
    assert event_rows(engine) == [("e1", "visitor-a")]


def storefront(tmp_path, *args: str, database_url: str) -> subprocess.CompletedProcess:
    """The storefront command from a directory that is not the checkout."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "STOREFRONT_HOME": str(tmp_path / "home"),
        "STOREFRONT_DATABASE_URL": database_url,
    }
    return subprocess.run(
        [sys.executable, "-m", "storefront.cli", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_db_commands_and_a_server_that_refuses_an_old_schema(tmp_path):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    current = storefront(tmp_path, "db", "current", database_url=url)
    assert current.returncode == 0 and "empty database" in current.stdout

    up = storefront(tmp_path, "db", "upgrade", database_url=url)
    assert up.returncode == 0, up.stderr
    head = migrations.head()
    assert f"now: {head} (head)" in up.stdout
    now = storefront(tmp_path, "db", "current", database_url=url).stdout
    assert now.startswith(f"{head} (head)")

    down = storefront(tmp_path, "db", "downgrade", "0001", "--yes", database_url=url)
    assert down.returncode == 0, down.stderr
    assert f"now: 0001 (behind head {head})" in down.stdout

    serve = storefront(tmp_path, "serve", "--port", "1", database_url=url)
    assert serve.returncode != 0
    assert "Traceback" not in serve.stderr
    lines = serve.stderr.strip().splitlines()
    assert len(lines) == 1 and "run `storefront db upgrade`" in lines[0], serve.stderr
    assert f"schema revision 0001, this release needs {head}" in lines[0]

    assert storefront(tmp_path, "db", "upgrade", database_url=url).returncode == 0
    assert storefront(tmp_path, "db", "current", database_url=url).stdout.startswith(head)


def test_the_web_app_refuses_an_unmigrated_database(tmp_path, embedded_redis_url):
    from storefront import create_app

    home = tmp_path / "home"
    config = {"home": home, "redis_url": embedded_redis_url, "testing": True}
    with pytest.raises(migrations.SchemaNotCurrent, match="has no schema: run `storefront db"):
        create_app(config)
    engine = db.make_engine(f"sqlite:///{home / 'storefront.db'}")
    old_release(engine)
    with pytest.raises(migrations.SchemaNotCurrent, match="made before migrations: run `st"):
        create_app(config)
    db.create_schema(engine)
    engine.dispose()
    app = create_app(config)
    assert app.test_client().get("/healthz").status_code in (200, 503)
    app.extensions["db"].dispose()
    app.extensions["redis"].close()


def test_gunicorn_on_wsgi_py_stops_with_one_line_on_an_old_schema(tmp_path):
    """`gunicorn wsgi:app` without storefront serve: the worker prints the one line and the
    master stops, instead of a traceback per worker restarted for ever."""
    old = db.make_engine(f"sqlite:///{tmp_path / 'storefront.db'}")
    old_release(old)
    old.dispose()
    env = {**os.environ, "STOREFRONT_HOME": str(tmp_path), "STOREFRONT_DATABASE_URL": ""}
    proc = subprocess.run(
        [sys.executable, "-m", "gunicorn", "--bind", "127.0.0.1:0", "--no-control-socket"]
        + ["wsgi:app"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    assert "made before migrations: run `storefront db upgrade`" in proc.stderr
