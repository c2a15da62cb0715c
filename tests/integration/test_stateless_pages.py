"""Pages of visitors with no state of their own, built once per worker and context
(storefront/page_memo.py), on both test stores: a memo page is the visitor's fresh build byte
for byte (their own CSRF token, the clock), visitors in one context share one build and
different contexts never do, and a visitor with any state of their own never gets one."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import delete

from storefront import db, page_memo
from storefront.experiments import store as experiments
from storefront.redis_client import EXPOSURE, visitor_keys
from storefront.visitor import read_visitor_id
from tests.helpers import slots
from tests.integration.rules_support import publish, wiped_rules

DESKTOP = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0"
PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"
TOKEN = re.compile(r'(name="csrf_token" type="hidden" value=")([^"]+)(")')
CLOCK = re.compile(r"<!--clock-->.*?<!--/clock-->")


def memo(response) -> bool:
    return "page-memo" in response.headers.get("Server-Timing", "")


def warm(response) -> bool:
    timing = response.headers.get("Server-Timing", "")
    return "page-memo" in timing or "page-hit" in timing


def normalised(response) -> str:
    return CLOCK.sub("", TOKEN.sub(r"\1TOKEN\3", response.get_data(as_text=True)))


def token_of(response) -> str | None:
    m = TOKEN.search(response.get_data(as_text=True))
    return m.group(2) if m else None


def visitor(app, arrival: dict | None = None):
    """A visitor with a cookie and nothing else (the basket page shapes no state); `arrival`:
    the request headers of their visit's first page (its Referer gives the visit's channel)."""
    c = app.test_client()
    assert c.get("/cart", headers=arrival or {}).status_code == 200
    return c


def visitor_id(app, client) -> str:
    with app.app_context():
        return read_visitor_id(client.get_cookie("sid").value)


def viewed(client, event_id: str, product_id: str) -> None:
    """The visitor's browser sends a view of `product_id` (state of their own)."""
    event = {"id": event_id, "type": "view", "product_id": product_id, "ts": 1733400000000}
    assert client.post("/events", json={"events": [event]}).status_code == 202


def noted_with_a_view(shop, event_id: str):
    """A visitor with a view (state of their own), their home page read and noted by this
    worker: their next home page is served from the note. (client, headers, product ids)"""
    h = headers()
    c = visitor(shop)
    products = list(shop.extensions["models"].get().catalog.products)
    viewed(c, event_id, products[0])
    c.get("/", headers=h)
    assert "noted" in c.get("/", headers=h).headers["Server-Timing"]
    return c, h, products


def headers(country="GB", ua=DESKTOP, **more) -> dict:
    return {"CF-IPCountry": country, "User-Agent": ua, **more}


def paths(app) -> list[str]:
    catalog = app.extensions["models"].get().catalog
    product = next(iter(catalog.products.values()))
    category = next(iter(catalog.by_category))
    word = re.findall(r"[A-Za-z]{4,}", product.title)[0].lower()
    return ["/", f"/c/{category}", f"/p/{product.id}", f"/search?q={word}"]


def shared_and_fresh(app, path: str, builder: dict, sharer: dict) -> tuple:
    """A new visitor (arriving with `builder`'s headers) builds the page; another (with
    `sharer`'s) is served it from the memo, and then, the memo cleared, gets their own fresh
    build of it, which must be the memo page (token and clock aside). The three responses."""
    first = visitor(app, builder).get(path, headers=builder)
    assert first.status_code == 200 and not warm(first), path
    b = visitor(app, sharer)
    shared = b.get(path, headers=sharer)
    assert memo(shared), (path, sharer)
    page_memo.memo_of(app).clear()
    fresh = b.get(path, headers=sharer)  # the same visitor, built for them
    assert not warm(fresh)
    assert normalised(shared) == normalised(fresh), (path, sharer)
    return first, shared, fresh


@pytest.fixture
def shop(either_store):
    page_memo.memo_of(either_store).clear()
    return either_store


@pytest.fixture
def shop_rules(shop):
    """No rules in this store's own database around the test (the grocery store's is its own)."""
    yield from wiped_rules(shop)


def test_a_memo_page_is_the_visitors_fresh_build(shop):
    for path in paths(shop):
        for country in ("GB", "DE"):
            for ua in (DESKTOP, PHONE):
                h = headers(country, ua)
                first, shared, fresh = shared_and_fresh(shop, path, h, h)
                for name in ("X-Model-Version", "X-Rules-Version", "Cache-Control", "Vary"):
                    assert shared.headers[name] == fresh.headers[name]
                if "/p/" in path:  # the basket form's token: theirs, each time
                    assert token_of(shared) and token_of(shared) != token_of(first)
                    # the same cookies as a build sets: the Flask session holding the secret
                    assert {c.split("=")[0] for c in shared.headers.getlist("Set-Cookie")} == {
                        c.split("=")[0] for c in first.headers.getlist("Set-Cookie")
                    }
                else:
                    assert token_of(shared) is None


def test_the_token_in_a_memo_page_is_the_visitors_own_and_adds_to_the_basket(shop_env):
    from tests.helpers import shop_app

    for app in shop_app(shop_env["home"], shop_env["database_url"], shop_env["redis_url"]):
        app.config["WTF_CSRF_ENABLED"] = True
        pid = next(iter(app.extensions["models"].get().catalog.products))
        a, b = visitor(app), visitor(app)
        built = a.get(f"/p/{pid}", headers=headers())
        shared = b.get(f"/p/{pid}", headers=headers())
        assert not warm(built) and memo(shared)
        again = b.get(f"/p/{pid}", headers=headers())  # the token kept for b's cookie
        assert memo(again) and "Set-Cookie" not in again.headers
        mine, theirs = token_of(again), token_of(built)
        # a's token is not b's: b's page carries b's own
        assert b.post("/cart", data={"product_id": pid, "csrf_token": theirs}).status_code == 400
        r = b.post("/cart", data={"product_id": pid, "quantity": 2, "csrf_token": mine})
        assert r.status_code == 303
        assert "Basket (2)" in b.get("/cart").get_data(as_text=True)
        after = b.get(f"/p/{pid}", headers=headers())  # b has a basket now: their own page
        assert not memo(after) and "Basket (2)" in after.get_data(as_text=True)


# other browsers and versions on one kind of device and system (desktop, linux) as DESKTOP
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0"
CHROME_NEXT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/121.0.6167.85"
)
GOOGLE = "https://www.google.com/search?q=gifts"


def test_browser_versions_and_referrers_on_one_host_share_a_page(shop):
    """The User-Agent and the Referer shape a page only through the stamp's device, system and
    channel: visitors whose browsers differ but not their device or system, and who came from
    the same referring host, are served one build, equal to each one's own fresh build."""
    base = headers(Referer=GOOGLE)
    for path in paths(shop):
        for ua, referrer in (
            (FIREFOX, "https://www.google.com/url?q=other"),
            (CHROME_NEXT, "https://www.google.com/"),
        ):
            page_memo.memo_of(shop).clear()
            shared_and_fresh(shop, path, base, headers(ua=ua, Referer=referrer))
    # a visit that came from another host, or from none, has another channel: another build
    page_memo.memo_of(shop).clear()
    assert not warm(visitor(shop, base).get("/", headers=base))
    for other in (headers(Referer="https://www.bing.com/search?q=gifts"), headers()):
        assert not warm(visitor(shop, other).get("/", headers=other)), other
        assert memo(visitor(shop, other).get("/", headers=other)), other


def test_one_build_per_context_and_none_shared_across_contexts(shop, shop_rules):
    def shared(h: dict, path: str = "/") -> bool:
        """A new visitor builds the page; the next in the same context is served it."""
        first = visitor(shop).get(path, headers=h)
        second = visitor(shop).get(path, headers=h)
        assert not warm(first) and memo(second), h
        return True

    base = headers()
    assert shared(base)
    before = len(page_memo.memo_of(shop))
    for h in (
        headers(country="DE"),
        headers(ua=PHONE),
        headers(**{"Sec-GPC": "1"}),  # consent
        headers(**{"X-QA-Time": "2011-12-05T19:30"}),  # another hour
        headers(**{"X-QA-Time": "2011-12-05T20:30"}),
    ):
        assert shared(h)
    assert len(page_memo.memo_of(shop)) == before + 5
    # a cookie-less request is served the context's page (and leaves nothing in Redis)
    assert memo(shop.test_client().get("/", headers=base))
    # a publish: another rules version, another entry
    rule = {"name": "Hide trending", "when": {"page": "home"}, "then": {"remove": ["trending"]}}
    publish(shop, [rule])
    assert shared(base)


def test_other_model_version_or_arms_another_key(shop):
    from storefront.core.dependencies import page_stamp

    with shop.test_request_context("/", headers=headers()):
        from flask import g

        from storefront.shop.views import _context

        g._get_current_object().__dict__.pop("visitor_id", None)
        _context()
        ctx = g.context
        assert page_memo.shareable(ctx, "home", False)
        keys = {
            page_memo.memo_key(ctx, page_stamp(ctx, m, r), False)
            for m, r in (("m1", "r1"), ("m2", "r1"), ("m1", "r2"))
        }
        assert len(keys) == 3 and None not in keys
        from dataclasses import replace

        from storefront.core.context import Assignment

        armed = replace(ctx, experiments=Assignment(False, (("e", "a"),)))
        other = replace(ctx, experiments=Assignment(False, (("e", "b"),)))
        assert page_memo.memo_key(armed, page_stamp(armed, "m1", "r1"), False) != (
            page_memo.memo_key(other, page_stamp(other, "m1", "r1"), False)
        )
        assert page_memo.memo_key(ctx, page_stamp(ctx, "m1", "r1"), True) is None  # a QA pin


def test_a_visitor_with_any_state_never_gets_a_memo_page(shop):
    from storefront.qa_snapshot import Pin, make_token

    h = headers()
    visitor(shop).get("/", headers=h)
    assert memo(visitor(shop).get("/", headers=h))  # the context's page is there
    catalog = shop.extensions["models"].get().catalog
    pid = next(iter(catalog.products))
    category = next(iter(catalog.by_category))

    def view(c):
        event = {"id": f"memo-view-{id(c)}", "type": "view", "product_id": pid}
        assert c.post("/events", json={"events": [event | {"ts": 1733400000000}]}).status_code
        return c

    def ledger(c):  # a tile seen: the shopper's exposure ledger is no longer empty
        event = {"id": f"memo-seen-{id(c)}", "type": "impression", "product_id": pid}
        answer = c.post("/events", json={"events": [event | {"ts": 1733400000000}]})
        assert answer.status_code == 202
        k = visitor_keys(visitor_id(shop, c), (EXPOSURE,))[0]
        assert shop.extensions["redis"].hget(k, pid)
        return c

    states = {
        "view": view,
        "cart": lambda c: c.post("/cart", data={"product_id": pid, "quantity": 1}),
        "signed in": lambda c: c.post(
            "/account", data={"customer_id": shop.extensions["models"].get().model.user_ids[1]}
        ),
        "ledger": ledger,
        "muted": lambda c: c.post("/me", data={"action": "mute", "value": category}),
    }
    for name, give in states.items():
        c = visitor(shop)
        # first stateless, so this worker reads their session alone next (views._context):
        # the state given after is seen all the same
        assert memo(c.get("/", headers=h)), name
        give(c)
        page = c.get("/", headers=h)
        assert page.status_code == 200 and not memo(page), name
        assert not memo(c.get("/", headers=h)), name
    from datetime import UTC, datetime

    pin = Pin(datetime(2011, 12, 5, 10, 0, tzinfo=UTC), seed="")  # a clock alone: a pin still
    pinned = make_token(shop.config["SECRET_KEY"], pin)
    qa = visitor(shop)
    assert not memo(qa.get("/", headers=h | {"X-Storefront-Snapshot": pinned}))
    assert not memo(qa.get("/", headers=h | {"X-Storefront-Snapshot": pinned}))
    # a stateless visitor's next page after their first view is their own
    c = visitor(shop)
    assert memo(c.get("/", headers=h))
    view(c)
    after = c.get("/", headers=h)
    assert not memo(after) and "because-you-viewed" in slots(after.get_data(as_text=True))
    # their own page, kept for them and read with their session again: warm
    assert "page-hit" in c.get("/", headers=h).headers.get("Server-Timing", "")


def test_no_per_visitor_copy_for_a_stateless_page_but_its_fragments(shop):
    r = shop.extensions["cache"]
    c = visitor(shop)
    c.get("/c/" + next(iter(shop.extensions["models"].get().catalog.by_category)))
    tag = "{v:" + visitor_id(shop, c) + "}"

    def copies() -> list:
        return [k for k in r.scan_iter("sf:page:*") if tag in k]

    assert not copies() and list(r.scan_iter("sf:frag:*"))
    pid = next(iter(shop.extensions["models"].get().catalog.products))
    event = {"id": "memo-copy-view", "type": "view", "product_id": pid, "ts": 1733400000000}
    c.post("/events", json={"events": [event]})
    c.get("/")  # a page of their own now: kept for them, as ever
    assert copies()


def test_a_targeted_experiment_on_the_page_is_never_served_from_the_memo(shop):
    engine = shop.extensions["db"]
    with engine.begin() as conn:
        conn.execute(delete(db.experiments))
    spec = experiments.ExperimentSpec(
        id="memo-phones",
        name="Trending for phones",
        kind="strategy",
        page="home",
        slot="for-you",
        metric="ctr",
        conditions={"device": "mobile"},
        # every visitor in one arm (arms are in the page stamp: two arms, two pages)
        arms=[
            {"name": "control", "share": 0.000001, "value": "for_you"},
            {"name": "trending", "share": 0.999999, "value": "trending_near_you"},
        ],
    )
    exp = experiments.start(engine, experiments.create(engine, spec).id)
    try:
        shop.extensions["experiments"].holder.versioned.reload(force=True)
        h = headers(ua=PHONE)
        for _ in range(3):
            assert not memo(visitor(shop).get("/", headers=h))
        # another page, not targeted: shared as ever
        path = paths(shop)[1]
        visitor(shop).get(path, headers=h)
        assert memo(visitor(shop).get(path, headers=h))
    finally:
        with engine.begin() as conn:
            conn.execute(delete(db.experiments).where(db.experiments.c.id == exp.id))
        shop.extensions["experiments"].holder.versioned.reload(force=True)


def test_a_stateless_visitors_next_pages_come_from_the_worker_s_note(shop):
    """A visitor seen stateless is served from this worker's note of their session (no session
    read) until their browser's state changes: the event's answer gives it a new state mark,
    and the next page reads their session again and shows what they viewed."""
    h = headers()
    c = visitor(shop)
    first = c.get("/", headers=h)  # read, and noted
    assert "noted" not in first.headers["Server-Timing"]
    again = c.get("/", headers=h)
    assert memo(again) and "noted" in again.headers["Server-Timing"]
    pid = next(iter(shop.extensions["models"].get().catalog.products))
    event = {"id": "note-view-0001", "type": "view", "product_id": pid, "ts": 1733400000000}
    answer = c.post("/events", json={"events": [event]})
    assert answer.status_code == 202
    assert any(
        v.startswith(f"{page_memo.STATE_COOKIE}=") for v in answer.headers.getlist("Set-Cookie")
    )
    after = c.get("/", headers=h)
    timing = after.headers["Server-Timing"]
    assert after.status_code == 200 and "noted" not in timing and not memo(after)
    assert shop.extensions["sessions"].read(visitor_id(shop, c)).views == (pid,)


def test_what_another_system_writes_reaches_the_page_when_the_note_runs_out(shop, monkeypatch):
    """State that does not come from the visitor's browser (the JSON API's events for a stated
    visitor, written here by the session store as it records them) gives the browser no new
    mark: the note serves their pages until it runs out (page_memo_note_seconds), then the
    session is read again."""
    import time

    settings = shop.config["SETTINGS"]
    monkeypatch.setitem(
        shop.config, "SETTINGS", settings.model_copy(update={"page_memo_note_seconds": 1})
    )
    h = headers()
    c = visitor(shop)
    c.get("/", headers=h)
    assert "noted" in c.get("/", headers=h).headers["Server-Timing"]
    sessions = shop.extensions["sessions"]
    pid = next(iter(shop.extensions["models"].get().catalog.products))
    pipe = sessions.r.pipeline(transaction=True)
    sessions.record(pipe, visitor_id(shop, c), "view", pid)
    sessions.bump(pipe, visitor_id(shop, c))
    sessions.commit(pipe)
    time.sleep(1.1)
    page = c.get("/", headers=h)
    assert "noted" not in page.headers["Server-Timing"] and not memo(page)


def test_a_new_visit_gives_the_browser_a_new_state_mark(shop):
    """A page that begins a new visit (a campaign link) answers with a new state mark, so that
    another worker's note, made during the old visit, does not serve the new one."""
    h = headers()
    c = visitor(shop)
    c.get("/", headers=h)
    tagged = c.get("/?utm_source=news&utm_medium=email&utm_campaign=winter", headers=h)
    assert tagged.status_code == 200
    marks = [v for v in tagged.headers.getlist("Set-Cookie") if v.startswith("sf_state=")]
    assert len(marks) == 1 and "HttpOnly" not in marks[0]
    inside = c.get("/", headers=h)  # the same visit, its mark sent back: from the note
    assert "noted" in inside.headers["Server-Timing"]


def test_a_visitor_with_a_history_reads_their_page_alone_while_their_state_is_unchanged(
    shop, monkeypatch
):
    """A visitor with state of their own (a view) is noted too: their next pages read their
    page copy alone, keyed by the noted session (no session read), and are the pages a read
    of their session gives. A basket change from their browser gives it a new mark: the next
    page reads the session again and shows the basket."""
    h = headers()
    c = visitor(shop)
    catalog = shop.extensions["models"].get().catalog
    pid = next(iter(catalog.products))
    viewed(c, "stated-view-0001", pid)
    first = c.get("/", headers=h)  # read, and noted
    assert not memo(first) and "noted" not in first.headers["Server-Timing"]
    again = c.get("/", headers=h)
    timing = again.headers["Server-Timing"]
    assert "noted" in timing and "page-hit" in timing
    assert normalised(again) == normalised(first)
    assert "because-you-viewed" in slots(again.get_data(as_text=True))
    # another page of theirs, built from the note: the page a read of their session builds
    path = paths(shop)[1]
    built = c.get(path, headers=h)
    assert "noted" in built.headers["Server-Timing"] and not warm(built)
    settings = shop.config["SETTINGS"]
    monkeypatch.setitem(
        shop.config, "SETTINGS", settings.model_copy(update={"page_memo_note_seconds": 0})
    )
    read = c.get(path, headers=h)
    # the session read gives the stamp the note gave (everything the page depends on): the
    # copy built from the note is their page
    assert (
        "noted" not in read.headers["Server-Timing"] and "page-hit" in read.headers["Server-Timing"]
    )
    assert normalised(read) == normalised(built)
    monkeypatch.setitem(shop.config, "SETTINGS", settings)
    c.get("/", headers=h)  # read, and noted again
    assert "noted" in c.get("/", headers=h).headers["Server-Timing"]
    other = next(p for p in catalog.products if p != pid)
    answer = c.post("/cart", data={"product_id": other, "quantity": 2})
    assert answer.status_code == 303
    assert any(v.startswith("sf_state=") for v in answer.headers.getlist("Set-Cookie"))
    after = c.get("/", headers=h)
    assert "noted" not in after.headers["Server-Timing"]
    assert "Basket (2)" in after.get_data(as_text=True)
    assert "noted" in c.get("/", headers=h).headers["Server-Timing"]  # noted with the basket
    assert "Basket (2)" in c.get("/", headers=h).get_data(as_text=True)


def test_what_another_system_writes_reaches_a_stated_visitors_page_when_the_note_runs_out(
    shop, monkeypatch
):
    """The same for a visitor with state of their own: a view recorded by another system
    (no new mark in their browser) shows on their page once the note runs out."""
    import time

    settings = shop.config["SETTINGS"]
    monkeypatch.setitem(
        shop.config, "SETTINGS", settings.model_copy(update={"page_memo_note_seconds": 1})
    )
    c, h, products = noted_with_a_view(shop, "stated-view-0002")
    sessions = shop.extensions["sessions"]
    vid = visitor_id(shop, c)
    pipe = sessions.r.pipeline(transaction=True)
    sessions.record(pipe, vid, "view", products[1])
    sessions.bump(pipe, vid)
    sessions.commit(pipe)
    page = c.get("/", headers=h)  # within the note: as noted
    assert "noted" in page.headers["Server-Timing"]
    time.sleep(1.1)
    page = c.get("/", headers=h)
    assert "noted" not in page.headers["Server-Timing"]
    assert sessions.read(vid).views[:2] == (products[1], products[0])


def test_an_api_callers_event_for_a_visitor_drops_this_worker_s_note_of_them(shop):
    """An event an API caller records for a stated visitor gives that visitor's browser no new
    mark; the worker that records it drops its own note of them at once, so the page they ask
    this worker for next reads their session (other workers' notes run out)."""
    from storefront.api import keys

    c, h, products = noted_with_a_view(shop, "stated-view-0003")
    token = keys.create(shop.extensions["db"], "mailer")
    vid = visitor_id(shop, c)
    mailer = shop.test_client()
    click = {"id": "stated-click-0003", "type": "click", "product_id": products[1]}
    answer = mailer.post(
        f"/events?visitor={vid}",
        json={"events": [click | {"ts": 1733400000000}]},
        headers={"X-Api-Key": token},
    )
    assert answer.status_code == 202 and answer.get_json()["recorded"] == 1
    page = c.get("/", headers=h)
    assert "noted" not in page.headers["Server-Timing"]
    assert shop.extensions["sessions"].read(vid).views[:2] == (products[1], products[0])
