"""Customers sign in with a password or a signed identity token; the customer number alone is
a demo feature (STOREFRONT_DEMO_SIGNIN). Real app, real SQL and Redis, the real command."""

from __future__ import annotations

import hmac
import itertools
import os
import subprocess
import sys
import time
import uuid

import pytest
from sqlalchemy import select

from storefront import db, signin_token

SECRET = "test-identity-secret-" + "x" * 24
PASSWORD = "correct horse battery"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_addresses = itertools.count(1)


@pytest.fixture
def shop(shop_env):
    from storefront import create_app

    application = create_app(
        {
            "home": shop_env["home"],
            "database_url": shop_env["database_url"],
            "redis_url": shop_env["redis_url"],
            "testing": True,
            "identity_secret": SECRET,
        }
    )
    application.config["WTF_CSRF_ENABLED"] = False
    yield application
    application.extensions["db"].dispose()
    application.extensions["redis"].close()


def browser(app):
    """A test client from an address of its own, so rate limits of one test never meet
    another's."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = f"10.9.{os.getpid() % 250}.{next(_addresses)}"
    return client


def cli(shop_env, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "STOREFRONT_HOME": str(shop_env["home"]),
        "STOREFRONT_DATABASE_URL": shop_env["database_url"],
        "STOREFRONT_REDIS_URL": shop_env["redis_url"],
    }
    return subprocess.run(
        [sys.executable, "-m", "storefront.cli", *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def a_customer(app, n: int = 0) -> str:
    with app.extensions["db"].connect() as conn:
        ids = conn.execute(select(db.customers.c.id).order_by(db.customers.c.id)).scalars().all()
    return ids[n]


def with_password(shop_env, app, n: int) -> str:
    customer = a_customer(app, n)
    done = cli(shop_env, "customers", "set-password", customer, "--password-stdin", stdin=PASSWORD)
    assert done.returncode == 0, done.stderr
    return customer


def signed_in_as(client) -> str | None:
    export = client.get("/me/export.json").get_json()
    customers = {
        v.get("customer") for state in export["state"].values() for v in [state["visitor"]]
    }
    customers.discard(None)
    assert len(customers) <= 1
    return customers.pop() if customers else None


def test_the_number_alone_is_refused_without_the_demo_flag(shop):
    client = browser(shop)
    r = client.post("/account", data={"customer_id": a_customer(shop)})
    assert r.status_code == 401
    assert signed_in_as(client) is None


def test_wrong_password_is_refused_the_right_one_works_spaces_around_the_number_too(shop_env, shop):
    customer = with_password(shop_env, shop, 1)
    client = browser(shop)
    wrong = client.post("/account", data={"customer_id": customer, "password": "not it at all"})
    assert wrong.status_code == 401 and b"Wrong customer number" in wrong.data
    assert signed_in_as(client) is None
    right = client.post("/account", data={"customer_id": f"  {customer} ", "password": PASSWORD})
    assert right.status_code == 303
    assert signed_in_as(client) == customer


def test_a_second_browser_cannot_read_the_first_ones_export(shop_env, shop):
    customer = with_password(shop_env, shop, 2)
    product = shop.extensions["models"].get().catalog.best_sellers(1)[0].id
    first = browser(shop)
    assert (
        first.post("/account", data={"customer_id": customer, "password": PASSWORD}).status_code
        == 303
    )
    first.post("/cart", data={"product_id": product, "quantity": 2})
    mine = first.get("/me/export.json").get_json()
    assert any(product in s["cart"] for s in mine["state"].values())

    second = browser(shop)
    for attempt in ({"customer_id": customer}, {"customer_id": customer, "password": "guess123"}):
        assert second.post("/account", data=attempt).status_code == 401
    theirs = second.get("/me/export.json").get_json()
    assert set(theirs["visitor_ids"]).isdisjoint(mine["visitor_ids"])
    assert not any(product in s["cart"] for s in theirs["state"].values())
    assert signed_in_as(second) is None


def test_a_signed_identity_header_signs_in_and_a_forged_or_expired_one_does_not(shop):
    customer = a_customer(shop, 3)
    header = signin_token.HEADER
    forged = signin_token.make("another secret entirely, 32 chars+", customer)
    expired = signin_token.make(SECRET, customer, 60, now=time.time() - 120)
    payload = f"v1.{customer}.{int(time.time()) + 86400}"  # genuine, but lives a day
    too_long = f"{payload}.{hmac.new(SECRET.encode(), payload.encode(), 'sha256').hexdigest()}"
    for bad in (forged, expired, too_long, "v1.x"):
        client = browser(shop)
        r = client.get("/account/sso", headers={header: bad})
        assert r.status_code == 401, bad
        assert signed_in_as(client) is None
    assert browser(shop).get("/account/sso").status_code == 400  # no header

    client = browser(shop)
    token = signin_token.make(SECRET, customer)
    assert client.get("/account/sso", headers={header: token}).status_code == 303
    assert signed_in_as(client) == customer
    replay = browser(shop)
    assert replay.get("/account/sso", headers={header: token}).status_code == 401
    assert signed_in_as(replay) is None


def test_with_the_demo_flag_the_number_alone_signs_in(client, app):
    customer = a_customer(app, 4)
    assert client.post("/account", data={"customer_id": f" {customer} "}).status_code == 303
    assert signed_in_as(client) == customer


def test_switching_customers_on_one_browser_carries_nothing_over(client, app):
    first, second = a_customer(app, 7), a_customer(app, 8)
    product = app.extensions["models"].get().catalog.best_sellers(1)[0].id
    assert client.post("/account", data={"customer_id": first}).status_code == 303
    client.post("/cart", data={"product_id": product, "quantity": 1})
    assert client.post("/account", data={"customer_id": second}).status_code == 303
    export = client.get("/me/export.json").get_json()
    assert signed_in_as(client) == second
    assert not any(product in s["cart"] for s in export["state"].values())
    assert {i["customer_id"] for i in export["identities"]} == {second}


def test_failed_sign_ins_are_limited_per_account_and_per_address(shop_env, shop):
    customer = with_password(shop_env, shop, 5)
    guesser = browser(shop)
    for _ in range(5):
        r = guesser.post("/account", data={"customer_id": customer, "password": "wrong-guess"})
        assert r.status_code == 401
    # the account is locked for a while, from any address, even with the right password
    elsewhere = browser(shop)
    r = elsewhere.post("/account", data={"customer_id": customer, "password": PASSWORD})
    assert r.status_code == 429 and b"Too many failed sign-ins" in r.data
    assert signed_in_as(elsewhere) is None
    # one address guessing across many accounts is stopped too
    sprayer = browser(shop)
    statuses = [
        sprayer.post(
            "/account", data={"customer_id": f"nobody{uuid.uuid4().hex[:8]}", "password": "x" * 9}
        ).status_code
        for _ in range(21)
    ]
    assert statuses[:20] == [401] * 20 and statuses[20] == 429


def test_passwords_are_stored_hashed_and_a_bad_import_changes_nothing(shop_env, shop, tmp_path):
    engine = shop.extensions["db"]
    good = tmp_path / "accounts.csv"
    customer = a_customer(shop, 6)
    good.write_text(
        "customer_id,email,password\n"
        f" {customer} ,Someone@Example.com,{PASSWORD}\n"
        "new-customer-77,,another password\n"
    )
    done = cli(shop_env, "customers", "import", str(good))
    assert done.returncode == 0, done.stderr
    with engine.connect() as conn:
        stored = dict(
            conn.execute(
                select(db.customer_accounts.c.customer_id, db.customer_accounts.c.password_hash)
            ).all()
        )
    assert stored[customer].startswith("scrypt:") and PASSWORD not in stored[customer]
    by_email = browser(shop)
    r = by_email.post("/account", data={"customer_id": "someone@example.com", "password": PASSWORD})
    assert r.status_code == 303 and signed_in_as(by_email) == customer

    bad = tmp_path / "bad.csv"
    bad.write_text(
        "customer_id,password\n"
        f"{customer},a brand new password\n"
        "has spaces in it,long enough password\n"
    )
    refused = cli(shop_env, "customers", "import", str(bad))
    assert refused.returncode != 0 and "line 3" in refused.stderr
    assert "customer_id" in refused.stderr and "Traceback" not in refused.stderr
    with engine.connect() as conn:
        after = conn.execute(
            select(db.customer_accounts.c.password_hash).where(
                db.customer_accounts.c.customer_id == customer
            )
        ).scalar_one()
    assert after == stored[customer]
    unknown = cli(
        shop_env, "customers", "set-password", "no-such-9", "--password-stdin", stdin=PASSWORD
    )
    assert unknown.returncode != 0 and "no customer" in unknown.stderr
