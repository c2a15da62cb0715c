"""page_key, made with less per-request work (full_path inline, the shaping headers mapped, the
key's prefix made once): the same key as before, over varied requests."""

from __future__ import annotations

import hashlib
from types import SimpleNamespace

import pytest
from flask import Flask, current_app, request

from storefront import page_cache
from storefront.core.lookup import lookup
from storefront.redis_client import PAGE, key


def reference_key(visitor_id: str) -> str:
    """page_key as it was: werkzeug's full_path and host."""
    req = request._get_current_object()
    settings = current_app.config["SETTINGS"]
    env = req.environ
    parts = (
        req.full_path,
        req.host,
        req.remote_addr or "",
        lookup(req.cookies, current_app.config["SESSION_COOKIE_NAME"], ""),
        *(env.get(n, "") for n in page_cache.shaping(settings.geo_headers)[0]),
    )
    raw = "\0".join(parts).encode("utf-8", "replace")
    return key(PAGE, visitor_id, hashlib.blake2b(raw, digest_size=12).hexdigest())


@pytest.fixture
def app():
    app = Flask(__name__)
    app.config["SETTINGS"] = SimpleNamespace(page_cache_ttl=60, geo_headers=("CF-IPCountry",))
    app.add_url_rule("/", endpoint="shop.home", view_func=lambda: "")
    app.add_url_rule("/<path:p>", endpoint="shop.category", view_func=lambda p: "")
    return app


PATHS = ["/", "/c/kitchen-dining", "/c/cafés/été", "/s/%E2%9C%93", "/p/A1/", "//double", "/ü%20x"]
QUERIES = ["", "q=mug", "q=caf%C3%A9&page=2", "q=café", "a=1&a=2&b", "x=%ff", "utm_source=ü"]
HOSTS = [
    {"HTTP_HOST": "shop.example"},
    {"HTTP_HOST": "shop.example:80"},
    {"HTTP_HOST": "shop.example:8080"},
    {"HTTP_HOST": "[::1]:5000"},
    {"HTTP_HOST": "bad host!"},
    {"HTTP_HOST": "shop.example:99999"},
    {"HTTP_HOST": "ünicode.example"},
    {},  # no Host header: the server's name and port
]


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_page_key_is_the_key_werkzeug_s_request_gave(app, scheme):
    seen = set()
    for path in PATHS:
        for query in QUERIES:
            for host in HOSTS:
                env = {"wsgi.url_scheme": scheme, "REMOTE_ADDR": "10.0.0.7", **host}
                if not host:
                    env["SERVER_NAME"], env["SERVER_PORT"] = "fallback.example", "443"
                for headers in ({}, {"User-Agent": "UA é", "CF-IPCountry": "FR"}):
                    url = f"{path}?{query}" if query else path
                    with app.test_request_context(url, environ_overrides=env, headers=headers):
                        if request.endpoint is None:  # no route matched (a Host refused)
                            assert page_cache.page_key("v" * 22) is None
                            continue
                        for visitor in ("v" * 22, "{v:tagged}"):
                            got = page_cache.page_key(visitor)
                            assert got == reference_key(visitor)
                            seen.add(got)
    assert len(seen) > 2 * len(PATHS) * len(QUERIES)  # the keys differ with the request


def test_page_key_with_trusted_hosts_is_werkzeug_s(app):
    app.config["TRUSTED_HOSTS"] = ["shop.example"]
    with app.test_request_context("/?q=1", headers={"Host": "shop.example:8000"}):
        app.create_url_adapter(request)
        assert page_cache.page_key("v" * 22) == reference_key("v" * 22)
