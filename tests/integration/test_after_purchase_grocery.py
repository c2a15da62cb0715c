"""After the purchase on the second test store (tests/stores/grocery.py: its own catalog, in
euros, with hidden and unavailable products the model learned from the orders): the
confirmation, the purchase as history at once, and the order's email fragment."""

from __future__ import annotations

import csv
import re
from datetime import timedelta

import pytest

from storefront import orders
from storefront.words import day
from tests.conftest import run_cli
from tests.helpers import grocery_orders, heading, products_in, shop_app
from tests.integration.after_purchase_support import (
    api_key,
    buy,
    check_confirmation,
    check_followup_fragment,
    check_followup_refusals,
    for_you_products,
)
from tests.stores.grocery import write_store


@pytest.fixture(scope="module")
def grocery(tmp_path_factory, embedded_redis_url) -> dict:
    out = tmp_path_factory.mktemp("grocery-after-purchase")
    paths = write_store(out / "files", customers=300, days=150)
    orders_csv, map_args, _ = grocery_orders(paths["orders"])
    home = out / "home"
    env = {"STOREFRONT_DATABASE_URL": f"sqlite:///{home / 'storefront.db'}"}
    env["STOREFRONT_REDIS_URL"] = embedded_redis_url
    run_cli(home, "import", "products", str(paths["products"]), env=env)
    run_cli(home, "import", "orders", str(orders_csv), *map_args, env=env)
    run_cli(home, "train", env=env)
    with paths["products"].open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    hidden = {r["id"] for r in rows if r["available"] == "no" or r["hidden"] == "true"}
    return {"home": home, "env": env, "hidden": hidden}


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
    order_id, html = buy(client, {pid: 2})
    check_confirmation(app, html, {pid: 2})
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
    buy(client, {p: 1 for p in first})
    home = client.get("/").get_data(as_text=True)
    assert heading(home, "for-you") != "Customer favourites to start with"
    shown = for_you_products(home)
    assert shown and not set(shown) & set(first)


def test_the_grocery_order_followup_fragment(client, app, grocery):
    pid = _staple(app, grocery["hidden"])
    order_id, _ = buy(client, {pid: 3})
    html = check_followup_fragment(app, app.test_client(), api_key(app), order_id, {pid: 3})
    assert "€" in html and "due again around" in html
    shown = set(re.findall(r'data-product-id="([^"]+)"', html))
    assert shown and not shown & grocery["hidden"]


@pytest.mark.parametrize("case", ["no-key", "bad-order", "unknown-order", "missing"])
def test_the_grocery_order_followup_refusals(client, app, case):
    check_followup_refusals(app, app.test_client(), api_key(app), case)
