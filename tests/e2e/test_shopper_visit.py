"""End to end, as a shopper: context that lasts the visit, and a trending rail that follows what
shoppers near me do right now.

- I arrive from a link in the shop's newsletter and open a product: the second page is still
  my email visit (the context panel says so; <body data-channel> is the QA hook).
- Trending near me changes once shoppers in my country buy things, without the shop being
  retrained: before, the rail says what it shows ("Popular in Iceland", past orders); after,
  it leads with what they bought and is titled for this part of the day.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.pages import HomePage, ProductPage

pytestmark = pytest.mark.e2e

ICELAND = {"extra_http_headers": {"X-Country-Code": "IS"}}  # as a CDN would locate me
NEWSLETTER = "/?utm_source=newsletter&utm_medium=email&utm_campaign=december"


def test_the_second_page_of_an_email_visit_is_still_an_email_visit(
    shop_server: str, new_page: Callable[..., Page]
):
    page = new_page(**ICELAND)
    home = HomePage(page, shop_server).goto(NEWSLETTER)
    expect(page.locator("body")).to_have_attribute("data-channel", "email")
    assert home.signal("channel") == "email (newsletter) · december"
    assert home.signal("session").startswith("new visitor")

    product = home.open_product("trending")  # a click: the referrer is now the shop itself
    assert isinstance(product, ProductPage)
    body = page.locator("body")
    expect(body).to_have_attribute("data-page", "product")
    expect(body).to_have_attribute("data-channel", "email")
    expect(body).to_have_attribute("data-campaign", "december")
    assert product.signal("channel") == "email (newsletter) · december"
    assert product.signal("session").startswith("new visitor")  # still my first visit

    back = product.go_home()  # a third page, still the same visit
    expect(page.locator("body")).to_have_attribute("data-channel", "email")
    assert back.signal("os") == "Windows"  # my browser's client hint (Sec-CH-UA-Platform)


def test_trending_near_me_follows_what_shoppers_here_buy_without_retraining(
    shop_server: str, new_page: Callable[..., Page]
):
    me = new_page(**ICELAND)
    home = HomePage(me, shop_server).goto()
    model = me.locator("p.model").inner_text()
    assert home.slot_title("trending") == "Popular in Iceland"  # nobody here right now
    shown_to_me = set(
        me.locator("[data-product-id]").evaluate_all("els => els.map(e => e.dataset.productId)")
    )

    # three other shoppers in Iceland browse a category and buy from it
    others = [new_page(**ICELAND) for _ in range(3)]
    first = others[0]
    HomePage(first, shop_server).goto()
    first.locator("nav.categories a").first.click()
    first.wait_for_url("**/c/**")
    in_category = first.locator("[data-product-id]").evaluate_all(
        "els => els.map(e => e.dataset.productId)"
    )
    bought = [p for p in dict.fromkeys(in_category) if p not in shown_to_me][:4]
    assert len(bought) == 4
    for shopper in others[1:]:
        HomePage(shopper, shop_server).goto()  # their cookie
    for n, shopper in enumerate(others):
        events = [
            {
                "id": uuid.uuid4().hex,
                "type": "purchase",
                "product_id": pid,
                "ts": int(time.time() * 1000),
            }
            for i, pid in enumerate(bought)
            for _ in range(4 - i)  # the first bought most often
            if n < 2 or i == 0
        ]
        answer = shopper.request.post(
            f"{shop_server}/events", data={"events": events}, headers=ICELAND["extra_http_headers"]
        )
        assert answer.status == 202, answer.text()

    time.sleep(2.5)  # the rail's next refresh (STOREFRONT_TRENDING_REFRESH=2 in the e2e shop)
    home = HomePage(me, shop_server).goto()
    daypart = me.locator("body").get_attribute("data-daypart")
    when = "tonight" if daypart == "night" else f"this {daypart}"
    assert home.slot_title("trending") == f"Trending in Iceland {when}"
    assert home.product_ids_in("trending")[:4] == bought
    reason = home.reason_for("trending", bought[0])
    assert re.match(r"Trending now: .* shoppers in Iceland in recent \w+s$", reason), reason
    assert me.locator("p.model").inner_text() == model  # the same model: nothing was retrained
