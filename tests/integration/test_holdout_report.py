"""The holdout report: visitors of the personalized shop and of the permanent holdout browse,
click and buy through the real endpoints (GET pages, POST /events); their groups are recorded
at their first events; the studio page, its CSV and `storefront holdout report --json` show
the numbers a hand computation gives, on the demo store and the grocery store."""

from __future__ import annotations

import csv
import io
import itertools
import json
import math
import os
import re
import secrets
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from scipy import stats
from sqlalchemy import delete, func, select

from storefront import db
from storefront.admin import users
from storefront.experiments.bucketing import in_holdout
from storefront.experiments.exposures import HOLDOUT_ID
from storefront.visitor import read_visitor_id
from tests.conftest import run_cli
from tests.helpers import grocery_database_url, shop_app

SHARE = 0.5
PASSWORD = "a long enough password"
_ids = itertools.count()


@pytest.fixture(params=["demo", "grocery"])
def shop(request, shop_env, embedded_redis_url):
    """The shop with half its visitors in the holdout, on each store; no holdout group
    recorded before the test (other tests' visitors are enrolled too)."""
    if request.param == "demo":
        home, url, redis_url = shop_env["home"], shop_env["database_url"], shop_env["redis_url"]
    else:
        home = request.getfixturevalue("grocery_shop")
        url, redis_url = grocery_database_url(home), embedded_redis_url
    for app in shop_app(home, url, redis_url, holdout_share=SHARE):
        with app.extensions["db"].begin() as conn:
            conn.execute(
                delete(db.experiment_exposures).where(
                    db.experiment_exposures.c.experiment_id == HOLDOUT_ID
                )
            )
        app.config["home"] = home
        app.config["env"] = {
            "STOREFRONT_DATABASE_URL": url,
            "STOREFRONT_REDIS_URL": redis_url,
            "STOREFRONT_HOLDOUT_SHARE": str(SHARE),
        }
        yield app


def new_visitor(app):
    client = app.test_client()
    html = client.get("/").get_data(as_text=True)
    with app.app_context():
        vid = read_visitor_id(client.get_cookie("sid").value)
    tiles = list(dict.fromkeys(re.findall(r'data-product-id="([^"]+)"', html)))
    return client, vid, tiles


def post(client, events: list[dict]):
    r = client.post("/events", json={"events": events})
    assert r.status_code == 202, r.get_data(as_text=True)


def event(kind: str, pid: str, when: datetime, **extra) -> dict:
    return {
        "id": f"h{next(_ids):07d}-{secrets.token_hex(3)}",
        "type": kind,
        "product_id": pid,
        "slot": "for-you" if kind in ("impression", "click") else None,
        "page": "home",
        "ts": when.isoformat(),
        **extra,
    }


def browse(app, day: datetime):
    """Visitors until each group has 6, each with a pattern of impressions, clicks and
    purchases on `day`, and one event outside it; returns group -> visitor -> [impressions,
    clicks, purchases, revenue] as posted (hand counts)."""
    with app.extensions["db"].connect() as conn:
        price = dict(conn.execute(select(db.products.c.id, db.products.c.price)).all())
    posted: dict[str, dict] = {"holdout": {}, "personalized": {}}
    for i in range(80):
        if min(len(v) for v in posted.values()) >= 6:
            break
        client, vid, tiles = new_visitor(app)
        group = "holdout" if in_holdout(vid, SHARE) else "personalized"
        if len(posted[group]) >= 6:
            continue
        shown = tiles[: 3 + i % 5]
        clicked = shown[: (i * 7) % 4]
        bought = (
            [(shown[0], 1 + i % 3)] if i % 3 == 0 or (group == "personalized" and i % 2) else []
        )
        at = day + timedelta(hours=1 + len(posted[group]), minutes=i)
        batch = [event("impression", pid, at) for pid in shown]
        batch += [event("click", pid, at + timedelta(seconds=5)) for pid in clicked]
        batch += [event("purchase", p, at + timedelta(minutes=2), quantity=q) for p, q in bought]
        post(client, batch)
        # the day before the period: counted for nobody in it
        post(client, [event("click", shown[0], day - timedelta(hours=2))])
        revenue = sum(float(price[p]) * q for p, q in bought)
        posted[group][vid] = [len(shown), len(clicked), len(bought), revenue]
    assert min(len(v) for v in posted.values()) >= 6, {k: len(v) for k, v in posted.items()}
    return posted


def expected(rows: dict[str, list]) -> dict:
    """The figures and intervals, computed here from the posted events with numpy/scipy."""
    imp, clk, buys, rev = (np.array([r[k] for r in rows.values()], dtype=float) for k in range(4))
    n = len(rows)
    z = stats.norm.ppf(0.975)
    ctr = clk.sum() / imp.sum()
    se = np.std(clk - ctr * imp, ddof=1) / math.sqrt(n) / imp.mean()
    p = (buys > 0).mean()
    wilson_centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    wilson_half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    t_half = stats.t.ppf(0.975, n - 1) * np.std(rev, ddof=1) / math.sqrt(n)
    return {
        "visitors": n,
        "impressions": int(imp.sum()),
        "clicks": int(clk.sum()),
        "purchasers": int((buys > 0).sum()),
        "revenue": float(rev.sum()),
        "ctr": (ctr, max(0.0, ctr - z * se), min(1.0, ctr + z * se), int(imp.sum())),
        "conversion": (
            p,
            max(0.0, wilson_centre - wilson_half),
            min(1.0, wilson_centre + wilson_half),
            n,
        ),
        "revenue_per_visitor": (rev.mean(), rev.mean() - t_half, rev.mean() + t_half, n),
        "rev": rev,
    }


def check(group: dict, want: dict) -> None:
    for k in ("visitors", "impressions", "clicks", "purchasers"):
        assert group[k] == want[k], (k, group, want)
    assert group["revenue"] == pytest.approx(want["revenue"], abs=1e-4)
    for metric in ("ctr", "conversion", "revenue_per_visitor"):
        got = group[metric]
        value, low, high, n = want[metric]
        assert got["n"] == n, metric
        assert got["value"] == pytest.approx(value, abs=1e-5), metric
        assert got["low"] == pytest.approx(low, abs=1e-5), metric
        assert got["high"] == pytest.approx(high, abs=1e-5), metric


def studio_client(app):
    name = f"holdout-{secrets.token_hex(4)}"
    users.create(app.extensions["db"], name, PASSWORD, "viewer")
    client = app.test_client()
    r = client.post("/admin/login", data={"username": name, "password": PASSWORD})
    assert r.status_code == 303
    return client


def test_the_report_shows_the_hand_computed_figures(shop):
    day = (datetime.now(UTC) - timedelta(days=2)).replace(hour=0, minute=0, second=0, microsecond=0)
    posted = browse(shop, day)
    want = {g: expected(rows) for g, rows in posted.items()}

    # every visitor's group is recorded once, as the pages served it
    with shop.extensions["db"].connect() as conn:
        recorded = dict(
            conn.execute(
                select(db.experiment_exposures.c.visitor, db.experiment_exposures.c.arm).where(
                    db.experiment_exposures.c.experiment_id == HOLDOUT_ID
                )
            ).all()
        )
    assert recorded == {v: g for g, rows in posted.items() for v in rows}

    # the CLI, over exactly that day
    out = run_cli(
        shop.config["home"],
        "holdout", "report", "--from", day.date().isoformat(), "--to", day.date().isoformat(),
        "--json",
        env=shop.config["env"],
    )  # fmt: skip
    report = json.loads(out)
    assert report["period"] == {
        "from": day.date().isoformat(),
        "to": day.date().isoformat(),
        "days": None,
    }
    groups = {g["group"]: g for g in report["groups"]}
    for name in ("personalized", "holdout"):
        check(groups[name], want[name])
    diffs = {d["metric"]: d for d in report["differences"]}
    p, h = want["personalized"], want["holdout"]
    assert diffs["conversion"]["difference"] == pytest.approx(
        p["conversion"][0] - h["conversion"][0], abs=1e-5
    )
    welch = stats.ttest_ind(p["rev"], h["rev"], equal_var=False)
    assert diffs["revenue_per_visitor"]["p_value"] == pytest.approx(float(welch.pvalue), abs=1e-5)
    assert diffs["revenue_per_visitor"]["difference"] == pytest.approx(
        p["revenue_per_visitor"][0] - h["revenue_per_visitor"][0], abs=1e-4
    )

    # the studio: the page shows the same counts; the CSV carries the same figures
    studio = studio_client(shop)
    query = {"from": day.date().isoformat(), "to": day.date().isoformat()}
    page = studio.get("/admin/holdout", query_string=query)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for name in ("personalized", "holdout"):
        row = re.search(rf'<tr data-group="{name}">(.*?)</tr>', html, re.S).group(1)
        for col in ("visitors", "impressions", "clicks", "purchasers"):
            cell = re.search(rf'data-col="{col}">([\d,]+)<', row).group(1)
            assert int(cell.replace(",", "")) == want[name][col], (name, col)
        conversion = re.search(r'data-col="conversion" data-value="([^"]+)"', row).group(1)
        assert float(conversion) == pytest.approx(want[name]["conversion"][0])
    body = studio.get("/admin/holdout.csv", query_string=query)
    assert body.status_code == 200 and body.mimetype == "text/csv"
    assert "attachment" in body.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(body.get_data(as_text=True))))
    by = {(r["metric"], r["group"]): r for r in rows}
    for name in ("personalized", "holdout"):
        for metric in ("ctr", "conversion", "revenue_per_visitor"):
            r = by[(metric, name)]
            value, low, high, n = want[name][metric]
            assert (float(r["value"]), float(r["ci_low"]), float(r["ci_high"])) == pytest.approx(
                (value, low, high), abs=1e-5
            )
            assert int(r["n"]) == n
    assert ("ctr", "personalized-holdout") in by

    # the last 7 days hold the day before too: one more click per visitor
    week = json.loads(
        run_cli(
            shop.config["home"],
            "holdout",
            "report",
            "--days",
            "7",
            "--json",
            env=shop.config["env"],
        )
    )
    clicks = {g["group"]: g["clicks"] for g in week["groups"]}
    for name in ("personalized", "holdout"):
        assert clicks[name] >= want[name]["clicks"] + len(posted[name])


def test_a_bad_period_is_a_400_naming_the_field(shop):
    studio = studio_client(shop)
    for query, field in (
        ({"days": "x"}, "days"),
        ({"days": "0"}, "days"),
        ({"days": "99999"}, "days"),
        ({"from": "2026-13-01"}, "from"),
        ({"from": "2026-02-10", "to": "2026-02-01"}, "to"),
        ({"to": "yesterday"}, "to"),
        ({"days": "7", "from": "2026-02-01"}, "days"),
    ):
        for path in ("/admin/holdout", "/admin/holdout.csv"):
            r = studio.get(path, query_string=query)
            assert r.status_code == 400, (path, query)
            assert f"{field}:" in r.get_data(as_text=True), (path, query)
    assert studio.get("/admin/holdout?days=90").status_code == 200
    assert shop.test_client().get("/admin/holdout").status_code == 302  # signed in only
    # the command: a usage error naming the option, no traceback
    env = {**os.environ, "STOREFRONT_HOME": str(shop.config["home"]), **shop.config["env"]}
    for args, option in ((["--days", "x"], "--days"), (["--from", "2026-02-30"], "--from")):
        done = subprocess.run(
            [sys.executable, "-m", "storefront.cli", "holdout", "report", *args],
            env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 2 and option in done.stderr and "Traceback" not in done.stderr


def test_visitors_without_a_cookie_leave_no_record(shop):
    def recorded() -> int:
        with shop.extensions["db"].connect() as conn:
            return conn.execute(
                select(func.count()).select_from(db.experiment_exposures)
            ).scalar_one()

    before = recorded()
    client = shop.test_client(use_cookies=False)
    pid = next(iter(shop.extensions["models"].get().catalog.products))
    for _ in range(5):
        assert client.get("/").status_code == 200
        r = client.post("/events", json={"events": [event("click", pid, datetime.now(UTC))]})
        assert r.status_code == 400 and "sid" in r.get_data(as_text=True)
    assert recorded() == before
    # a page view alone writes no group either (a GET writes nothing to SQL)
    c, vid, _ = new_visitor(shop)
    c.get("/")
    assert recorded() == before
    post(c, [event("click", pid, datetime.now(UTC))])
    assert recorded() == before + 1
