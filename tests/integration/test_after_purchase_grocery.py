"""After the purchase on the second test store (tests/stores/grocery.py: its own catalog, in
euros, with hidden and unavailable products the model learned from the orders): the
confirmation, the purchase as history at once, and the order's email fragment."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from storefront import orders
from storefront.words import day
from tests.helpers import grocery_shop, heading, products_in, shop_app
from tests.integration import after_purchase_support as steps


@pytest.fixture(scope="module")
def grocery(tmp_path_factory, embedded_redis_url) -> dict:
    shop = grocery_shop(tmp_path_factory.mktemp("grocery-after-purchase"), embedded_redis_url)
    rows = shop["rows"]
    shop["hidden"] = {r["id"] for r in rows if r["available"] == "no" or r["hidden"] == "true"}
    return shop


@pytest.fixture
def app(grocery):
    env = grocery["env"]
    yield from shop_app(
        grocery["home"], env["STOREFRONT_DATABASE_URL"], env["STOREFRONT_REDIS_URL"]
    )


@pytest.fixture
def client(app):
    return app.test_client()


def _staple(app, hidden: set[str]) -> str:
    """A product this store's customers re-order whose model neighbours include products the
    shop never shows (hidden or unavailable): only the catalog keeps those off the page."""
    snap = app.extensions["models"].get()
    model, catalog = snap.model, snap.catalog
    for pid in model.item_ids.tolist():
        if catalog.get(pid) is None or model.rebuy(pid) is None:
            continue
        near = {p for p, _ in model.similar(pid, 16)}
        if near & hidden:
            return pid
    raise AssertionError("no re-ordered product with hidden neighbours in the grocery store")


def test_the_grocery_confirmation_in_euros_with_what_goes_with_it_and_due_again(
    client, app, grocery
):
    pid = _staple(app, grocery["hidden"])
    order_id, html = steps.buy(client, {pid: 2})
    steps.check_confirmation(app, html, {pid: 2})
    assert "€" in re.search(r'data-testid="order-total">([^<]*)<', html).group(1)
    assert not set(products_in(html, "goes-with-order")) & grocery["hidden"]
    # due again: this store's interval for the product, fitted at training on its own orders
    rebuy = app.extensions["models"].get().model.rebuy(pid)
    order = orders.load(app.extensions["redis"], order_id)
    due = order.placed.date() + timedelta(days=round(rebuy.interval_days))
    note = re.search(r'data-testid="due-again".*?</section>', html, re.S).group(0)
    assert day(due) in note and f"{rebuy.rebuyers} of the" in note


def test_a_grocery_buyers_next_home_treats_the_purchase_as_history(client, app):
    client.get("/")
    before = client.get("/").get_data(as_text=True)
    assert heading(before, "for-you") == "Customer favourites to start with"
    first = products_in(before, "for-you")[:2]
    steps.buy(client, {p: 1 for p in first})
    home = client.get("/").get_data(as_text=True)
    assert heading(home, "for-you") != "Customer favourites to start with"
    shown = steps.for_you_products(home)
    assert shown and not set(shown) & set(first)


def test_the_grocery_order_followup_fragment(client, app, grocery):
    pid = _staple(app, grocery["hidden"])
    order_id, _ = steps.buy(client, {pid: 3})
    html = steps.check_followup_fragment(
        app, app.test_client(), steps.api_key(app), order_id, {pid: 3}
    )
    assert "€" in html and "due again around" in html
    shown = set(re.findall(r'data-product-id="([^"]+)"', html))
    assert shown and not shown & grocery["hidden"]


@pytest.mark.parametrize("case", ["no-key", "bad-order", "unknown-order", "missing"])
def test_the_grocery_order_followup_refusals(client, app, case):
    steps.check_followup_refusals(app, app.test_client(), steps.api_key(app), case)
