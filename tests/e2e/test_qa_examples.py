"""The examples of docs/qa.md, run for real so the guide stays true."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.pages import IPHONE, HomePage, is_view_event

pytestmark = pytest.mark.e2e


def test_a_german_phone_shopper_in_the_evening(shop_server, new_page):
    page = new_page(**IPHONE)
    home = HomePage(page, shop_server).goto(country="DE", time="2011-12-05T19:30")
    assert home.is_compact()
    assert home.signal("daypart") == "evening"
    assert "Germany" in home.slot_title("trending")

    product_id = home.product_ids_in("trending")[0]
    with page.expect_response(is_view_event(product_id)):
        home.open_product("trending", product_id)
    home = HomePage(page, shop_server).goto(country="DE", time="2011-12-05T19:30")
    assert "because-you-viewed" in home.slot_ids()
    first = home.product_ids_in("because-you-viewed")[0]
    assert home.reason_for("because-you-viewed", first).startswith("Because you viewed")


def test_a_snapshot_holds_the_page_still(shop_server, shop_home, page):
    token = subprocess.run(
        [
            sys.executable,
            "-m",
            "storefront.cli",
            "snapshot",
            "token",
            "--clock",
            "2011-12-05T19:30:00+00:00",
        ],
        env={"STOREFRONT_HOME": str(shop_home), "PATH": "/usr/bin:/bin"},
        cwd=Path(__file__).resolve().parent.parent.parent,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    page.set_extra_http_headers({"X-Storefront-Snapshot": token})
    page.goto(shop_server + "/")  # the persona's first visit: it gets its cookie
    first = page.goto(shop_server + "/").body()
    assert all(page.goto(shop_server + "/").body() == first for _ in range(10))
    assert "Monday 05 December 2011" in first.decode()
