"""Pages built per request against a real database and a real Redis (both backends when present)."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from storefront import db
from tests.helpers import heading, products_in, signal, slots

MOBILE_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1"
)
DESKTOP_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)


def test_two_contexts_get_different_pages(client):
    de = client.get(
        "/?qa_country=DE&qa_time=2011-12-05T19:30", headers={"User-Agent": MOBILE_UA}
    ).get_data(as_text=True)
    client.cookie_jar.clear() if hasattr(client, "cookie_jar") else None
    gb = client.get(
        "/?qa_country=GB&qa_time=2011-12-05T08:30", headers={"User-Agent": DESKTOP_UA}
    ).get_data(as_text=True)
    assert 'class="compact' in de and 'class="full' in gb
    assert "Germany" in signal(de, "location") and "United Kingdom" in signal(gb, "location")
    assert signal(de, "daypart") == "evening" and signal(gb, "daypart") == "morning"
    assert signal(de, "device") == "mobile" and signal(gb, "device") == "desktop"
    # no live traffic in December 2011: the trained lists, titled without a time of day
    assert heading(de, "trending") == "Popular in Germany"
    assert heading(gb, "trending") == "Popular in United Kingdom"
    # what sells in Germany is not what sells in the UK
    assert (
        products_in(de, "trending")
        != products_in(gb, "trending")[: len(products_in(de, "trending"))]
    )
    # phones: fewer slots, shorter rails
    assert "new-arrivals" in slots(gb) and "new-arrivals" not in slots(de)
    assert len(products_in(de, "trending")) == 4 and len(products_in(gb, "trending")) == 8
    # December in the UK: Christmas is coming
    assert "Christmas" in heading(gb, "seasonal")


def test_unknown_visitor_gets_a_full_page(client):
    r = client.get("/")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert {"for-you", "trending", "seasonal"} <= set(slots(html))
    assert all(len(products_in(html, s)) > 0 for s in slots(html))
    assert "sid=" in r.headers["Set-Cookie"] and "HttpOnly" in r.headers["Set-Cookie"]
    assert {p.split(";")[0] for p in r.headers["Server-Timing"].split(", ")} >= {
        "context",
        "cache",
        "recs",
        "render",
    }
    assert 'data-strategy="for_you"' in html and "Why this?" in html


def test_tile_links_are_what_url_for_builds(client, app):
    """Tiles build their links from url_for's, kept per app and script root (storefront/links.py
    product_links), and the pages' fixed links are memoised (link); each must still be
    exactly url_for's, quoting and the script root included, and lead where it says."""
    import re

    from flask import url_for

    from storefront.links import link, product_links

    html = client.get("/").get_data(as_text=True)
    tiles = re.findall(
        r'data-product-id="([^"]+)">\s*<a class="tile-link" href="([^"]+)">'
        r'\s*<img src="([^"]+)"',
        html,
    )
    assert len(tiles) >= 10
    with app.test_request_context("/"):
        for pid in [t[0] for t in tiles[:5]] + ["a b/ü?#", "85123A"]:
            assert product_links(pid) == (
                url_for("shop.product", product_id=pid),
                url_for("shop.product_image", product_id=pid),
            )
    pid, href, img = tiles[0]
    assert href == f"/p/{pid}" and img == f"/img/p/{pid}.svg"
    assert client.get(href).status_code == 200 and client.get(img).status_code == 200
    for root in ("", "/shop"):  # mounted under a prefix, the memo must not answer for "/"
        with app.test_request_context("/", base_url=f"http://localhost{root}"):
            for endpoint, values in [
                ("shop.home", {}),
                ("shop.category", {"slug": "kitchen-dining", "page": 2}),
                ("static", {"filename": "css/shop.css"}),
            ]:
                assert link(endpoint, **values) == url_for(endpoint, **values)
                assert link(endpoint, **values).startswith(root + "/")
            assert product_links("85123A")[0] == f"{root}/p/85123A"
    nav = re.findall(r'<nav class="categories".*?</nav>', html, re.S)[0]
    for slug in re.findall(r'href="/c/([a-z-]+)"', nav)[:3]:
        assert client.get(f"/c/{slug}").status_code == 200


def _view(client, pid: str, n: int) -> int:
    return client.post(
        "/events",
        json={
            "events": [
                {
                    "id": f"test-view-{pid}-{n}",
                    "type": "view",
                    "product_id": pid,
                    "slot": "product",
                    "ts": 1733400000000,
                }
            ]
        },
    ).status_code


def test_a_view_changes_the_next_page(client, app):
    first = client.get("/").get_data(as_text=True)
    assert "because-you-viewed" not in slots(first)
    before = products_in(first, "for-you")
    pid = products_in(first, "trending")[0]
    assert _view(client, pid, 1) == 202
    nxt = client.get("/").get_data(as_text=True)
    assert "because-you-viewed" in slots(nxt)
    title = app.extensions["models"].get().catalog.get(pid).display_title
    assert title in heading(nxt, "because-you-viewed")
    assert pid not in products_in(nxt, "because-you-viewed")
    assert f"Because you viewed {title}" in nxt
    after = products_in(nxt, "for-you")
    assert after and after != before  # recomputed from the session, not yesterday's model
    assert "from what you looked at today" in nxt


def test_signed_in_customer_gets_their_history(client, app):
    model = app.extensions["models"].get().model
    customer = model.user_ids[0]
    r = client.post("/account", data={"customer_id": customer})
    assert r.status_code == 303
    html = client.get("/").get_data(as_text=True)
    assert "from your past orders" in html and f"Customer {customer}" in html
    assert client.post("/account", data={"customer_id": "99999999"}).status_code == 401


def test_fragments_are_cached_with_a_ttl(client, app):
    client.get("/?qa_country=FR")
    r = app.extensions["redis"]
    keys = list(r.scan_iter("sf:*", count=1000))
    assert any(k.startswith("sf:frag:trending:") for k in keys)
    # every key has a TTL, except the live event stream, which is bounded by its MAXLEN
    # (-1: no expiry; a key that expired since the scan answers -2, or 0 in its last moments)
    unbounded = [k for k in keys if r.ttl(k) == -1 and k != "sf:stream:events"]
    assert not unbounded, unbounded
    # a second identical page is served from cache: no strategy time at all
    again = client.get("/?qa_country=FR")
    timing = dict(p.split(";dur=") for p in again.headers["Server-Timing"].split(", "))
    assert "recs" not in timing


def test_other_page_types(client, app):
    snap = app.extensions["models"].get()
    pid = next(iter(snap.catalog.products))
    product = client.get(f"/p/{pid}")
    assert product.status_code == 200 and f'data-product-id="{pid}"' in product.get_data(True)
    assert "similar" in slots(product.get_data(as_text=True))
    cat = snap.catalog.categories[0].slug
    listing = client.get(f"/c/{cat}").get_data(as_text=True)
    assert len(products_in(listing, "listing")) == min(24, len(snap.catalog.by_category[cat]))
    results = client.get("/search?q=heart").get_data(as_text=True)
    titles = [snap.catalog.get(p).title for p in products_in(results, "results")]
    assert titles and all("HEART" in t.upper() for t in titles[:5])
    assert client.get("/cart").status_code == 200
    assert client.get("/p/NOPE").status_code == 404
    assert client.get("/c/nope").status_code == 404
    assert client.get("/search?q=" + "x" * 101).status_code == 400
    assert client.get("/healthz").get_json()["status"] == "ok"


def test_bad_event_batch_changes_nothing(client, app):
    client.get("/")
    engine = app.extensions["db"]
    with engine.connect() as conn:
        before = conn.execute(select(func.count()).select_from(db.events)).scalar_one()
    pid = next(iter(app.extensions["models"].get().catalog.products))
    sver_before = client.get("/").get_data(as_text=True)
    good = {"id": "good-event-0001", "type": "view", "product_id": pid, "ts": 1733400000000}
    bad = {
        "id": "bad",
        "type": "teleport",
        "product_id": "<script>",
        "page": "<b>",
        "ts": "yesterday",
    }
    r = client.post("/events", json={"events": [good, bad]})
    assert r.status_code == 400
    fields = {f["field"] for f in r.get_json()["fields"]}
    assert {
        "events[1].id",
        "events[1].type",
        "events[1].product_id",
        "events[1].page",
        "events[1].ts",
    } <= fields
    unknown = client.post("/events", json={"events": [{**good, "product_id": "NOPE"}]})
    assert unknown.status_code == 400
    assert unknown.get_json()["fields"][0]["field"] == "events[0].product_id"
    assert (
        client.post("/events", data="{not json", content_type="application/json").status_code == 400
    )
    assert client.post("/events", json={"events": []}).status_code == 400
    assert client.post("/events", json={"events": [good] * 101}).status_code == 400
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(db.events)).scalar_one() == before
    assert "because-you-viewed" not in slots(client.get("/").get_data(as_text=True))
    assert "because-you-viewed" not in slots(sver_before)


def test_a_retried_batch_is_not_counted_twice(client, app):
    client.get("/")
    pid = next(iter(app.extensions["models"].get().catalog.products))
    batch = {
        "events": [
            {
                "id": "retry-me-0001",
                "type": "click",
                "product_id": pid,
                "slot": "for-you",
                "page": "home",
                "ts": 1733400000000,
            }
        ]
    }
    first = client.post("/events", json=batch)
    second = client.post("/events", json=batch)
    assert first.status_code == second.status_code == 202
    assert first.get_json() == {"accepted": 1, "recorded": 1, "duplicates": 0}
    assert second.get_json() == {"accepted": 1, "recorded": 0, "duplicates": 1}
    with app.extensions["db"].connect() as conn:
        rows = conn.execute(select(db.events.c.page).where(db.events.c.id == "retry-me-0001")).all()
    assert [r.page for r in rows] == ["home"]  # once, with the page type it happened on


def test_forged_cookie_gets_a_new_visitor(client):
    client.set_cookie("sid", "someone-elses-id.forgedsignature")
    r = client.get("/")
    assert r.status_code == 200 and "sid=" in r.headers.get("Set-Cookie", "")
    client.set_cookie("sid", "forged")
    assert (
        client.post(
            "/events",
            json={
                "events": [
                    {"id": "abcdefgh1", "type": "search", "query": "mug", "ts": 1733400000000}
                ]
            },
        ).status_code
        == 400
    )


def test_qa_overrides_need_the_setting(shop_env):
    from storefront import create_app

    app = create_app(
        {
            "home": shop_env["home"],
            "database_url": shop_env["database_url"],
            "redis_url": shop_env["redis_url"],
            "testing": True,
        }
    )
    html = app.test_client().get("/?qa_country=JP").get_data(as_text=True)
    assert "Japan" not in signal(html, "location")
    assert client_bad_override(shop_env) == 400


def client_bad_override(shop_env) -> int:
    from storefront import create_app

    app = create_app(
        {
            "home": shop_env["home"],
            "database_url": shop_env["database_url"],
            "redis_url": shop_env["redis_url"],
            "testing": True,
            "qa_overrides": True,
        }
    )
    return app.test_client().get("/?qa_time=not-a-time").status_code


def test_privacy_signals_turn_off_history(client, app):
    model = app.extensions["models"].get().model
    client.post("/account", data={"customer_id": model.user_ids[1]})
    html = client.get("/", headers={"Sec-GPC": "1"}).get_data(as_text=True)
    assert "Global Privacy Control" in signal(html, "consent")
    assert "from your past orders" not in html


def test_cart_form_requires_csrf(shop_env):
    from storefront import create_app

    app = create_app(
        {
            "home": shop_env["home"],
            "database_url": shop_env["database_url"],
            "redis_url": shop_env["redis_url"],
            "testing": True,
        }
    )
    c = app.test_client()
    pid = next(iter(app.extensions["models"].get().catalog.products))
    assert c.post("/cart", data={"product_id": pid, "quantity": 1}).status_code == 400
    page = c.get(f"/p/{pid}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    r = c.post("/cart", data={"product_id": pid, "quantity": 2, "csrf_token": token})
    assert r.status_code == 303
    cart = c.get("/cart").get_data(as_text=True)
    assert f'data-product-id="{pid}"' in cart and "Basket (2)" in cart
    assert "complements" in slots(cart)


def geoip_client(shop_env, **settings):
    """A test client of the shop with MaxMind's test City database configured."""
    from pathlib import Path

    from storefront import create_app

    geoip = Path(__file__).resolve().parent.parent / "data" / "geoip" / "GeoIP2-City-Test.mmdb"
    config = {
        "home": shop_env["home"],
        "database_url": shop_env["database_url"],
        "redis_url": shop_env["redis_url"],
        "testing": True,
        "geoip_db": str(geoip),
    }
    return create_app({**config, **settings}).test_client()


def test_geoip_locates_by_client_ip_when_configured(shop_env):
    c = geoip_client(shop_env)
    london = c.get("/", environ_base={"REMOTE_ADDR": "81.2.69.160"}).get_data(as_text=True)
    assert "United Kingdom, London" in signal(london, "location")
    assert "Europe/London" in signal(london, "time")
    sweden = c.get("/", environ_base={"REMOTE_ADDR": "89.160.20.112"}).get_data(as_text=True)
    assert "Sweden" in signal(sweden, "location") and "Stockholm" in signal(sweden, "time")
    # a CDN header wins over the database
    header = c.get(
        "/", headers={"CF-IPCountry": "FR"}, environ_base={"REMOTE_ADDR": "81.2.69.160"}
    ).get_data(as_text=True)
    assert "France" in signal(header, "location")
    unknown = c.get("/", environ_base={"REMOTE_ADDR": "8.8.8.8"}).get_data(as_text=True)
    assert signal(unknown, "location") == "unknown"


def test_every_product_of_a_big_category_is_on_exactly_one_page(client, app):
    """The listing reorders a category's first best sellers for the shopper and pages through
    all the rest: the last page is full up to the count the page header states."""
    snap = app.extensions["models"].get()
    slug, ids = max(snap.catalog.by_category.items(), key=lambda kv: len(kv[1]))
    assert len(ids) > 300  # past the reordered head (strategies.RERANK_TOP)
    pages = -(-len(ids) // 24)
    client.get("/")  # a visitor, then a view: the listing is reordered by their taste
    event = {"id": "listing-view-1", "type": "view", "product_id": ids[400], "ts": 1733400000000}
    response = client.post("/events", json={"events": [event]})
    assert response.status_code == 202, response.get_data(as_text=True)
    seen: list[str] = []
    for page in range(1, pages + 1):
        html = client.get(f"/c/{slug}?page={page}").get_data(as_text=True)
        assert f"{len(ids):,} products" in html or f"{len(ids)} products" in html
        seen += products_in(html, "listing")
    assert len(seen) == len(ids) and set(seen) == set(ids)
    beyond = client.get(f"/c/{slug}?page={pages + 1}").get_data(as_text=True)
    assert products_in(beyond, "listing") == []


def test_behind_a_trusted_proxy_the_client_cannot_choose_its_address(shop_env):
    """The proxy appends the address it saw; whatever the client wrote before it is not
    trusted (a leftmost X-Forwarded-For entry would let anyone pick their country)."""
    c = geoip_client(shop_env, trust_proxy=True)
    spoofed = c.get(
        "/",
        headers={"X-Forwarded-For": "89.160.20.112, 81.2.69.160"},
        environ_base={"REMOTE_ADDR": "127.0.0.1"},
    ).get_data(as_text=True)
    assert "United Kingdom" in signal(spoofed, "location")
    assert "Sweden" not in signal(spoofed, "location")
