"""storefront/security.py: every response gets each security header it did not set itself."""

from __future__ import annotations

from flask import Response

from storefront.security import SECURITY_HEADERS, _headers


def test_missing_headers_are_added_and_a_responses_own_are_kept():
    plain = _headers(Response("x"))
    assert [(k, plain.headers[k]) for k, _ in SECURITY_HEADERS] == list(SECURITY_HEADERS)

    own = Response("x", headers={"Content-Security-Policy": "default-src 'none'"})
    own = _headers(own)
    assert own.headers.getlist("Content-Security-Policy") == ["default-src 'none'"]
    for name, value in SECURITY_HEADERS[1:]:  # the others still come, once each
        assert own.headers.getlist(name) == [value]
