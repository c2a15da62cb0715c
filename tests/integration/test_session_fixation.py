"""Session fixation at sign-in (issue #16, item 7): a visitor cookie anyone can get, planted in
a victim's browser (or shared with it) before the victim signs in, must reach nothing of the
customer afterwards. Two real browsers (test clients) against real SQL and Redis."""

from __future__ import annotations

import itertools
import time

import pytest
from sqlalchemy import select

from recommender import event_log
from storefront import accounts, db, signin_token
from storefront.redis_client import CUSTOMER, VISITOR, key
from storefront.training_data import read_events
from tests.integration import test_customer_signin as signin
from tests.integration.test_customer_signin import SECRET, browser

shop = signin.shop  # the shop as deployed: passwords and the identity header, no demo sign-in
PASSWORD = "a long enough password"
_ids = itertools.count()


def customer_no(app, n: int) -> str:
    """Customers 40 and up: no other test file signs in as them (Redis and SQL are shared)."""
    with app.extensions["db"].connect() as conn:
        ids = conn.execute(select(db.customers.c.id).order_by(db.customers.c.id)).scalars().all()
    return ids[40 + n]


def products(app, n: int) -> list[str]:
    return [p.id for p in app.extensions["models"].get().catalog.best_sellers(n)]


def cookie(client) -> str:
    return client.get_cookie("sid").value


def visitor_of(client) -> str:
    from storefront.visitor import read_visitor_id

    with client.application.app_context():
        return read_visitor_id(cookie(client))


def view(client, pid: str) -> None:
    event = {"id": f"fix-{next(_ids):06d}-{time.time_ns()}", "type": "view", "product_id": pid}
    r = client.post("/events", json={"events": [{**event, "ts": int(time.time() * 1000)}]})
    assert r.status_code == 202, r.get_json()


def export(client) -> dict:
    r = client.get("/me/export.json")
    assert r.status_code == 200
    return r.get_json()


def customers_in(data: dict) -> set[str]:
    found = {s["visitor"].get("customer") for s in data["state"].values()}
    found |= {i["customer_id"] for i in data["identities"]}
    return found - {None}


def assert_reaches_nothing(app, held: str, customer: str, pids: list[str]) -> None:
    """Every request made with the `held` cookie value sees none of the customer's data."""
    other = browser(app)

    def with_held(method: str, path: str, **kw):
        other.set_cookie("sid", held)  # the old cookie again, whatever the last reply set
        return other.open(path, method=method, **kw)

    data = with_held("GET", "/me/export.json").get_json()
    assert customers_in(data) == set()
    assert data["events"] == [] and data["identities"] == []
    for state in data["state"].values():
        assert state["cart"] == {} and state["recently_viewed"] == []
        assert state["traits"] == {} and not set(pids) & set(state["exposures"])
    assert "Basket (0)" in with_held("GET", "/cart").get_data(as_text=True)
    me = with_held("GET", "/me").get_data(as_text=True)
    assert f"Customer {customer}" not in me and "No products viewed recently" in me
    assert f"Customer {customer}" not in with_held("GET", "/").get_data(as_text=True)


def test_a_planted_cookie_reaches_nothing_of_the_customer_after_a_password_sign_in(shop):
    customer = customer_no(shop, 0)
    assert accounts.set_password(shop.extensions["db"], customer, PASSWORD)
    before, basket, after = products(shop, 3)
    attacker = browser(shop)
    attacker.get("/")
    planted, planted_id = cookie(attacker), visitor_of(attacker)

    victim = browser(shop)
    victim.set_cookie("sid", planted)  # planted, or simply shared with the attacker
    view(victim, before)
    r = victim.post("/account", data={"customer_id": customer, "password": PASSWORD})
    assert r.status_code == 303
    assert visitor_of(victim) != planted_id  # a visitor id never seen before this sign-in
    victim.post("/cart", data={"product_id": basket, "quantity": 2})
    view(victim, after)
    mine = export(victim)
    assert customers_in(mine) == {customer}
    assert {e["product_id"] for e in mine["events"]} >= {before, after}
    assert any(s["cart"] == {basket: "2"} for s in mine["state"].values())
    viewed = [p for s in mine["state"].values() for p in s["recently_viewed"]]
    assert viewed[:2] == [after, before]  # the anonymous session came along

    assert_reaches_nothing(shop, planted, customer, [before, basket, after])
    # nor can the old cookie delete the customer's data
    attacker.set_cookie("sid", planted)
    assert attacker.post("/me", data={"action": "delete", "value": ""}).status_code == 303
    still = export(victim)
    assert still["events"] == mine["events"] and still["state"] == mine["state"]

    # the events recorded before signing in still count for the customer in training
    frame = event_log.interactions(*read_events(shop.extensions["db"]))
    theirs = frame[frame["customer_id"] == customer]
    assert {before, after} <= set(theirs["product_id"])


@pytest.mark.parametrize("way", ["identity header", "customer number (demo)"])
def test_every_way_of_signing_in_leaves_the_planted_cookie_behind(way, shop, app):
    shop_app = shop if way == "identity header" else app
    customer = customer_no(shop_app, 1 if way == "identity header" else 2)
    pid = products(shop_app, 1)[0]
    attacker = browser(shop_app)
    attacker.get("/")
    planted, planted_id = cookie(attacker), visitor_of(attacker)
    victim = browser(shop_app)
    victim.set_cookie("sid", planted)
    view(victim, pid)
    if way == "identity header":
        token = signin_token.make(SECRET, customer)
        r = victim.get("/account/sso", headers={signin_token.HEADER: token})
    else:
        r = victim.post("/account", data={"customer_id": customer})
    assert r.status_code == 303
    assert visitor_of(victim) != planted_id
    victim.post("/cart", data={"product_id": pid, "quantity": 1})
    assert customers_in(export(victim)) == {customer}
    assert_reaches_nothing(shop_app, planted, customer, [pid])


def test_signing_out_retires_the_signed_in_cookie_and_keeps_the_customers_state(app):
    customer = customer_no(app, 3)
    pid = products(app, 1)[0]
    phone, laptop = browser(app), browser(app)
    for device in (phone, laptop):
        device.get("/")
        assert device.post("/account", data={"customer_id": customer}).status_code == 303
    assert visitor_of(phone) == visitor_of(laptop)  # the devices share the customer's id
    laptop.post("/cart", data={"product_id": pid, "quantity": 3})
    held = cookie(laptop)
    assert laptop.post("/account", data={"customer_id": ""}).status_code == 303
    assert cookie(laptop) != held
    assert customers_in(export(laptop)) == set()  # the new anonymous cookie
    assert_reaches_nothing(app, held, customer, [pid])  # the cookie signed out
    assert customers_in(export(phone)) == set()  # it was the phone's too: signed out as well
    assert phone.post("/account", data={"customer_id": customer}).status_code == 303
    assert any(s["cart"] == {pid: "3"} for s in export(phone)["state"].values())


def test_a_shared_id_kept_by_an_older_release_is_replaced_at_the_next_sign_in(app):
    """Before this fix the first device's own cookie became the customer's id; it may be a
    planted one, so the next sign-in moves the customer to a newly minted id."""
    customer = customer_no(app, 4)
    attacker = browser(app)
    attacker.get("/")
    planted, planted_id = cookie(attacker), visitor_of(attacker)
    r = app.extensions["redis"]
    r.set(key(CUSTOMER, customer), planted_id, ex=3600)  # what the older release left
    r.hset(key(VISITOR, planted_id), "customer", customer)
    victim = browser(app)
    victim.get("/")
    assert victim.post("/account", data={"customer_id": customer}).status_code == 303
    assert visitor_of(victim) != planted_id
    assert customers_in(export(victim)) == {customer}
    assert_reaches_nothing(app, planted, customer, [])


def test_events_sent_with_a_retired_cookie_are_refused_not_counted_for_the_customer(shop):
    """Whoever still holds the pre-sign-in cookie cannot add to the customer's history (which
    training would count for them) through POST /events either."""
    customer = customer_no(shop, 3)
    assert accounts.set_password(shop.extensions["db"], customer, PASSWORD)
    pid = products(shop, 1)[0]
    attacker = browser(shop)
    attacker.get("/")
    planted, planted_id = cookie(attacker), visitor_of(attacker)
    victim = browser(shop)
    victim.set_cookie("sid", planted)
    r = victim.post("/account", data={"customer_id": customer, "password": PASSWORD})
    assert r.status_code == 303

    attacker.set_cookie("sid", planted)
    event = {"id": f"retired-{time.time_ns()}", "type": "view", "product_id": pid}
    r = attacker.post("/events", json={"events": [{**event, "ts": int(time.time() * 1000)}]})
    assert r.status_code == 409
    assert r.get_json()["fields"][0]["field"] == "sid"
    with shop.extensions["db"].connect() as conn:
        stored = conn.execute(
            select(db.events.c.id).where(db.events.c.visitor == planted_id)
        ).scalars()
        assert event["id"] not in set(stored)


def test_the_retirement_mark_outlives_the_request_that_signed_in(shop):
    """The sign-in request's own bookkeeping (touching the visitor it arrived as) must not
    rewrite the retired id's record: the mark keeps the cookie's lifetime, not a session's."""
    from storefront.visitor import MAX_AGE

    customer = customer_no(shop, 4)
    assert accounts.set_password(shop.extensions["db"], customer, PASSWORD)
    victim = browser(shop)
    victim.get("/")  # a provisional record, as any first page leaves
    planted_id = visitor_of(victim)
    r = victim.post("/account", data={"customer_id": customer, "password": PASSWORD})
    assert r.status_code == 303
    r_ = shop.extensions["redis"]
    record = r_.hgetall(key(VISITOR, planted_id))
    assert "retired" in record and "provisional" not in record
    assert r_.ttl(key(VISITOR, planted_id)) > MAX_AGE - 60
