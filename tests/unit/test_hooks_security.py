"""security._headers: HSTS over HTTPS only, once, and the headers in their order."""

from __future__ import annotations

from flask import Flask, Response

from storefront.security import HSTS, SECURITY_HEADERS, _headers


def test_hsts_over_https_only_and_never_twice():
    app = Flask(__name__)
    with app.test_request_context("/", base_url="https://shop.test"):
        secure = _headers(Response("x"))
        own = _headers(Response("x", headers={HSTS[0]: "max-age=5"}))
    with app.test_request_context("/", base_url="http://shop.test"):
        plain = _headers(Response("x"))
    assert secure.headers.getlist(HSTS[0]) == [HSTS[1]]
    assert own.headers.getlist(HSTS[0]) == ["max-age=5"]
    assert HSTS[0] not in plain.headers
    added = [(k, v) for k, v in secure.headers if k not in ("Content-Type", "Content-Length")]
    assert added == [*SECURITY_HEADERS, HSTS]  # in order, after the response's own
    # a name set in another case counts as set
    lower = _headers(Response("x", headers={"x-frame-options": "SAMEORIGIN"}))
    assert lower.headers.getlist("X-Frame-Options") == ["SAMEORIGIN"]
