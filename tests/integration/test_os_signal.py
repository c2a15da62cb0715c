"""The operating system as a signal beyond the shop's pages (issue #18's follow-up): the
studio's personas have one (stated, or plausible for their device), the event log records it
so the impact report can judge rules on it (and says so when the history has none), and the
API's context JSON returns it (and lets a caller with a key state it). On the demo store and
on the grocery store (tests/stores/grocery.py)."""

from __future__ import annotations

import html as html_lib
import uuid
from datetime import UTC, datetime, timedelta

import jsonschema
import pytest
from sqlalchemy import delete, select

from storefront import db
from storefront.admin import users
from storefront.api import keys
from storefront.api.openapi import PAGE
from storefront.rules import store, visits
from storefront.rules.holder import NONE, Published
from storefront.rules.impact import measure
from storefront.rules.personas import Persona, context_for
from storefront.rules.schema import Rule, RuleSet
from tests.helpers import record_visits
from tests.integration.rules_support import (  # noqa: F401 - fixture
    DESKTOP_UA,
    MOBILE_UA,
    catalog_of,
    clean_rules,
)

PASSWORD = "a long enough password"
_IOS_ONLY = {"name": "iPhones", "when": {"os": "ios"}, "then": {"remove": ["trending"]}}


def test_a_persona_has_a_stated_or_plausible_operating_system():
    assert context_for(Persona(device="mobile"), "Europe/London").os == "android"
    assert context_for(Persona(device="tablet"), "Europe/London").os == "ios"
    assert context_for(Persona(device="desktop"), "Europe/London").os == "windows"
    assert context_for(Persona(device="mobile", os="ios"), "Europe/London").os == "ios"
    assert context_for(Persona(os="unknown"), "Europe/London").os == "unknown"
    with pytest.raises(ValueError, match="^os: one of android, ios"):
        context_for(Persona(os="symbian"), "Europe/London")
    # two personas that differ only in their system are two visitors
    assert Persona(os="ios").visitor_id() != Persona(os="android").visitor_id()


def test_the_preview_shows_a_rule_on_the_operating_system(app, clean_rules):  # noqa: F811
    users.create(clean_rules, "osv", PASSWORD, "viewer")
    viewer = app.test_client()
    viewer.post("/admin/login", data={"username": "osv", "password": PASSWORD})
    store.save_rule(clean_rules, "ed", Rule.model_validate(_IOS_ONLY))
    form = viewer.get("/admin/preview").get_data(as_text=True)
    assert 'name="os"' in form and "usual for the device" in form
    iphone = viewer.get("/admin/preview?go=1&page=home&device=mobile&os=ios").get_data(True)
    assert 'data-rule="iPhones" data-matched="yes"' in iphone
    # a phone with no system stated is an Android phone, as most are: the rule does not match
    phone = viewer.get("/admin/preview?go=1&page=home&device=mobile").get_data(True)
    assert 'data-rule="iPhones" data-matched="no"' in phone
    bad = html_lib.unescape(viewer.get("/admin/preview?go=1&os=symbian").get_data(True))
    assert "os: one of android, ios" in bad


@pytest.fixture
def shop(either_store):
    return either_store


def test_events_record_the_operating_system_and_impact_judges_rules_on_it(shop):
    engine = shop.extensions["db"]
    pid = catalog_of(shop).best_sellers(1)[0].id
    now = datetime.now(UTC).isoformat()
    hinted = {"User-Agent": DESKTOP_UA, "Sec-CH-UA-Platform": '"Android"', "Sec-CH-UA-Mobile": "?1"}
    sent = {}
    for name, headers in (("iphone", {"User-Agent": MOBILE_UA}), ("hinted", hinted)):
        client = shop.test_client()
        client.get("/", headers=headers)
        event = {
            "id": f"os-{name}-{uuid.uuid4().hex}",
            "ts": now,
            "type": "view",
            "product_id": pid,
        }
        r = client.post("/events", json={"events": [event]}, headers=headers)
        assert r.status_code == 202, r.get_data(True)
        sent[name] = event["id"]
    with engine.connect() as conn:
        rows = dict(
            conn.execute(
                select(db.events.c.id, db.events.c.os).where(db.events.c.id.in_(sent.values()))
            ).all()
        )
    assert rows == {sent["iphone"]: "ios", sent["hinted"]: "android"}

    # the impact report: half the visits of a day recorded with their system, half before it
    catalog = catalog_of(shop)
    with engine.begin() as conn:  # the other store's run may share this database (PostgreSQL)
        mine = db.events.c.visitor.like("os-visit-%") | db.events.c.visitor.like("os-old-%")
        conn.execute(delete(db.events).where(mine))
    day = datetime(2032, 3, 3, 11, 0)
    record_visits(
        engine,
        f"os-visit-{id(shop)}",
        40,
        day,
        timedelta(minutes=1),
        product_id=pid,
        page="product",
        device="mobile",
        os=lambda i: "ios" if i % 2 else None,
    )
    until = datetime(2032, 3, 4, 9, 0, tzinfo=UTC)
    sample = visits.recent(engine, catalog, "Europe/London", n=200, now=until)
    assert len(sample.visits) == 40 and sample.os_recorded == 20
    assert {v.persona.os for v in sample.visits} == {"ios", "unknown"}  # never guessed
    draft = Published.of("draft", RuleSet(rules=(Rule.model_validate(_IOS_ONLY),)))
    result = measure(sample, catalog, NONE, draft, shop.config["SETTINGS"])
    assert result.rules_draft["iPhones"] == 20
    assert result.os_note() == (
        "Only 20 of the 40 sampled visits have their operating system in the event log (it is "
        "recorded since revision 0006): rules with an operating-system condition can match only "
        "those. (iPhones)"
    )
    # a history without any: it says the rule cannot be judged from it
    record_visits(
        engine,
        f"os-old-{id(shop)}",
        30,
        day + timedelta(days=20),
        timedelta(minutes=1),
        product_id=pid,
        page="product",
        device="mobile",
    )
    old = visits.recent(engine, catalog, "Europe/London", n=200, now=until + timedelta(days=20))
    assert len(old.visits) == 30 and old.os_recorded == 0
    note = measure(old, catalog, NONE, draft, shop.config["SETTINGS"]).os_note()
    assert note.startswith("The event log records no operating system for these visits")
    assert "cannot be judged from this history" in note
    # no rule on the system: nothing to say
    plain = Published.of("d", RuleSet(rules=(Rule.model_validate({**_IOS_ONLY, "when": {}}),)))
    assert measure(old, catalog, NONE, plain, shop.config["SETTINGS"]).os_note() is None


def test_the_api_context_returns_the_operating_system(shop):
    client = shop.test_client()
    r = client.get("/api/v1/pages/home", headers={"User-Agent": MOBILE_UA})
    assert r.status_code == 200
    body = r.get_json()
    jsonschema.validate(body, PAGE)
    assert body["context"]["os"] == "ios"
    headers = {"Authorization": f"Bearer {keys.create(shop.extensions['db'], 'os')}"}
    stated = client.get("/api/v1/pages/home?device=tablet&os=ios", headers=headers).get_json()
    assert (stated["context"]["device"], stated["context"]["os"]) == ("tablet", "ios")
    # a stated device is the visitor's: the caller's own system is not theirs
    mailer = client.get("/api/v1/pages/home?device=mobile", headers=headers).get_json()
    assert mailer["context"]["os"] == "unknown"
    for bad in ("symbian", ""):
        r = client.get(f"/api/v1/pages/home?os={bad}", headers=headers)
        assert r.status_code == 400 and r.get_json()["error"].startswith("os"), bad
    assert client.get("/api/v1/pages/home?os=ios").status_code == 403  # stating needs a key
    served = client.get("/api/v1/openapi.json").get_json()
    params = {p["name"]: p for p in served["paths"]["/api/v1/pages/{page}"]["get"]["parameters"]}
    assert "ios" in params["os"]["schema"]["enum"] and "API key" in params["os"]["description"]
