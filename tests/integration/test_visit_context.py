"""Context that lasts the visit, on a real shop (real Redis, real database) of each test store:
the demo and the generated grocery store (tests/stores/grocery.py).

- the arrival channel and campaign hold for the visit: the second page of an email visit is
  still an email visit; after half an hour idle the next page takes the new arrival;
- new, returning and lapsed are right on the first and on later pages;
- a request without the cookie leaves nothing lasting;
- client hints are asked for (Accept-CH, Vary), read, and win over the User-Agent; the
  operating system is in the context and a rule condition.
"""

from __future__ import annotations

import re
import time
import uuid

import pytest
import redis

from storefront.core.ports import FixedClock
from storefront.redis_client import VISITOR, key
from storefront.session import PROVISIONAL_TTL
from tests.helpers import heading, products_in, shop_app, signal, slots, trained_grocery
from tests.integration.rules_support import publish, wipe

EMAIL_LINK = "/?utm_source=newsletter&utm_medium=email&utm_campaign=december"
SHOP = "http://localhost/"  # the test client's own host: an internal referrer
T0 = 1_765_000_000.0
ANDROID_REDUCED = (
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)
# building the two shops (import, train) takes minutes on a busy machine
pytestmark = pytest.mark.timeout(1200)
PHONE_HINTS = {
    "User-Agent": ANDROID_REDUCED,
    "Sec-CH-UA-Mobile": "?1",
    "Sec-CH-UA-Platform": '"Android"',
    "Sec-CH-UA-Model": '"Pixel 7"',
}


@pytest.fixture(scope="module")
def grocery_env(tmp_path_factory, embedded_redis_url) -> dict:
    """The grocery store: its catalog, its orders, a trained model."""
    out = tmp_path_factory.mktemp("grocery-visit")
    return trained_grocery(out, embedded_redis_url, customers=150, days=90)


@pytest.fixture(params=["demo", "grocery"])
def env(request, shop_env, grocery_env) -> dict:
    return shop_env if request.param == "demo" else grocery_env


@pytest.fixture
def app(env):
    yield from shop_app(env["home"], env["database_url"], env["redis_url"])


def _clock(app, at: float) -> FixedClock:
    clock = FixedClock(at)
    app.extensions["sessions"].clock = clock
    return clock


def _body(html: str, name: str) -> str:
    m = re.search(rf'<body[^>]* data-{name}="([^"]*)"', html)
    return m.group(1) if m else ""


def _some_category(app) -> str:
    return next(iter(app.extensions["models"].get().catalog.by_category))


def _visitor(app, client) -> dict[str, str]:
    r = redis.Redis.from_url(app.config["SETTINGS"].redis_url, decode_responses=True)
    sid = client.get_cookie("sid").value.rsplit(".", 1)[0]
    return r.hgetall(key(VISITOR, sid)), r.ttl(key(VISITOR, sid))


def test_the_second_page_of_an_email_visit_is_still_an_email_visit(app):
    clock = _clock(app, T0)
    client = app.test_client()
    first = client.get(EMAIL_LINK).get_data(as_text=True)
    assert _body(first, "channel") == "email"
    assert _body(first, "campaign") == "december"
    assert signal(first, "session").startswith("new visitor")
    clock.at += 90
    second = client.get(f"/c/{_some_category(app)}", headers={"Referer": SHOP + EMAIL_LINK})
    html = second.get_data(as_text=True)
    assert second.status_code == 200
    assert _body(html, "channel") == "email"  # the referrer is the shop: still the email visit
    assert signal(html, "channel") == "email (newsletter) · december"
    assert signal(html, "session").startswith("new visitor")  # new for the whole first visit
    clock.at += 600
    third = client.get("/", headers={"Referer": SHOP}).get_data(as_text=True)
    assert _body(third, "channel") == "email" and _body(third, "recency") == "new"
    facts, ttl = _visitor(app, client)
    assert facts["v:kind"] == "email" and facts["v:campaign"] == "december"
    assert 0 < ttl <= app.config["SETTINGS"].session_ttl


def test_signing_in_keeps_the_visit(app):
    """An email visit in which the shopper signs in as a customer: the pages after it are still
    the email visit (the visit moves to the customer's id with the rest of the session)."""
    _clock(app, T0)
    client = app.test_client()
    client.get(EMAIL_LINK)
    client.get("/", headers={"Referer": SHOP})
    customer = app.extensions["models"].get().model.user_ids[0]
    signed = client.post("/account", data={"customer_id": str(customer)}, headers={"Referer": SHOP})
    assert signed.status_code in (302, 303), signed.get_data(as_text=True)[:300]
    html = client.get("/", headers={"Referer": SHOP}).get_data(as_text=True)
    assert _body(html, "channel") == "email" and _body(html, "campaign") == "december"


def test_after_half_an_hour_idle_the_next_page_takes_the_new_arrival(app):
    clock = _clock(app, T0)
    client = app.test_client()
    client.get(EMAIL_LINK)
    client.get("/", headers={"Referer": SHOP})  # the cookie's first page: the record is kept
    clock.at += app.config["SETTINGS"].visit_idle + 60
    html = client.get("/", headers={"Referer": "https://www.google.com/"}).get_data(as_text=True)
    assert _body(html, "channel") == "search"
    assert _body(html, "recency") == "returning"  # a second visit
    clock.at += 60
    html = client.get(f"/c/{_some_category(app)}", headers={"Referer": SHOP}).get_data(as_text=True)
    assert _body(html, "channel") == "search" and _body(html, "recency") == "returning"
    # another campaign's link within the visit starts a new visit with that campaign
    clock.at += 60
    social = "/?utm_source=pinterest&utm_medium=social&utm_campaign=spring"
    html = client.get(social).get_data(as_text=True)
    assert _body(html, "channel") == "social" and _body(html, "campaign") == "spring"


def test_returning_and_lapsed_are_right_on_the_first_and_later_pages(app):
    clock = _clock(app, T0)
    client = app.test_client()
    client.get("/")
    client.get("/", headers={"Referer": SHOP})
    clock.at += 3 * 86400  # back three days later: returning, from the first page on
    for page in ("/", f"/c/{_some_category(app)}"):
        html = client.get(page, headers={"Referer": SHOP}).get_data(as_text=True)
        assert _body(html, "recency") == "returning", page
        clock.at += 60
    clock.at += (app.config["SETTINGS"].lapsed_days + 1) * 86400  # then away for a month
    for page in ("/", f"/c/{_some_category(app)}", "/"):
        html = client.get(page, headers={"Referer": SHOP}).get_data(as_text=True)
        assert _body(html, "recency") == "lapsed", page
        clock.at += 120


def test_a_request_without_the_cookie_leaves_nothing_lasting(app):
    _clock(app, T0)
    client = app.test_client(use_cookies=False)
    r = redis.Redis.from_url(app.config["SETTINGS"].redis_url, decode_responses=True)
    response = client.get(EMAIL_LINK)
    sid = re.search(r"\bsid=([^;.]+)", response.headers["Set-Cookie"]).group(1)
    facts = r.hgetall(key(VISITOR, sid))
    assert facts.get("provisional") == "1" and facts["v:kind"] == "email"
    assert 0 < r.ttl(key(VISITOR, sid)) <= PROVISIONAL_TTL
    assert not [k for k in r.scan_iter(f"*{sid}*") if r.ttl(k) == -1 or r.ttl(k) > PROVISIONAL_TTL]


def test_client_hints_are_asked_for_read_and_win_and_the_os_is_a_rule_fact(app):
    client = app.test_client()
    plain = client.get("/", headers={"User-Agent": ANDROID_REDUCED})
    assert plain.headers["Accept-CH"] == "Sec-CH-UA-Mobile, Sec-CH-UA-Platform, Sec-CH-UA-Model"
    for hint in ("Sec-CH-UA-Mobile", "Sec-CH-UA-Platform", "Sec-CH-UA-Model", "User-Agent"):
        assert hint in plain.headers["Vary"]
    html = plain.get_data(as_text=True)
    assert _body(html, "device") == "tablet"  # Android without "Mobile": the UA's best guess
    html = client.get("/", headers=PHONE_HINTS).get_data(as_text=True)
    assert _body(html, "device") == "mobile" and _body(html, "os") == "android"
    assert signal(html, "os") == "Android"

    engine = app.extensions["db"]
    wipe(engine)
    try:
        publish(
            app,
            [
                {
                    "name": "Android app banner",
                    "when": {"os": "android"},
                    "then": {"remove": ["trending"]},
                }
            ],
        )
        on_android = client.get("/", headers=PHONE_HINTS).get_data(as_text=True)
        desktop_hints = {**PHONE_HINTS, "Sec-CH-UA-Mobile": "?0", "Sec-CH-UA-Platform": '"Windows"'}
        on_windows = client.get("/", headers=desktop_hints).get_data(as_text=True)
        assert _body(on_windows, "os") == "windows"
        assert "trending" not in slots(on_android)
        assert "trending" in slots(on_windows)
    finally:
        wipe(engine)
        app.extensions["rules"].reload()


def test_trending_follows_live_events_without_retraining(env):
    """A thin live window: the trained list, titled without a time of day. Shoppers in France
    then buy four products; at the next refresh the rail leads with them, heaviest first,
    titled for this part of the day, each saying it is live. No training ran in between."""
    gen = shop_app(env["home"], env["database_url"], env["redis_url"], trending_refresh=1)
    app = next(gen)
    try:
        r = redis.Redis.from_url(env["redis_url"], decode_responses=True)
        for k in r.scan_iter("sf:trend:*"):  # this test's store only (the server is shared)
            r.delete(k)
        model_version = app.extensions["models"].get().model_version
        france = {"X-Country-Code": "FR"}
        client = app.test_client()
        before = client.get("/", headers=france).get_data(as_text=True)
        assert heading(before, "trending") == "Popular in France"
        catalog = app.extensions["models"].get().catalog
        on_page = set(re.findall(r'data-product-id="([^"]+)"', before))
        chosen = [p for p in catalog.products if p not in on_page][:4]
        now_ms = int(time.time() * 1000)
        events = [
            {"id": uuid.uuid4().hex, "type": "purchase", "product_id": pid, "ts": now_ms}
            for i, pid in enumerate(chosen)
            for _ in range(5 - i)
        ]
        posted = client.post("/events", json={"events": events}, headers=france)
        assert posted.status_code == 202, posted.get_data(as_text=True)
        keys = list(r.scan_iter("sf:trend:*"))
        assert {k.split(":")[2] for k in keys} == {"FR", "*"}
        days = app.config["SETTINGS"].trending_live_days
        assert all(0 < r.ttl(k) <= (days + 1) * 86400 for k in keys)
        time.sleep(1.1)  # the next refresh
        after = client.get("/", headers=france).get_data(as_text=True)
        daypart = re.search(r'data-daypart="([^"]+)"', after).group(1)
        when = {"night": "tonight"}.get(daypart, f"this {daypart}")
        assert heading(after, "trending") == f"Trending in France {when}"
        assert products_in(after, "trending")[:4] == chosen
        assert "Trending now: viewed, added and bought by shoppers in France" in after
        # elsewhere the window of France is not theirs: Germany keeps the trained list
        germany = client.get("/", headers={"X-Country-Code": "DE"}).get_data(as_text=True)
        assert heading(germany, "trending") == "Popular in Germany"
        assert app.extensions["models"].get().model_version == model_version  # no retraining
    finally:
        gen.close()
