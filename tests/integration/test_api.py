"""The headless API: same pages as JSON, email fragments, keys, limits, and an OpenAPI
description that stays true to the routes and responses."""

from __future__ import annotations

import re

import jsonschema

from storefront.api import keys
from storefront.api.openapi import PAGE, document
from tests.helpers import products_in, slots


def test_page_json_matches_the_html_page(client):
    html = client.get("/?qa_country=GB").get_data(as_text=True)
    r = client.get("/api/v1/pages/home?qa_country=GB")
    assert r.status_code == 200
    body = r.get_json()
    jsonschema.validate(body, PAGE)
    assert [s["slot"] for s in body["slots"]] == slots(html)
    for s in body["slots"]:
        assert [p["id"] for p in s["products"]] == products_in(html, s["slot"])
        assert all(p["reason"] and p["url"].startswith("/p/") for p in s["products"])
    ids = [p["id"] for s in body["slots"] for p in s["products"]]
    assert len(ids) == len(set(ids))  # one page, no repeats, here too


def test_stating_the_context_needs_a_key(client, app):
    r = client.get("/api/v1/pages/home?country=DE")
    assert r.status_code == 403 and r.get_json()["error"].startswith("country")
    assert client.get("/api/v1/pages/home", headers={"X-Api-Key": "sfk_x_y"}).status_code == 401
    token = keys.create(app.extensions["db"], "email service")
    headers = {"Authorization": f"Bearer {token}"}
    r = client.get(
        "/api/v1/pages/home?country=DE&device=mobile&time=2011-12-05T19:30"
        "&visitor=email-visitor-0001",
        headers=headers,
    )
    assert r.status_code == 200
    ctx = r.get_json()["context"]
    assert (ctx["country"], ctx["device"], ctx["daypart"]) == ("DE", "mobile", "evening")
    assert all(len(s["products"]) <= 4 for s in r.get_json()["slots"])  # compact layout
    assert client.get("/api/v1/pages/home?device=fridge", headers=headers).status_code == 400
    assert client.get("/api/v1/pages/product?product_id=NOPE", headers=headers).status_code == 400
    assert client.get("/api/v1/pages/nowhere", headers=headers).status_code == 404
    key_id = token.split("_")[1]
    assert keys.revoke(app.extensions["db"], key_id)
    assert client.get("/api/v1/pages/home", headers=headers).status_code == 401


def test_each_key_has_its_own_rate_limit(client, app):
    token = keys.create(app.extensions["db"], "tiny", per_minute=3)
    codes = [
        client.get("/api/v1/pages/home", headers={"X-Api-Key": token}).status_code for _ in range(4)
    ]
    assert codes == [200, 200, 200, 429]
    other = keys.create(app.extensions["db"], "other")
    assert client.get("/api/v1/pages/home", headers={"X-Api-Key": other}).status_code == 200


def test_email_fragment_is_inline_safe(client):
    r = client.get("/api/v1/fragments/trending?qa_country=GB")
    assert r.status_code == 200 and r.mimetype == "text/html"
    html = r.get_data(as_text=True)
    assert "<script" not in html and "class=" not in html and 'style="' in html
    assert re.search(r'href="http://localhost/p/[^"]+\?utm_source=email', html)
    assert re.search(r'src="http://localhost/img/p/[^"]+\.svg"', html)
    assert client.get("/api/v1/fragments/nope").status_code == 404


def test_a_click_in_an_email_shapes_the_next_web_page(client, app):
    client.get("/")
    from storefront.visitor import read_visitor_id

    with app.app_context():
        visitor = read_visitor_id(client.get_cookie("sid").value)
    pid = next(iter(app.extensions["models"].get().catalog.products))
    token = keys.create(app.extensions["db"], "mailer")
    r = client.post(
        f"/events?visitor={visitor}",
        headers={"X-Api-Key": token},
        json={
            "events": [
                {
                    "id": "email-click-000001",
                    "type": "click",
                    "product_id": pid,
                    "channel": "email",
                    "slot": "trending",
                    "ts": 1733400000000,
                }
            ]
        },
    )
    assert r.status_code == 202
    assert "because-you-viewed" in slots(client.get("/").get_data(as_text=True))
    bad = client.post(
        "/events?visitor=x",
        headers={"X-Api-Key": token},
        json={
            "events": [
                {
                    "id": "email-click-000002",
                    "type": "click",
                    "product_id": pid,
                    "ts": 1733400000000,
                }
            ]
        },
    )
    assert bad.status_code == 400 and bad.get_json()["fields"][0]["field"] == "visitor"


def test_openapi_describes_every_api_route(client, app):
    served = client.get("/api/v1/openapi.json").get_json()
    assert served == document()
    paths = served["paths"]
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/") or rule.rule in ("/events", "/healthz"):
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
            assert path in paths, path
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                assert method.lower() in paths[path], (path, method)
    jsonschema.Draft202012Validator.check_schema(PAGE)


def test_cors_only_where_configured(shop_env):
    from storefront import create_app

    app = create_app(
        {
            "home": shop_env["home"],
            "database_url": shop_env["database_url"],
            "redis_url": shop_env["redis_url"],
            "testing": True,
            "cors_origins": ("https://app.example",),
        }
    )
    c = app.test_client()
    ok = c.get("/api/v1/pages/home", headers={"Origin": "https://app.example"})
    assert ok.headers["Access-Control-Allow-Origin"] == "https://app.example"
    other = c.get("/api/v1/pages/home", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers


def keyed(app, name: str = "tests") -> dict:
    return {"Authorization": f"Bearer {keys.create(app.extensions['db'], name)}"}


def test_a_clock_out_of_range_is_a_400_naming_time(client, app):
    headers = keyed(app)
    for when, country in (
        ("9999-12-31T23:59:59-01:00", "GB"),
        ("0001-01-01T00:00:00+01:00", "GB"),
        ("0001-01-01T00:00", "DE"),
    ):
        query = {"time": when, "country": country}
        r = client.get("/api/v1/pages/home", query_string=query, headers=headers)
        assert r.status_code == 400, (when, r.status_code)
        assert r.get_json()["error"].startswith("time"), r.get_json()
        shop = client.get("/", query_string={"qa_time": when, "qa_country": country})
        assert shop.status_code == 400, (when, shop.status_code)
    for when in ("0002-01-02T00:00", "9998-12-30T23:59"):  # the edges in range still build
        query = {"time": when, "country": "NZ"}
        assert (
            client.get("/api/v1/pages/home", query_string=query, headers=headers).status_code == 200
        )


def test_fragments_reach_every_page_type(client, app):
    headers = keyed(app)
    catalog = app.extensions["models"].get().catalog
    pid = next(iter(catalog.products))
    category = catalog.get(pid).category
    word = catalog.get(pid).title.split()[0]
    wanted = {
        "home": {},
        "product": {"product_id": pid},
        "category": {"category": category, "page": "1"},
        "search": {"q": word},
    }
    for page, args in wanted.items():
        body = client.get(f"/api/v1/pages/{page}", query_string=args, headers=headers).get_json()
        assert body["slots"], page
        slot = body["slots"][0]
        r = client.get(
            f"/api/v1/fragments/{slot['slot']}",
            query_string={"page_type": page, **args},
            headers=headers,
        )
        assert r.status_code == 200, (page, r.get_json())
        html = r.get_data(as_text=True)
        assert f'data-slot="{slot["slot"]}"' in html
        assert [p["id"] for p in slot["products"]] == re.findall(r'data-product-id="([^"]+)"', html)
    r = client.get("/api/v1/fragments/trending?page=home", headers=headers)
    assert r.status_code == 400 and "page_type" in r.get_json()["error"]


def test_405_names_the_allowed_methods(client):
    for method, path, allowed in (
        ("post", "/api/v1/pages/home", {"GET"}),
        ("delete", "/api/v1/openapi.json", {"GET"}),
        ("get", "/events", {"POST"}),
        ("put", "/", {"GET"}),
    ):
        r = getattr(client, method)(path)
        assert r.status_code == 405, (method, path)
        assert allowed <= {m.strip() for m in r.headers.get("Allow", "").split(",")}, (
            path,
            r.headers,
        )


def test_api_answers_say_how_to_cache_them(client, app):
    for path in (
        "/api/v1/pages/home",
        "/api/v1/fragments/trending",
        "/api/v1/pages/nowhere",
        "/api/v1/pages/home?page=x",
    ):
        r = client.get(path)
        assert r.headers.get("Cache-Control") == "private, no-store", (path, r.headers)
    r = client.get("/api/v1/openapi.json")
    assert "public" in r.headers.get("Cache-Control", "")
    r = client.post("/events", json={"events": []})
    assert r.headers.get("Cache-Control") == "no-store"


def test_an_empty_stated_context_is_refused(client, app):
    headers = keyed(app)
    for name in ("country", "device", "time", "visitor"):
        r = client.get(f"/api/v1/pages/home?{name}=", headers=headers)
        assert r.status_code == 400, name
        assert r.get_json()["error"].startswith(name)


def test_openapi_says_which_page_needs_which_parameter(client):
    served = client.get("/api/v1/openapi.json").get_json()
    for path in ("/api/v1/pages/{page}", "/api/v1/fragments/{slot}"):
        params = {p["name"]: p for p in served["paths"][path]["get"]["parameters"]}
        assert "search" in params["q"]["description"] and "required" in params["q"]["description"]
        assert "product" in params["product_id"]["description"]
        assert "required" in params["product_id"]["description"]
        assert params["q"]["schema"].get("minLength") == 1
        assert params["country"]["schema"].get("minLength") == 2
    frag = {p["name"] for p in served["paths"]["/api/v1/fragments/{slot}"]["get"]["parameters"]}
    assert {"page_type", "page", "product_id", "category", "q"} <= frag


def test_links_come_from_the_configured_public_url_not_the_host_header(shop_env, client):
    from storefront import create_app

    evil = {"Host": "evil.example"}
    body = client.get("/api/v1/pages/home", headers=evil).get_data(as_text=True)
    assert "evil.example" not in body  # without a public URL, the JSON links are relative
    urls = [
        p["url"]
        for s in client.get("/api/v1/pages/home").get_json()["slots"]
        for p in s["products"]
    ]
    assert urls and all(u.startswith("/p/") for u in urls)
    app = create_app(
        {
            "home": shop_env["home"],
            "database_url": shop_env["database_url"],
            "redis_url": shop_env["redis_url"],
            "testing": True,
            "public_url": "https://shop.example/store",
        }
    )
    c = app.test_client()
    for path in ("/api/v1/pages/home", "/api/v1/fragments/trending"):
        text = c.get(path, headers=evil).get_data(as_text=True)
        assert "evil.example" not in text and "https://shop.example/store/p/" in text, path
    assert "https://shop.example/store/img/p/" in c.get("/api/v1/pages/home").get_data(as_text=True)


def test_a_trailing_newline_is_not_a_visitor(client, app):
    """`^…$` with re.match let "visitor-0001\\n" through as a visitor id (Redis keys, SQL rows)."""
    headers = keyed(app)
    named = {"visitor": "visitor-0001\n"}
    assert client.get("/api/v1/pages/home", query_string=named, headers=headers).status_code == 400
    pid = next(iter(app.extensions["models"].get().catalog.products))
    event = {"id": "newline-0001", "type": "view", "product_id": pid, "ts": 1733400000000}
    r = client.post("/events", query_string=named, json={"events": [event]}, headers=headers)
    assert r.status_code == 400 and r.get_json()["fields"][0]["field"] == "visitor"
