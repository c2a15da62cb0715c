"""End to end, as a merchandiser: shoppers browse, click and buy on a running shop (the
grocery store) where half the visitors are in the non-personalized holdout; the merchandiser
opens the studio's Holdout page, picks a period, reads personalized against holdout with
intervals and sample sizes, and downloads the same figures as CSV."""

from __future__ import annotations

import csv
import io
import re
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import requests
from playwright.sync_api import Page, expect

from tests.e2e.conftest import _server_env, _start, _stop
from tests.e2e.studio_pages import HoldoutPage
from tests.e2e.test_studio import storefront
from tests.helpers import grocery_home

PASSWORD = "holdout report password"


@pytest.fixture(scope="module")
def holdout_shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A shop server of its own on the second test store (the grocery store: its catalog,
    orders and a model), with half its visitors in the holdout (the shared demo server keeps
    nobody in it)."""
    tmp = tmp_path_factory.mktemp("holdout-shop")
    home, runtime = grocery_home(tmp / "home"), tmp / "run"
    runtime.mkdir(mode=0o700)
    env = _server_env(home, runtime)
    env["STOREFRONT_HOLDOUT_SHARE"] = "0.5"
    proc, base = _start(env, tmp / "server.log", home)
    try:
        storefront(
            home, "users", "create", "--role", "viewer", "hana", "--password-stdin",
            stdin=PASSWORD + "\n",
        )  # fmt: skip
        yield base
    finally:
        _stop(proc, home)


def shoppers(base: str) -> dict[str, int]:
    """Visitors until each group has 3: each loads the home page, reads /me (which says when
    they are in the holdout), and sends impressions, a click and, for some, a purchase."""
    counts = {"holdout": 0, "personalized": 0}
    now = datetime.now(UTC)
    for i in range(60):
        if min(counts.values()) >= 3:
            break
        s = requests.Session()
        home = s.get(base + "/", timeout=30).text
        tiles = list(dict.fromkeys(re.findall(r'data-product-id="([^"]+)"', home)))[:4]
        held = 'data-testid="holdout"' in s.get(base + "/me", timeout=30).text
        events = [
            {"id": f"e2e-{secrets.token_hex(6)}", "type": kind, "product_id": pid,
             "slot": "for-you", "page": "home", "ts": now.isoformat()}
            for kind, pid in [("impression", p) for p in tiles] + [("click", tiles[0])]
        ]  # fmt: skip
        if i % 2:
            events.append(
                {"id": f"e2e-{secrets.token_hex(6)}", "type": "purchase",
                 "product_id": tiles[0], "quantity": 2, "ts": now.isoformat()}
            )  # fmt: skip
        r = s.post(base + "/events", json={"events": events}, timeout=30)
        assert r.status_code == 202, r.text
        counts["holdout" if held else "personalized"] += 1
    assert min(counts.values()) >= 3, counts
    return counts


def test_a_merchandiser_reads_the_holdout_report_and_downloads_it(holdout_shop: str, page: Page):
    counts = shoppers(holdout_shop)
    studio = HoldoutPage(page, holdout_shop).sign_in("hana", PASSWORD)
    studio.open()
    studio.choose_days(7)
    for group, n in counts.items():
        assert int(studio.cell(group, "visitors").replace(",", "")) == n
        assert int(studio.cell(group, "impressions").replace(",", "")) == 4 * n
        assert int(studio.cell(group, "clicks").replace(",", "")) == n
        ctr = studio.cell(group, "ctr")
        assert ctr.startswith("25.00%") and f"n={4 * n}" in ctr  # value, interval, sample
    expect(page.get_by_test_id("holdout-differences")).to_contain_text("Revenue per visitor")

    rows = list(csv.DictReader(io.StringIO(studio.download_csv())))
    by = {(r["metric"], r["group"]): r for r in rows}
    for group, n in counts.items():
        assert int(by[("conversion", group)]["n"]) == n
        assert float(by[("ctr", group)]["value"]) == pytest.approx(0.25)
        low, high = float(by[("ctr", group)]["ci_low"]), float(by[("ctr", group)]["ci_high"])
        assert low <= 0.25 <= high
    assert ("revenue_per_visitor", "personalized-holdout") in by

    # a period before any of this: nobody; then bad dates: the field is named
    studio.choose_dates("2011-01-01", "2011-01-31")
    expect(page.get_by_test_id("period")).to_contain_text("2011-01-01 to 2011-01-31")
    assert studio.cell("holdout", "visitors") == "0"
    studio.choose_dates("2011-02-10", "2011-02-01")
    expect(page.locator("body")).to_contain_text("to:")
    today = datetime.now(UTC).date()
    studio.page.goto(holdout_shop + "/admin/holdout")
    studio.choose_dates((today - timedelta(days=1)).isoformat(), today.isoformat())
    assert int(studio.cell("personalized", "visitors").replace(",", "")) == counts["personalized"]
