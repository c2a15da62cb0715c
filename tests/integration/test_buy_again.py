"""A signed-in customer's home page: buy again (with their cadence) and what goes with what
they own, never something they already have."""

from __future__ import annotations

import re

from tests.helpers import products_in, slots


def test_buy_again_and_goes_with_for_a_regular(client, app):
    model = app.extensions["models"].get().model
    regular = next(
        u for u in model.user_ids[::-1].tolist() if sum(o.orders >= 3 for o in model.owned(u)) >= 3
    )
    client.post("/account", data={"customer_id": regular})
    html = client.get("/").get_data(as_text=True)
    assert "buy-again" in slots(html) and slots(html)[0] == "buy-again"
    owned = {o.product_id for o in model.owned(regular)}
    again = products_in(html, "buy-again")
    assert again and set(again) <= owned
    rail = re.search(r'data-slot="buy-again".*?</section>', html, re.S).group(0)
    assert re.search(r"You order this about (weekly|monthly|every)", rail)
    goes = products_in(html, "goes-with")
    assert goes and not set(goes) & owned
    assert "you bought in" in re.search(r'data-slot="goes-with".*?</section>', html, re.S).group(0)


def test_no_buy_again_for_an_anonymous_visitor(client):
    html = client.get("/").get_data(as_text=True)
    assert "buy-again" not in slots(html) and "goes-with" not in slots(html)
