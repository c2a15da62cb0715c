"""QA snapshots: a pinned request renders the same bytes every time; pins are signed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from storefront.qa_snapshot import Pin, make_token
from tests.helpers import signal, slots
from tests.integration.rules_support import clean_rules  # noqa: F401 (fixture)


def token(app, hour: int, **kw) -> str:
    pin = Pin(datetime(2011, 12, 5, hour, 30, tzinfo=UTC), **kw)
    return make_token(app.config["SECRET_KEY"], pin)


def test_same_snapshot_same_bytes(app):
    t = token(app, 19, seed="fixed")
    client = app.test_client()
    client.get("/")  # a returning visitor with a cookie, like a QA persona
    pages = {
        client.get("/", headers={"X-Storefront-Snapshot": t, "CF-IPCountry": "DE"}).get_data()
        for _ in range(100)
    }
    assert len(pages) == 1
    r = client.get("/", headers={"X-Storefront-Snapshot": t, "CF-IPCountry": "DE"})
    assert r.headers["X-Storefront-Snapshot"].startswith("clock=2011-12-05T19:30")
    html = r.get_data(as_text=True)
    assert signal(html, "daypart") == "evening" and "Monday 05 December 2011" in html


def test_two_clocks_two_pages(app):
    client = app.test_client()
    morning = client.get("/", headers={"X-Storefront-Snapshot": token(app, 8)}).get_data(True)
    evening = client.get("/", headers={"X-Storefront-Snapshot": token(app, 19)}).get_data(True)
    assert signal(morning, "daypart") == "morning" and signal(evening, "daypart") == "evening"


def test_pins_the_model_version(app):
    snap = app.extensions["models"].get()
    t = token(app, 12, model=snap.model_version)
    r = app.test_client().get("/", headers={"X-Storefront-Snapshot": t})
    assert r.headers["X-Model-Version"] == snap.model_version
    bad = app.test_client().get("/", headers={"X-Storefront-Snapshot": token(app, 12, model="x")})
    assert bad.status_code == 400


def test_unsigned_or_tampered_tokens_are_refused(app):
    client = app.test_client()
    assert client.get("/?snapshot=eyJjbG9jayI6IjIwMTEifQ").status_code == 400
    good = token(app, 9)
    assert client.get("/", headers={"X-Storefront-Snapshot": good[:-2] + "xx"}).status_code == 400
    plain = client.get("/")
    assert "X-Storefront-Snapshot" not in plain.headers


def test_configured_snapshot_pins_every_request(shop_env):
    from storefront import create_app

    app = create_app(
        {
            "home": shop_env["home"],
            "database_url": shop_env["database_url"],
            "redis_url": shop_env["redis_url"],
            "testing": True,
            "snapshot": '{"clock": "2011-06-01T07:00:00+00:00", "seed": "s"}',
        }
    )
    r = app.test_client().get("/")
    assert "June 2011" in r.get_data(as_text=True)
    assert r.headers["X-Storefront-Snapshot"].startswith("clock=2011-06-01T07:00")


@pytest.mark.usefixtures("clean_rules")
def test_snapshot_clocks_follow_the_rules(app):
    """The same persona under a morning and an evening snapshot gets the layout its rules say;
    pinning the rules version keeps a later publish off the pinned page."""
    from tests.integration.rules_support import publish

    evening_rule = {
        "name": "Evening gifts",
        "priority": 10,
        "when": {"daypart": "evening", "page": "home"},
        "then": {
            "add": [
                {
                    "id": "gifts",
                    "strategy": "category_top",
                    "title": "Evening gifts",
                    "params": {"category": "party"},
                    "position": 1,
                }
            ]
        },
    }
    first = publish(app, [evening_rule])
    client = app.test_client()
    client.get("/")
    evening = client.get("/", headers={"X-Storefront-Snapshot": token(app, 19)}).get_data(True)
    morning = client.get("/", headers={"X-Storefront-Snapshot": token(app, 8)}).get_data(True)
    assert slots(evening)[0] == "gifts" and "gifts" not in slots(morning)
    pinned = token(app, 19, rules=first.label)
    before = client.get("/", headers={"X-Storefront-Snapshot": pinned}).get_data()
    publish(app, [{**evening_rule, "then": {"remove": ["seasonal"]}}])  # a colleague publishes
    after = client.get("/", headers={"X-Storefront-Snapshot": pinned}).get_data()
    assert before == after
    unpinned = client.get("/", headers={"X-Storefront-Snapshot": token(app, 19)}).get_data(True)
    assert "seasonal" not in slots(unpinned)
