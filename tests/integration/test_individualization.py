"""Individualization and trust against the real Redis and database: traits, pressure, mutes,
opt-out, privacy, identity stitching, checkout and rate limits."""

from __future__ import annotations

import itertools
import re

from sqlalchemy import func, select

from storefront import db
from tests.helpers import products_in, signal, slots

_ids = itertools.count()


def post(client, *events) -> dict:
    batch = [{"id": f"it-{next(_ids):08d}", "ts": 1733400000000, **e} for e in events]
    r = client.post("/events", json={"events": batch})
    assert r.status_code == 202, r.get_json()
    return r.get_json()


def rail_products(html: str) -> set[str]:
    return set(re.findall(r'<li class="tile"[^>]*? data-product-id="([^"]+)"', html))


def visitor_of(client) -> str:
    from storefront.visitor import read_visitor_id

    cookie = client.get_cookie("sid")
    with client.application.app_context():
        return read_visitor_id(cookie.value)


def test_traits_are_inferred_and_shown_in_me(client, app):
    client.get("/")
    catalog = app.extensions["models"].get().catalog
    xmas = catalog.by_category["christmas"][:4]
    post(client, *({"type": "view", "product_id": p} for p in xmas))
    me = client.get("/me").get_data(as_text=True)
    assert 'data-trait="affinity:christmas"' in me
    assert "You like <strong>Christmas</strong>" in me
    # the shopper corrects it: gone on the next page
    client.post("/me", data={"action": "drop", "value": "affinity:christmas"})
    assert 'data-trait="affinity:christmas"' not in client.get("/me").get_data(as_text=True)


def test_shown_again_and_again_without_engagement_backs_off(client, app):
    client.get("/")
    catalog = app.extensions["models"].get().catalog
    post(
        client,
        *({"type": "view", "product_id": p} for p in catalog.by_category["candles-lighting"][:3]),
    )
    first = products_in(client.get("/").get_data(as_text=True), "for-you")
    target = first[0]
    for _ in range(12):  # far past any shopper's threshold
        post(client, {"type": "impression", "product_id": target, "slot": "for-you"})
    after = products_in(client.get("/").get_data(as_text=True), "for-you")
    assert target not in after and after


def test_muting_a_category_removes_it_from_the_next_page(client, app):
    catalog = app.extensions["models"].get().catalog
    html = client.get("/?qa_country=GB").get_data(as_text=True)
    cats = {catalog.get(p).category for p in rail_products(html)}
    muted = sorted(cats)[0]
    r = client.post("/me", data={"action": "mute", "value": muted})
    assert r.status_code == 303
    after = client.get("/?qa_country=GB").get_data(as_text=True)
    assert rail_products(after)
    assert muted not in {catalog.get(p).category for p in rail_products(after)}
    assert client.post("/me", data={"action": "mute", "value": "nope"}).status_code == 400


def test_opting_out_gives_the_non_personalized_page(client, app):
    catalog = app.extensions["models"].get().catalog
    client.get("/?qa_country=DE")
    post(client, *({"type": "view", "product_id": p} for p in catalog.by_category["garden"][:3]))
    personal = client.get("/?qa_country=DE").get_data(as_text=True)
    assert "because-you-viewed" in slots(personal)
    client.post("/me", data={"action": "signal-off", "value": "personalization"})
    plain = client.get("/?qa_country=DE").get_data(as_text=True)
    assert "because-you-viewed" not in slots(plain)
    assert "Customer favourites" in plain and "Germany" not in signal(plain, "location")
    # identical to what a brand-new visitor without location sees
    other = app.test_client()
    other.post("/me", data={"action": "signal-off", "value": "location"})
    fresh = other.get("/").get_data(as_text=True)
    assert products_in(plain, "for-you") == products_in(fresh, "for-you")


def test_gpc_keeps_nothing_beyond_the_session(client, app):
    client.get("/", headers={"Sec-GPC": "1"})
    pid = next(iter(app.extensions["models"].get().catalog.products))
    r = client.post(
        "/events",
        headers={"Sec-GPC": "1"},
        json={
            "events": [
                {"id": "gpc-event-0001", "type": "view", "product_id": pid, "ts": 1733400000000}
            ]
        },
    )
    assert r.status_code == 202
    with app.extensions["db"].connect() as conn:
        assert (
            conn.execute(select(db.events).where(db.events.c.id == "gpc-event-0001")).first()
            is None
        )
    page = client.get("/", headers={"Sec-GPC": "1"}).get_data(as_text=True)
    assert "Global Privacy Control" in signal(page, "consent")
    # the session itself still adapts (nothing is kept beyond it)
    assert app.extensions["redis"].lrange(f"sf:views:{{v:{visitor_of(client)}}}", 0, -1) == [pid]


def test_export_then_delete_leaves_nothing(client, app):
    client.get("/")
    catalog = app.extensions["models"].get().catalog
    pids = catalog.by_category["kitchen-dining"][:3]
    post(
        client,
        *({"type": "view", "product_id": p} for p in pids),
        {"type": "impression", "product_id": pids[0]},
    )
    client.post("/me", data={"action": "mute", "value": "garden"})
    client.get("/")
    visitor = visitor_of(client)
    data = client.get("/me/export.json").get_json()
    assert {e["product_id"] for e in data["events"]} >= set(pids)
    assert data["state"][visitor]["preferences"] == {"mute:garden": "1"}
    r = client.post("/me", data={"action": "delete", "value": ""})
    assert r.status_code == 303 and visitor_of(client) != visitor
    redis = app.extensions["redis"]
    left = [k for k in redis.scan_iter("*", count=1000) if visitor in k]
    assert left == []
    assert all(visitor not in str(f) for _, f in redis.xrange("sf:stream:events"))
    with app.extensions["db"].connect() as conn:
        n = conn.execute(
            select(func.count()).select_from(db.events).where(db.events.c.visitor == visitor)
        ).scalar_one()
    assert n == 0
    me = client.get("/me").get_data(as_text=True)
    assert 'data-testid="no-traits"' in me and "No products viewed recently" in me


def test_signing_in_on_two_devices_stitches_one_history(app):
    engine = app.extensions["db"]
    with engine.connect() as conn:
        # a customer no other test signs in as (the shared Redis remembers links)
        customer = conn.execute(
            select(db.customers.c.id).order_by(db.customers.c.id.desc()).limit(1)
        ).scalar_one()
    catalog = app.extensions["models"].get().catalog
    pid = catalog.by_category["toys-games"][0]
    phone, laptop = app.test_client(), app.test_client()
    phone.get("/")
    post(phone, {"type": "view", "product_id": pid})
    phone_id = visitor_of(phone)
    assert phone.post("/account", data={"customer_id": customer}).status_code == 303
    person_id = visitor_of(phone)  # a new id, never the cookie it came with (fixation)
    assert person_id != phone_id
    laptop.get("/")
    laptop_id = visitor_of(laptop)
    laptop.post("/account", data={"customer_id": customer})
    assert visitor_of(laptop) == person_id  # the laptop joins the same person
    html = laptop.get("/").get_data(as_text=True)
    assert "because-you-viewed" in slots(html) and f"Customer {customer}" in html
    with engine.connect() as conn:
        linked = set(
            conn.execute(
                select(db.identities.c.visitor).where(db.identities.c.customer_id == customer)
            ).scalars()
        )
    assert {phone_id, laptop_id, person_id} <= linked  # their events count for the customer
    # signing out gives the device a fresh anonymous id
    laptop.post("/account", data={"customer_id": ""})
    assert visitor_of(laptop) not in (phone_id, laptop_id, person_id)


def test_checkout_records_purchases_and_empties_the_basket(client, app):
    client.get("/")
    pid = next(iter(app.extensions["models"].get().catalog.products))
    client.post("/cart", data={"product_id": pid, "quantity": 2})
    r = client.post("/cart/checkout")
    assert r.status_code == 303
    assert r.headers["Location"].startswith("/order/")  # the order's confirmation
    cart = client.get(r.headers["Location"]).get_data(as_text=True)
    assert 'data-testid="ordered"' in cart and "Basket (0)" in cart
    with app.extensions["db"].connect() as conn:
        rows = conn.execute(
            select(db.events).where(
                db.events.c.visitor == visitor_of(client), db.events.c.type == "purchase"
            )
        ).all()
    assert [r.product_id for r in rows] == [pid]


def test_event_flood_is_rate_limited(client, app):
    client.get("/")
    pid = next(iter(app.extensions["models"].get().catalog.products))
    codes = []
    for i in range(7):
        batch = [
            {
                "id": f"flood-{i:02d}-{j:03d}",
                "type": "impression",
                "product_id": pid,
                "ts": 1733400000000,
            }
            for j in range(100)
        ]
        codes.append(client.post("/events", json={"events": batch}).status_code)
    assert codes[:6] == [202] * 6 and codes[6] == 429
