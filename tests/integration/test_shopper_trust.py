"""What a shopper is told and not told (issue 18, "The shopper"): a customer number with spaces
around it signs in; a visitor in the holdout reads why on /me; signing in never moves a
browser into the holdout silently; what a signed-in customer bought is never called
uninteresting. Real database and Redis (the shop_env fixture)."""

from __future__ import annotations

import pytest

from storefront.experiments.bucketing import in_holdout
from storefront.redis_client import CUSTOMER, TRAITS, key
from tests.helpers import shop_app, signal


@pytest.fixture
def holdout_app(shop_env, request):
    share = getattr(request, "param", 1.0)
    yield from shop_app(
        shop_env["home"], shop_env["database_url"], shop_env["redis_url"], holdout_share=share
    )


def _customers(app, n: int) -> list[str]:
    return [str(c) for c in app.extensions["models"].get().model.user_ids[:n]]


def test_a_customer_number_with_spaces_around_it_signs_in(app):
    customer = _customers(app, 1)[0]
    c = app.test_client()
    r = c.post("/account", data={"customer_id": f"  {customer}\t "})
    assert r.status_code == 303, r.get_data(True)
    assert app.extensions["redis"].get(key(CUSTOMER, customer)) is not None
    assert f'value="{customer}"' in c.get("/account").get_data(True)  # signed in as them


def test_a_visitor_in_the_holdout_reads_why_on_me(holdout_app):
    c = holdout_app.test_client()
    html = c.get("/me").get_data(True)
    assert 'data-testid="holdout"' in html
    assert "Why you see our standard shop" in html and "100% of them" in html
    assert "nothing you did put you here" in html
    assert "Pages are built for you" not in html
    assert "standard, non-personalized shop" in signal(c.get("/").get_data(True), "consent")


@pytest.mark.parametrize("holdout_app", [0.5], indirect=True)
def test_signing_in_never_moves_a_browser_into_the_holdout_silently(holdout_app):
    app = holdout_app
    r = app.extensions["redis"]
    told = 0
    for customer in _customers(app, 60):
        first = app.test_client()
        first.get("/")
        answer = first.post("/account", data={"customer_id": customer})
        canonical = r.get(key(CUSTOMER, customer))
        canonical = canonical.decode() if isinstance(canonical, bytes) else canonical
        joined = in_holdout(canonical, 0.5)
        if answer.headers["Location"].endswith("/me?holdout=joined"):
            told += 1
            assert joined
            me = first.get("/me?holdout=joined").get_data(True)
            assert 'data-testid="holdout-joined"' in me and "every device" in me
        elif joined:  # this browser was in the holdout already: nothing changes for it
            html = first.get("/").get_data(True)
            assert "standard, non-personalized shop" in signal(html, "consent")
        if told >= 2:
            break
    assert told >= 2


def test_what_a_customer_bought_is_never_called_uninteresting(app):
    model = app.extensions["models"].get()
    customer = next(c for c in _customers(app, 50) if model.model.history(str(c)))
    bought = model.catalog.get(model.model.history(customer)[0]).category
    other = next(c.slug for c in model.catalog.categories if c.slug != bought)
    c = app.test_client()
    assert c.post("/account", data={"customer_id": customer}).status_code == 303
    visitor = app.extensions["redis"].get(key(CUSTOMER, customer))
    visitor = visitor.decode() if isinstance(visitor, bytes) else visitor
    # many pages: their bought category shown 200 times unclicked, clicks elsewhere
    app.extensions["redis"].hset(
        key(TRAITS, visitor),
        mapping={f"cs:{bought}": 200, f"cs:{other}": 200, f"ce:{other}": 20},
    )
    app.extensions["sessions"].bump(app.extensions["redis"], visitor)
    me = c.get("/me").get_data(True)
    assert f'data-trait="exclusion:{bought}"' not in me
