"""After the purchase, as a shopper sees it in a real Chromium against a real server: buy
something, read a confirmation built around it, go home, and find the shop treating the
purchase as history (the bought product is not offered as new for you, and the home is no
longer "customer favourites" for a first-time visitor).

Run with and without JavaScript: without it no tracker event is sent, so the server alone
must have learned the purchase (the report was of an anonymous buyer whose next home fell back
to "Customer favourites to start with")."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.pages import DESKTOP, HomePage

pytestmark = pytest.mark.e2e

FAVOURITES = "Customer favourites to start with"


@pytest.mark.parametrize("javascript", [False, True], ids=["no-js", "js"])
def test_a_purchase_personalizes_the_confirmation_and_the_next_home(
    shop_server: str, new_page: Callable[..., Page], javascript: bool
):
    page = new_page(**DESKTOP, java_script_enabled=javascript)
    home = HomePage(page, shop_server).goto(country="GB")
    home = HomePage(page, shop_server).goto(country="GB")  # with the cookie: a visitor now
    assert home.slot_title("for-you") == FAVOURITES  # a first visit: nothing to go on yet
    favourite = home.product_ids_in("for-you")[0]

    product = home.open_product("for-you", favourite)
    title = product.title
    basket = product.add_to_cart(2)
    assert [(line.product_id, line.quantity) for line in basket.lines()] == [(favourite, 2)]
    order = basket.place_order()

    # the confirmation: what was bought, how many, at what price, and the total
    expect(order.heading).to_have_text("Thank you for your order")
    expect(page.get_by_role("status")).to_contain_text("2 items")
    [line] = order.lines()
    assert (line.product_id, line.title, line.quantity) == (favourite, title, 2)
    assert line.price.startswith("£") and line.subtotal.startswith("£")
    assert order.total() == line.subtotal
    assert order.basket_count() == 0
    # when it will be due again: a favourite of this shop is one its customers re-order
    expect(order.due_again).to_contain_text(title)
    expect(order.due_again).to_contain_text("due again around")
    # what goes with it, never the product just bought
    expect(order.slot("goes-with-order")).to_be_visible()
    goes = order.product_ids_in("goes-with-order")
    assert goes and favourite not in goes
    assert "you just bought" in order.reason_for("goes-with-order", goes[0])

    home = order.go_home()
    assert home.slot_title("for-you") != FAVOURITES
    for_you = home.product_ids_in("for-you")
    assert for_you and favourite not in for_you
