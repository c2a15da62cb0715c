"""Experiments in the running shop: arms change pages and never share cached fragments; the
holdout sees the non-personalized shop; metrics from a written event log equal hand counts."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import delete, select

from storefront import create_app, db
from storefront.experiments import metrics, store
from storefront.experiments.bucketing import choose
from tests.helpers import signal, slots


def app_with(shop_env, **overrides):
    app = create_app(
        {
            "home": shop_env["home"],
            "database_url": shop_env["database_url"],
            "redis_url": shop_env["redis_url"],
            "testing": True,
            "qa_overrides": True,
            **overrides,
        }
    )
    app.config["WTF_CSRF_ENABLED"] = False
    # see starts and stops at once
    app.extensions["experiments"].holder.versioned.check_seconds = 0.0
    return app


@pytest.fixture
def experiment(shop_env):
    app = app_with(shop_env)
    engine = app.extensions["db"]
    with engine.begin() as conn:
        conn.execute(delete(db.experiments))
    spec = store.ExperimentSpec(
        id="home-for-you",
        name="For you vs trending",
        kind="strategy",
        page="home",
        slot="for-you",
        metric="ctr",
        arms=[
            {"name": "control", "share": 0.5, "value": "for_you"},
            {"name": "trending", "share": 0.5, "value": "trending_near_you"},
        ],
    )
    exp = store.start(engine, store.create(engine, spec).id)
    yield app, exp
    with engine.begin() as conn:
        conn.execute(delete(db.experiments))


def visitor_in(app, exp, arm: str):
    from storefront.visitor import read_visitor_id

    for _ in range(200):
        c = app.test_client()
        html = c.get("/?qa_country=GB").get_data(as_text=True)
        with app.app_context():
            vid = read_visitor_id(c.get_cookie("sid").value)
        if choose(exp.salt, vid, [(n, s) for n, s, _ in exp.arms]) == arm:
            return c, vid, html
    raise AssertionError("no visitor landed in " + arm)


def strategy_of(html: str, slot: str) -> str:
    return re.search(rf'data-slot="{slot}" data-strategy="([^"]+)"', html).group(1)


def test_arms_change_the_page_and_never_share_fragments(experiment, shop_env):
    app, exp = experiment
    a, _, html_a = visitor_in(app, exp, "control")
    b, _, html_b = visitor_in(app, exp, "trending")
    assert strategy_of(html_a, "for-you") == "for_you"
    assert strategy_of(html_b, "for-you") == "trending_near_you"
    r = app.extensions["redis"]
    trending = {k for k in r.scan_iter("sf:frag:trending:*") if ":cGB:" in k or ":c:GB:" in k}
    digests = {re.search(r":e:([0-9a-f]+):", k).group(1) for k in trending if ":e:" in k}
    assert len(digests) >= 2  # the same shared slot, cached apart per arm
    # the same visitor stays in the same arm
    assert strategy_of(b.get("/?qa_country=GB").get_data(as_text=True), "for-you") == (
        "trending_near_you"
    )
    store.stop(app.extensions["db"], exp.id)
    assert strategy_of(b.get("/?qa_country=GB").get_data(as_text=True), "for-you") == "for_you"


def test_the_holdout_gets_the_non_personalized_shop(shop_env):
    app = app_with(shop_env, holdout_share=1.0)
    c = app.test_client()
    c.get("/?qa_country=DE")
    pid = next(iter(app.extensions["models"].get().catalog.products))
    c.post(
        "/events",
        json={
            "events": [
                {"id": "holdout-view-0001", "type": "view", "product_id": pid, "ts": 1733400000000}
            ]
        },
    )
    html = c.get("/?qa_country=DE").get_data(as_text=True)
    assert "because-you-viewed" not in slots(html)
    assert "standard, non-personalized shop" in signal(html, "consent")
    assert "Germany" not in signal(html, "location")


def test_metrics_from_an_event_log_match_hand_counts(experiment):
    app, exp = experiment
    engine = app.extensions["db"]
    shares = [(n, s) for n, s, _ in exp.arms]
    visitors = {"control": [], "trending": []}
    i = 0
    while min(len(v) for v in visitors.values()) < 2:
        vid = f"metrics-visitor-{i:04d}"
        visitors[choose(exp.salt, vid, shares)].append(vid)
        i += 1
    c1, c2 = visitors["control"][:2]
    t1, t2 = visitors["trending"][:2]
    with engine.connect() as conn:
        (p1, price1), (p2, price2) = conn.execute(
            select(db.products.c.id, db.products.c.price).limit(2)
        ).all()
    t0 = exp.started + timedelta(minutes=1)
    log = [  # (visitor, type, product, slot, minutes after t0, quantity)
        (c1, "impression", p1, "for-you", 0, None),
        (c1, "impression", p2, "for-you", 0, None),
        (c1, "click", p1, "for-you", 1, None),
        (c1, "purchase", p1, None, 30, 2),
        (c2, "impression", p1, "for-you", 0, None),
        (c2, "impression", p2, "trending", 0, None),
        (t1, "impression", p1, "for-you", 0, None),
        (t1, "click", p2, "for-you", 2, None),
        (t1, "add_to_cart", p2, None, 3, 1),
        (t1, "purchase", p2, None, 60 * 30, 1),
        (t2, "impression", p2, "for-you", 0, None),
        (t2, "impression", p1, "for-you", 0, None),
        (t2, "click", p1, "for-you", 1, None),
        (t2, "click", p2, "for-you", 1, None),
    ]
    now = datetime.utcnow()
    with engine.begin() as conn:
        conn.execute(
            db.events.insert(),
            [
                {
                    "id": f"m-{n}",
                    "visitor": v,
                    "type": t,
                    "product_id": p,
                    "slot": s,
                    "page": "home" if s else "product",
                    "ts": t0 + timedelta(minutes=m),
                    "received": now,
                    "quantity": q,
                }
                for n, (v, t, p, s, m, q) in enumerate(log)
            ],
        )
    prices = {p1: float(price1), p2: float(price2)}
    res = metrics.measure(engine, store.get(engine, exp.id), prices, holdout_share=0.0)
    ctrl, trend = res["control"], res["trending"]
    assert {c1, c2} <= ctrl.visitors and {t1, t2} <= trend.visitors
    assert (ctrl.impressions, ctrl.clicks) == (3, 1)  # c2's trending impression is out of scope
    assert (trend.impressions, trend.clicks) == (3, 3)
    assert ctrl.revenue[c1] == pytest.approx(2 * prices[p1])
    assert ctrl.attributed["for-you"] == pytest.approx(2 * prices[p1])  # click 29 min before
    assert trend.attributed["direct"] == pytest.approx(prices[p2])  # click 30 h before: too old
    assert len(trend.carters) == 1 and len(trend.purchasers) == 1
    assert dict(ctrl.by_page) == {"home": [3, 1, 0]}
    assert dict(trend.by_page) == {"home": [3, 3, 0], "product": [0, 0, 1]}
    comparison = metrics.compare(exp, res)[0]
    assert comparison.control == pytest.approx(1 / 3) and comparison.treatment == pytest.approx(1)
    with engine.begin() as conn:
        conn.execute(delete(db.events).where(db.events.c.id.like("m-%")))


def test_cli_report_and_csv(experiment, shop_env):
    from tests.conftest import run_cli

    app, exp = experiment
    env = {
        "STOREFRONT_DATABASE_URL": shop_env["database_url"],
        "STOREFRONT_REDIS_URL": shop_env["redis_url"],
    }
    text = run_cli(shop_env["home"], "experiments", "report", exp.id, env=env)
    assert "primary metric ctr" in text and "keep running" in text
    csv = run_cli(shop_env["home"], "experiments", "report", exp.id, "--csv", env=env)
    assert csv.splitlines()[0].startswith("arm,visitors,impressions,clicks,ctr")
    listed = run_cli(shop_env["home"], "experiments", "list", env=env)
    assert "home-for-you  running" in listed


def test_a_snapshot_pins_experiment_arms(experiment):
    from datetime import UTC

    from storefront.qa_snapshot import Pin, make_token

    app, exp = experiment
    secret = app.config["SECRET_KEY"]
    clock = datetime(2011, 12, 5, 10, 0, tzinfo=UTC)
    pinned = make_token(secret, Pin(clock, arms=(("home-for-you", "trending"),)))
    none = make_token(secret, Pin(clock))
    for _ in range(5):  # whoever the visitor, the pinned arm applies
        c = app.test_client()
        assert (
            strategy_of(
                c.get("/", headers={"X-Storefront-Snapshot": pinned}).get_data(True), "for-you"
            )
            == "trending_near_you"
        )
        assert (
            strategy_of(
                c.get("/", headers={"X-Storefront-Snapshot": none}).get_data(True), "for-you"
            )
            == "for_you"
        )


def test_the_json_api_serves_the_same_arm(experiment):
    app, exp = experiment
    b, _, _ = visitor_in(app, exp, "trending")
    data = b.get("/api/v1/pages/home?qa_country=GB").get_json()
    strategies = {s["slot"]: s["strategy"] for s in data["slots"]}
    assert strategies["for-you"] == "trending_near_you"


PHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
)
DESKTOP = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0 Safari/537.36"
)


def test_a_targeted_experiment_applies_and_counts_only_where_its_conditions_hold(shop_env):
    from storefront.visitor import read_visitor_id

    app = app_with(shop_env)
    engine = app.extensions["db"]
    with engine.begin() as conn:
        conn.execute(delete(db.experiments))
        conn.execute(delete(db.experiment_exposures))
    spec = store.ExperimentSpec(
        id="phones-only",
        name="Trending for phones",
        kind="strategy",
        page="home",
        slot="for-you",
        metric="ctr",
        conditions={"device": "mobile"},
        # every visitor in the treatment arm: only the targeting decides who sees it
        arms=[
            {"name": "control", "share": 0.000001, "value": "for_you"},
            {"name": "trending", "share": 0.999999, "value": "trending_near_you"},
        ],
    )
    exp = store.start(engine, store.create(engine, spec).id)
    try:
        phone, desk = app.test_client(), app.test_client()
        on_phone = phone.get("/?qa_country=GB", headers={"User-Agent": PHONE}).get_data(True)
        on_desk = desk.get("/?qa_country=GB", headers={"User-Agent": DESKTOP}).get_data(True)
        assert strategy_of(on_phone, "for-you") == "trending_near_you"
        assert strategy_of(on_desk, "for-you") == "for_you"  # not targeted: no arm applied
        with app.app_context():
            phone_id = read_visitor_id(phone.get_cookie("sid").value)
            desk_id = read_visitor_id(desk.get_cookie("sid").value)
        phone.get("/?qa_country=GB", headers={"User-Agent": PHONE})  # noted once, not twice

        def noted():
            with engine.connect() as conn:
                return conn.execute(
                    select(db.experiment_exposures.c.visitor, db.experiment_exposures.c.arm).where(
                        db.experiment_exposures.c.experiment_id == exp.id
                    )
                ).all()

        assert noted() == []  # a page view (GET) writes nothing to SQL
        pid = next(iter(app.extensions["models"].get().catalog.products))
        for n, c in enumerate((phone, desk, phone)):  # the pages' impressions (POST /events)
            seen = {"id": f"tgt-seen-{n}", "type": "impression", "product_id": pid}
            seen |= {"slot": "for-you", "page": "home", "ts": 1733400000000}
            assert c.post("/events", json={"events": [seen]}).status_code == 202
        assert [tuple(r) for r in noted()] == [(phone_id, "trending")]
        # both saw the slot; only the targeted visitor is in the results
        t0 = exp.started + timedelta(seconds=1)
        with engine.begin() as conn:
            conn.execute(
                db.events.insert(),
                [
                    {
                        "id": f"tgt-{n}",
                        "visitor": v,
                        "type": "impression",
                        "product_id": pid,
                        "slot": "for-you",
                        "ts": t0,
                        "received": t0,
                    }
                    for n, v in enumerate((phone_id, desk_id))
                ],
            )
        res = metrics.measure(engine, store.get(engine, exp.id), {}, holdout_share=0.0)
        assert res["trending"].visitors == {phone_id}
        assert res["trending"].impressions == 1
        # cookie-less requests (bots, health checks, a first page) leave nothing lasting: a
        # visitor is noted once they come back with the cookie
        for _ in range(10):
            app.test_client().get("/?qa_country=GB", headers={"User-Agent": PHONE})
        with engine.connect() as conn:
            count = conn.execute(
                select(db.experiment_exposures.c.visitor).where(
                    db.experiment_exposures.c.experiment_id == exp.id
                )
            ).all()
        assert len(count) == 1
    finally:
        with engine.begin() as conn:
            conn.execute(delete(db.events).where(db.events.c.id.like("tgt-%")))
            conn.execute(delete(db.experiments))
            conn.execute(delete(db.experiment_exposures))


def test_targeting_is_checked_like_a_rule_condition(shop_env):
    base = {
        "id": "bad-target",
        "name": "x",
        "kind": "strategy",
        "page": "home",
        "slot": "for-you",
        "metric": "ctr",
        "arms": [
            {"name": "a", "share": 0.5, "value": "for_you"},
            {"name": "b", "share": 0.5, "value": "trending_near_you"},
        ],
    }
    with pytest.raises(ValueError, match="(?s)conditions.*device"):
        store.ExperimentSpec(**base, conditions={"device": "fridge"})
    with pytest.raises(ValueError, match="(?s)conditions.*colour"):
        store.ExperimentSpec(**base, conditions={"colour": "red"})
    ok = store.ExperimentSpec(**base, conditions={"device": ["mobile"], "country": "gb"})
    assert ok.conditions == {"device": ["mobile"], "country": ["GB"]}


def test_a_page_computes_its_rule_facts_once_for_rules_and_targeting(shop_env, monkeypatch):
    """The published rules and a targeted experiment's conditions read the same facts: one
    computation per request (issue #17: "rule facts computed twice per request")."""
    from storefront.core import plan as core_plan
    from storefront.rules import matching
    from tests.integration.rules_support import publish, wipe

    app = app_with(shop_env)
    engine = app.extensions["db"]
    with engine.begin() as conn:
        conn.execute(delete(db.experiments))
    spec = store.ExperimentSpec(
        id="phones-facts",
        name="Trending for phones",
        kind="strategy",
        page="home",
        slot="for-you",
        metric="ctr",
        conditions={"device": "mobile"},
        arms=[
            {"name": "control", "share": 0.5, "value": "for_you"},
            {"name": "trending", "share": 0.5, "value": "trending_near_you"},
        ],
    )
    store.start(engine, store.create(engine, spec).id)
    wipe(engine)
    publish(
        app,
        [
            {
                "name": "Home order",
                "when": {"page": "home"},
                "then": {"layout": ["trending", "for-you"]},
            }
        ],
    )
    calls = []
    real = matching.facts_for

    def counting(*args, **kwargs):
        calls.append(args[1])
        return real(*args, **kwargs)

    monkeypatch.setattr(matching, "facts_for", counting)
    monkeypatch.setattr(core_plan, "facts_for", counting)
    try:
        html = (
            app.test_client().get("/?qa_country=GB", headers={"User-Agent": PHONE}).get_data(True)
        )
        assert slots(html)[:2] == ["trending", "for-you"]  # the rule held
        assert calls == ["home"]  # targeting and rules: one computation
    finally:
        wipe(engine)
        app.extensions["rules"].reload()
        with engine.begin() as conn:
            conn.execute(delete(db.experiments))
