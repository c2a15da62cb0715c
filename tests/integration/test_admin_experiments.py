"""Experiments in the studio: publishers create (with targeting), start and stop them; viewers
read results, charts and the CSV; problems name the field and save nothing. Real database."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import delete

from storefront import db
from storefront.experiments import store
from tests.integration.rules_support import clean_rules  # noqa: F401 - fixture
from tests.integration.test_admin_studio import signed_in, studio  # noqa: F401 - fixture

FORM = {
    "name": "Trending for phones",
    "kind": "strategy",
    "page": "home",
    "slot": "for-you",
    "metric": "ctr",
    "arms-0-name": "control",
    "arms-0-share": "50",
    "arms-0-value": "for_you",
    "arms-1-name": "trending",
    "arms-1-share": "50",
    "arms-1-value": "trending_near_you",
    "device": "mobile",
    "conditions": "not: {country: [FR]}",
}


@pytest.fixture
def clean(studio):  # noqa: F811 - the fixture above
    engine = studio.extensions["db"]
    studio.extensions["experiments"].holder.versioned.check_seconds = 0.0

    def wipe():
        with engine.begin() as conn:
            conn.execute(delete(db.experiments))
            conn.execute(delete(db.experiment_exposures))
            conn.execute(delete(db.events).where(db.events.c.id.like("sx-%")))

    wipe()
    yield studio
    wipe()


def test_a_publisher_creates_starts_reads_and_stops_an_experiment(clean):
    engine = clean.extensions["db"]
    pia = signed_in(clean, "pia")
    assert pia.get("/admin/experiments/new").status_code == 200
    r = pia.post("/admin/experiments/new", data=FORM)
    assert r.status_code == 303, r.get_data(True)
    assert r.headers["Location"].endswith("/admin/experiments/trending-for-phones")
    exp = store.get(engine, "trending-for-phones")
    assert exp.status == "draft"
    assert exp.conditions == {"all": [{"device": ["mobile"]}, {"not": {"country": ["FR"]}}]}
    assert [(n, s, v) for n, s, v in exp.arms] == [
        ("control", 0.5, "for_you"),
        ("trending", 0.5, "trending_near_you"),
    ]
    page = pia.get("/admin/experiments/trending-for-phones").get_data(True)
    assert "device mobile" in page and "A draft" in page
    # the slot by its title on the experiment's page, its id as secondary text
    named = '“Recommended for you” <small class="meta">for-you</small>'
    assert f"strategy on the home page, slot {named}</dd>" in page
    listing = pia.get("/admin/experiments").get_data(True)
    assert f"<td>strategy · home / {named}</td>" in listing
    assert pia.post("/admin/experiments/trending-for-phones/start").status_code == 303
    exp = store.get(engine, exp.id)
    assert exp.status == "running"
    # a small event log: two visitors, one per arm, both let in by the targeting
    from storefront.experiments.bucketing import choose

    shares = [(n, s) for n, s, _ in exp.arms]
    vids: dict[str, str] = {}
    i = 0
    while len(vids) < 2:
        vids.setdefault(choose(exp.salt, f"sx-visitor-{i}", shares), f"sx-visitor-{i}")
        i += 1
    pid = next(iter(clean.extensions["models"].get().catalog.products))
    t0 = exp.started + timedelta(seconds=1)
    rows = []
    for arm, vid in vids.items():
        clean.extensions["exposures"].note(exp.id, vid, arm)  # the page: pending in Redis
        clean.extensions["exposures"].flush(vid)  # the visitor's events: into SQL
        rows += [
            {
                "id": f"sx-{vid}-i{k}",
                "visitor": vid,
                "type": "impression",
                "product_id": pid,
                "slot": "for-you",
                "ts": t0,
                "received": t0,
            }
            for k in range(4)
        ]
    rows.append(
        {
            "id": "sx-click",
            "visitor": vids["trending"],
            "type": "click",
            "product_id": pid,
            "slot": "for-you",
            "ts": t0 + timedelta(seconds=5),
            "received": t0,
        }
    )
    with engine.begin() as conn:
        conn.execute(db.events.insert(), rows)
    vera = signed_in(clean, "vera")
    page = vera.get("/admin/experiments/trending-for-phones").get_data(True)
    assert re.search(
        r'data-arm="trending"><th scope="row">trending</th>'
        r"<td>1</td><td>4</td><td>1</td><td>25.00%",
        page,
    )
    assert "keep running" in page  # 1 visitor per arm is far from the horizon
    # the per-slot tables name the slot by its title too ("direct" stays as it is)
    assert f"<tr><td>trending</td><td>{named}</td><td>4</td><td>1</td>" in page
    assert "<td>for-you</td>" not in page
    assert "<polyline" in page and "Click-through so far" in page
    assert "Stop</button>" not in page  # viewers read, they do not stop
    got = vera.get("/admin/experiments/trending-for-phones/results.csv")
    assert got.headers["Content-Type"].startswith("text/csv")
    table = {r["arm"]: r for r in csv.DictReader(io.StringIO(got.get_data(True)))}
    assert table["trending"]["ctr"] == "0.25" and table["control"]["clicks"] == "0"
    assert pia.post("/admin/experiments/trending-for-phones/stop").status_code == 303
    assert store.get(engine, exp.id).status == "stopped"
    audit = vera.get("/admin/audit").get_data(True)
    for action in ("experiment-create", "experiment-start", "experiment-stop"):
        assert action in audit


def _slot_select(page: str) -> str:
    return re.search(r'<select id="slot" name="slot".*?</select>', page, re.S).group(0)


def test_the_slot_is_picked_by_its_title_grouped_by_page(clean):
    """As a publisher: the experiment's slot is chosen by its title, grouped by page type, the
    experiment's page first (none of the rules' "added" groups: an experiment tests a page's
    own slot); the experiment stores the slot's id; the form comes back with it still picked."""
    pia = signed_in(clean, "pia")
    slot = _slot_select(pia.get("/admin/experiments/new").get_data(True))
    assert 'aria-label="Slot (strategy experiments)"' in slot
    groups = re.findall(r'<optgroup label="([^"]*)"', slot)
    assert groups == [
        "Home page",
        "Category pages",
        "Product pages",
        "Search results",
        "Basket",
    ]
    assert '<option value="for-you">Recommended for you</option>' in slot
    assert '<option value="similar">You may also like</option>' in slot
    assert ">for-you<" not in slot and ">trending<" not in slot  # no bare ids
    # a problem elsewhere: the form comes back, the search page's group first, its slot picked
    again = {**FORM, "page": "search", "arms-1-share": "40"}
    r = pia.post("/admin/experiments/new", data=again)
    assert r.status_code == 400
    slot = _slot_select(r.get_data(True))
    first = re.search(r"<optgroup (.*?)</optgroup>", slot, re.S).group(1)
    assert first.startswith('label="Search results" data-page="search"')
    assert '<option value="for-you" selected>You may also like</option>' in first
    assert slot.count(" selected>") == 1
    r = pia.post("/admin/experiments/new", data={**FORM, "page": "search"})
    assert r.status_code == 303, r.get_data(True)
    assert store.get(clean.extensions["db"], "trending-for-phones").slot == "for-you"


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"arms-1-share": "40"}, "shares must add up to 1"),
        ({"slot": "nonexistent"}, "slot: one of"),
        ({"arms-1-value": "no_such_strategy"}, "unknown strategy"),
        ({"conditions": "device: toaster"}, "conditions"),
        ({"conditions": "device: [mobile"}, "conditions: not YAML"),
        ({"kind": "model", "arms-0-value": "v1", "arms-1-value": "v2"}, "no model version"),
        ({"kind": "rules", "arms-0-value": "v1", "arms-1-value": "v2"}, "no rules version"),
    ],
)
def test_form_problems_name_the_field_and_save_nothing(clean, change, problem):
    pia = signed_in(clean, "pia")
    r = pia.post("/admin/experiments/new", data={**FORM, **change})
    assert r.status_code == 400
    assert problem in r.get_data(True)
    assert store.list_all(clean.extensions["db"]) == []


def test_roles_and_csrf_guard_experiments(clean):
    pia = signed_in(clean, "pia")
    pia.post("/admin/experiments/new", data=FORM)
    for name in ("vera", "ed"):
        other = signed_in(clean, name)
        assert other.get("/admin/experiments").status_code == 200
        assert other.get("/admin/experiments/new").status_code == 403
        assert other.post("/admin/experiments/new", data=FORM).status_code == 403
        assert other.post("/admin/experiments/trending-for-phones/start").status_code == 403
    assert store.get(clean.extensions["db"], "trending-for-phones").status == "draft"
    clean.config["WTF_CSRF_ENABLED"] = True
    try:
        assert pia.post("/admin/experiments/trending-for-phones/start").status_code == 400
        assert pia.post("/admin/experiments/new", data=FORM).status_code == 400
    finally:
        clean.config["WTF_CSRF_ENABLED"] = False
    assert store.get(clean.extensions["db"], "trending-for-phones").status == "draft"
    assert pia.get("/admin/experiments/nope").status_code == 404
    assert pia.get("/admin/experiments/trending-for-phones/results.csv").status_code == 409


def test_the_exposure_page_shows_the_pressure_curve(clean):
    vera = signed_in(clean, "vera")
    page = vera.get("/admin/exposure").get_data(True)
    assert "Impressions per visitor" in page and 'data-testid="exposure-curve"' in page
