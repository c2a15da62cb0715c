"""Event ids are the client's, unique per visitor (and per API caller): two visitors whose
trackers pick the same id both count; a retry by the same visitor is still counted once."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, func, inspect, select, text

from storefront import db
from storefront.api import keys
from tests.conftest import postgres_url


def stored(app, event_id: str) -> list[tuple[str, str]]:
    with app.extensions["db"].connect() as conn:
        rows = conn.execute(
            select(db.events.c.visitor, db.events.c.source).where(db.events.c.id == event_id)
        )
        return sorted(tuple(r) for r in rows)


def visitor_of(app, client) -> str:
    from storefront.visitor import read_visitor_id

    client.get("/")
    with app.app_context():
        return read_visitor_id(client.get_cookie("sid").value)


def test_two_visitors_may_use_the_same_event_id(app):
    pid = next(iter(app.extensions["models"].get().catalog.products))
    event = {"id": "shared-id-00000001", "type": "view", "product_id": pid}
    batch = {"events": [{**event, "ts": datetime.now(UTC).isoformat()}]}
    first, second = app.test_client(), app.test_client()
    a, b = visitor_of(app, first), visitor_of(app, second)
    assert first.post("/events", json=batch).get_json()["recorded"] == 1
    answer = second.post("/events", json=batch).get_json()
    assert answer == {"accepted": 1, "recorded": 1, "duplicates": 0}
    assert second.post("/events", json=batch).get_json()["duplicates"] == 1  # a retry
    # API callers have their own ids: a mailer's click for visitor a, retried, counts once
    mailer, other = (
        keys.create(app.extensions["db"], "mailer"),
        keys.create(app.extensions["db"], "b"),
    )
    for token, recorded in ((mailer, 1), (mailer, 0), (other, 1)):
        r = first.post(f"/events?visitor={a}", json=batch, headers={"X-Api-Key": token})
        assert r.status_code == 202 and r.get_json()["recorded"] == recorded
    rows = stored(app, "shared-id-00000001")
    assert len(rows) == 4 and [v for v, _ in rows].count(a) == 3 and (b, "") in rows


OLD_EVENTS = """CREATE TABLE events (
    id VARCHAR(64) NOT NULL PRIMARY KEY, visitor VARCHAR(64) NOT NULL, type VARCHAR(16) NOT NULL,
    product_id VARCHAR(32), slot VARCHAR(64), page VARCHAR(16), query VARCHAR(200),
    ts TIMESTAMP NOT NULL, received TIMESTAMP NOT NULL, country VARCHAR(2), device VARCHAR(16),
    channel VARCHAR(16), quantity INTEGER)"""


@pytest.mark.parametrize("which", ["sqlite", "postgres"])
def test_a_shop_upgraded_in_place_keeps_its_events_and_scopes_ids(tmp_path, which):
    if which == "sqlite":
        engine = create_engine(f"sqlite:///{tmp_path / 'old.db'}")
    else:  # a schema of its own: the shared test database's tables are left alone
        if postgres_url() is None:
            pytest.skip("no PostgreSQL answering")
        with create_engine(postgres_url()).begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS upgrade_test CASCADE"))
            conn.execute(text("CREATE SCHEMA upgrade_test"))
        options = {"options": "-csearch_path=upgrade_test"}
        engine = create_engine(postgres_url(), connect_args=options)
    now = datetime(2026, 1, 1)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS events"))
        conn.execute(text(OLD_EVENTS))
        conn.execute(text("CREATE INDEX ix_events_visitor ON events (visitor)"))
        conn.execute(
            text(
                "INSERT INTO events (id, visitor, type, ts, received) "
                "VALUES ('old-event-1', 'visitor-aaaa', 'view', :t, :t)"
            ),
            {"t": now},
        )
    db.create_schema(engine)
    db.create_schema(engine)  # safe to run twice
    pk = inspect(engine).get_pk_constraint("events")["constrained_columns"]
    assert sorted(pk) == ["id", "source", "visitor"]
    row = {"type": "view", "ts": now, "received": now, "source": ""}
    with engine.begin() as conn:
        conn.execute(db.events.insert(), [{"id": "old-event-1", "visitor": "visitor-bbbb", **row}])
        n = conn.execute(select(func.count()).select_from(db.events)).scalar_one()
        kept = conn.execute(select(db.events.c.visitor).where(db.events.c.id == "old-event-1"))
        assert n == 2 and sorted(kept.scalars()) == ["visitor-aaaa", "visitor-bbbb"]
    db.drop_schema(engine)
    engine.dispose()
