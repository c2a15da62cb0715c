"""End to end, in a real Chromium: the shop adapts to what a shopper does, says why, and obeys
the shopper's controls (mute, opt-out, delete)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e


def tile_ids(page: Page, slot: str) -> list[str]:
    return page.locator(f'[data-slot="{slot}"] .tile').evaluate_all(
        "els => els.map(e => e.getAttribute('data-product-id'))"
    )


def view_product(page: Page, base: str, product_id: str) -> str:
    """Open a product page and wait until the tracker's view event was accepted."""
    with page.expect_response(lambda r: r.url.endswith("/events") and r.status == 202):
        page.goto(f"{base}/p/{product_id}")
    return page.locator("article.product h1").inner_text()


def test_views_change_the_next_page_and_say_why(shop_server, page: Page):
    page.goto(shop_server + "/?qa_country=GB")
    before = tile_ids(page, "for-you")
    first = tile_ids(page, "trending")[0]
    title = view_product(page, shop_server, first)
    second = page.locator('[data-slot="similar"] .tile').first.get_attribute("data-product-id")
    title2 = view_product(page, shop_server, second)
    page.goto(shop_server + "/?qa_country=GB")
    after = tile_ids(page, "for-you")
    assert after and after != before
    rail = page.locator('[data-slot="because-you-viewed"]')
    expect(rail).to_be_visible()
    why = rail.locator("details.why").first
    why.locator("summary").click()
    expect(why).to_contain_text("Because you viewed")
    reasons = rail.locator("details.why p").all_inner_texts()
    assert any(f"Because you viewed {t}" in r for r in reasons for t in (title, title2)), reasons


def test_muting_a_category_removes_it_from_the_next_page(shop_server, page: Page):
    page.goto(shop_server + "/?qa_country=GB")
    ids = page.locator("[data-slot] .tile").evaluate_all(
        "els => els.map(e => e.getAttribute('data-product-id'))"
    )
    cats = set()
    for pid in ids[:6]:
        page.goto(f"{shop_server}/p/{pid}")
        cats.add(page.locator(".breadcrumb a").get_attribute("href").rsplit("/", 1)[1])
    muted = sorted(cats)[0]
    page.goto(shop_server + "/me")
    page.locator(f'[data-category="{muted}"] button', has_text="Mute").click()
    expect(page.locator(f'[data-category="{muted}"]')).to_contain_text("muted")
    page.goto(shop_server + "/?qa_country=GB")
    shown = page.locator("[data-slot] .tile").evaluate_all(
        "els => els.map(e => e.getAttribute('data-product-id'))"
    )
    assert shown
    for pid in shown:
        page.goto(f"{shop_server}/p/{pid}")
        href = page.locator(".breadcrumb a").get_attribute("href")
        assert not href.endswith("/" + muted), pid


def test_opting_out_gives_the_non_personalized_page(shop_server, page: Page):
    page.goto(shop_server + "/?qa_country=DE")
    pid = tile_ids(page, "trending")[0]
    view_product(page, shop_server, pid)
    page.goto(shop_server + "/?qa_country=DE")
    expect(page.locator('[data-slot="because-you-viewed"]')).to_be_visible()
    page.goto(shop_server + "/me")
    page.get_by_role("button", name="Switch personalization off").click()
    expect(page.get_by_test_id("personalization")).to_contain_text("Off")
    page.goto(shop_server + "/?qa_country=DE")
    expect(page.locator('[data-slot="because-you-viewed"]')).to_have_count(0)
    expect(page.locator("#h-for-you")).to_have_text("Customer favourites to start with")
    expect(page.locator('[data-signal="location"]')).not_to_contain_text("Germany")


def test_deleting_my_data_empties_me(shop_server, page: Page):
    page.goto(shop_server + "/")
    for pid in tile_ids(page, "trending")[:3]:
        view_product(page, shop_server, pid)
    page.goto(shop_server + "/me")
    expect(page.get_by_test_id("recent")).to_contain_text("Recently viewed")
    with page.expect_download() as download:
        page.get_by_role("link", name="Export my data (JSON)").click()
    assert re.search(r"\.json$", download.value.suggested_filename)
    page.get_by_role("button", name="Delete my data").click()
    expect(page.get_by_test_id("deleted")).to_be_visible()
    expect(page.get_by_test_id("no-traits")).to_be_visible()
    expect(page.get_by_test_id("recent")).to_contain_text("No products viewed recently")
