"""After the purchase, on the demo store (the grocery store's are in
test_after_purchase_grocery.py): the confirmation is built around what was just bought, the
purchase is history at once (never "new for you" again, no "customer favourites" home for an
anonymous buyer), and the order's email fragment for the transactional email."""

from __future__ import annotations

import re

import pytest

from tests.helpers import heading, products_in, slots
from tests.integration.after_purchase_support import (
    api_key,
    buy,
    check_confirmation,
    check_followup_fragment,
    check_followup_refusals,
    for_you_products,
)


def _regular_product(app) -> str:
    """A product this store's customers re-order (a fitted interval) that has neighbours."""
    model = app.extensions["models"].get().model
    catalog = app.extensions["models"].get().catalog
    for pid in model.popular("overall"):
        pid = pid[0]
        if catalog.get(pid) and model.rebuy(pid) and model.similar(pid, 8):
            return pid
    raise AssertionError("no re-ordered product in the demo store")


def test_the_confirmation_is_personalized_around_the_order(client, app):
    pid = _regular_product(app)
    order_id, html = buy(client, {pid: 3})
    check_confirmation(app, html, {pid: 3})
    # when it will be due again: this store's own interval for it, fitted at training
    rebuy = app.extensions["models"].get().model.rebuy(pid)
    note = re.search(r'data-testid="due-again".*?</section>', html, re.S).group(0)
    assert f"of the {rebuy.buyers:,} customers" in note and "due again around" in note


def test_an_anonymous_buyers_next_pages_treat_the_purchase_as_history(client, app):
    client.get("/")
    before = client.get("/").get_data(as_text=True)
    assert heading(before, "for-you") == "Customer favourites to start with"
    favourites = products_in(before, "for-you")
    pid = favourites[0]  # the first favourite: exactly what would come back after buying it
    buy(client, {pid: 1})
    home = client.get("/").get_data(as_text=True)
    assert "for-you" in slots(home)
    assert heading(home, "for-you") != "Customer favourites to start with"
    shown = for_you_products(home)
    assert shown and pid not in shown
    assert "from what you just bought" in home
    # nor on a listing or the search page's "you may also like"
    category = app.extensions["models"].get().catalog.get(pid).category
    listing = client.get(f"/c/{category}").get_data(as_text=True)
    assert pid not in products_in(listing, "for-you")


def test_a_purchase_posted_as_an_event_is_history_too(client, app):
    """The tracker's or an app's purchase event: the session learns it the same way."""
    client.get("/")
    before = client.get("/").get_data(as_text=True)
    pid = products_in(before, "for-you")[0]
    from datetime import UTC, datetime

    r = client.post(
        "/events",
        json={
            "events": [
                {
                    "id": "purchase-evt-1",
                    "type": "purchase",
                    "product_id": pid,
                    "quantity": 1,
                    "ts": datetime.now(UTC).isoformat(),
                }
            ]
        },
    )
    assert r.status_code == 202, r.get_data(as_text=True)
    home = client.get("/").get_data(as_text=True)
    assert heading(home, "for-you") != "Customer favourites to start with"
    assert pid not in for_you_products(home)


def test_another_visitor_cannot_see_the_order(client, app):
    pid = _regular_product(app)
    order_id, _ = buy(client, {pid: 1})
    stranger = app.test_client()
    stranger.get("/")
    r = stranger.get(f"/order/{order_id}")
    assert r.status_code == 404 and "order" in r.get_data(as_text=True)
    assert client.get("/order/not-an-order").status_code == 404


def test_the_order_followup_fragment(client, app):
    pid = _regular_product(app)
    order_id, _ = buy(client, {pid: 2})
    key = api_key(app)
    check_followup_fragment(app, app.test_client(), key, order_id, {pid: 2})


@pytest.mark.parametrize("case", ["no-key", "bad-key", "bad-order", "unknown-order", "missing"])
def test_the_order_followup_refusals_name_the_field(client, app, case):
    check_followup_refusals(app, app.test_client(), api_key(app), case)


def test_under_global_privacy_control_the_order_is_confirmed_and_nothing_is_logged(app):
    """GPC: the order is the shopper's own transaction (confirmed, its email can be sent), but
    no purchase reaches the event log; the session still knows it for the visit."""
    from sqlalchemy import select

    from storefront import db
    from storefront.visitor import read_visitor_id

    gpc = app.test_client()
    gpc.environ_base["HTTP_SEC_GPC"] = "1"
    pid = _regular_product(app)
    order_id, html = buy(gpc, {pid: 1})
    check_confirmation(app, html, {pid: 1})
    with app.app_context():
        visitor = read_visitor_id(gpc.get_cookie("sid").value)
    with app.extensions["db"].connect() as conn:
        logged = conn.execute(select(db.events.c.id).where(db.events.c.visitor == visitor)).all()
    assert logged == []
    assert pid in app.extensions["sessions"].read(visitor).bought
