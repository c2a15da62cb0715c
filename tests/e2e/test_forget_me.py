"""End to end, in a real Chromium, from the shopper's side: I sign in, look around, delete my
data on /me, and then find nothing of me: no history on /me, an export with no events and no
account, and my customer number no longer signs in (issue #18, "Delete means delete")."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e


def view_product(page: Page, base: str, product_id: str) -> None:
    """Open a product page and wait until the tracker's view event was accepted."""
    with page.expect_response(lambda r: r.url.endswith("/events") and r.status == 202):
        page.goto(f"{base}/p/{product_id}")


def test_i_delete_my_data_and_nothing_of_me_is_left(shop_server: str, page: Page):
    page.goto(shop_server + "/account")
    me = page.locator("code").last.inner_text().strip()  # another example than other tests'
    page.get_by_label("Customer number").fill(me)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/(me\?holdout=joined)?$"))
    page.goto(shop_server + "/?qa_country=GB")
    shown = page.locator("[data-slot] .tile").evaluate_all(
        "els => els.map(e => e.getAttribute('data-product-id'))"
    )
    for pid in shown[:2]:
        view_product(page, shop_server, pid)
    page.goto(shop_server + "/me")
    expect(page.get_by_test_id("recent")).to_contain_text("Recently viewed")

    page.get_by_role("button", name="Delete my data").click()
    notice = page.get_by_role("status").filter(has_text="Your data was deleted")
    expect(notice).to_contain_text("your account with it")
    expect(page.get_by_test_id("recent")).to_contain_text("No products viewed recently")
    expect(page.get_by_test_id("no-traits")).to_be_visible()

    # what the shop still holds about me, as the shop itself tells it: nothing
    with page.expect_download() as download:
        page.get_by_role("link", name="Export my data (JSON)").click()
    data = json.loads(download.value.path().read_text())
    assert data["events"] == [] and data["identities"] == []
    for state in data["state"].values():  # this browser's new visit: nothing kept yet
        assert not (state["recently_viewed"] or state["cart"] or state["traits"]), state

    # I am nobody here any more: my number does not sign in, my old pages show no history
    page.goto(shop_server + "/account")
    page.get_by_label("Customer number").fill(me)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text(f"We don't know customer {me}.")).to_be_visible()
    page.goto(shop_server + "/?qa_country=GB")
    expect(page.locator('[data-slot="because-you-viewed"]')).to_have_count(0)
    expect(page.locator('[data-slot="buy-again"]')).to_have_count(0)
