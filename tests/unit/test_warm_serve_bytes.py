"""page_cache.serve: the page found by offset and joined around the clock from views of the
cached bytes, and its response's headers sent as they stand, give exactly what the split, the
slices and werkzeug's own get_wsgi_headers gave (docs/benchmarks.md, wip-warm2)."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace

import pytest
from flask import Flask, make_response
from werkzeug.test import create_environ

from storefront import page_cache
from storefront.page_cache import SEP, _served, clock_text, finish, serve

CTX = SimpleNamespace(time=SimpleNamespace(local=datetime(2026, 12, 7, 1, 30)))
STAMP = "1|c|GB/None/None/cdn|m1"


def old_serve(ctx, cached: bytes, this_stamp: str):
    """serve as it was (7ecb254): split, slices each side of the clock, make_response, finish's
    four assignments."""
    parts = cached.split(page_cache._SEP, 3)
    if len(parts) != 4:
        return None
    head, x_model, x_rules, html = parts
    if head != this_stamp.encode():
        return None
    start = html.rfind(page_cache._CLOCK_OPEN)
    end = html.find(page_cache._CLOCK_CLOSE, start)
    if start >= 0 and end > start:
        start += len(page_cache._CLOCK_OPEN)
        html = b"".join((html[:start], clock_text(ctx).encode(), html[end:]))
    response = make_response(html)
    response.headers["X-Model-Version"] = x_model.decode()
    response.headers["X-Rules-Version"] = x_rules.decode()
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Vary"] = "Cookie, User-Agent"
    return response


def cached(head: str, html: str) -> bytes:
    return f"{head}{SEP}".encode() + html.encode()


PAGES = [
    cached(f"{STAMP}{SEP}m1c2{SEP}r7", "<p>a</p><!--clock-->Monday<!--/clock--></body>"),
    cached(f"{STAMP}{SEP}m1c2{SEP}r7", "<!--clock-->x<!--/clock-->"),  # the clock alone
    cached(f"{STAMP}{SEP}m1c2{SEP}r7", "<p>no clock at all</p>"),
    cached(f"{STAMP}{SEP}m1c2{SEP}r7", "<!--/clock--> before <!--clock-->"),  # out of order
    cached(f"{STAMP}{SEP}m1c2{SEP}r7", "<!--clock-->unclosed"),
    cached(f"{STAMP}{SEP}m1c2{SEP}r7", ""),  # an empty page
    cached(f"{STAMP}{SEP}m1c2{SEP}r7", f"a{SEP}b<!--clock-->t<!--/clock-->"),  # SEP in html
    cached(f"{STAMP}{SEP}m1c2", "<!--clock-->t<!--/clock-->"),  # a field short
    f"{STAMP}".encode(),  # no separator at all
    b"",
    cached(f"other{SEP}m1c2{SEP}r7", "<!--clock-->t<!--/clock-->"),  # another stamp
    cached(f"{SEP}m1c2{SEP}r7", "x"),  # an empty stamp
    "é|€".encode() + f"{SEP}m{SEP}r{SEP}é <!--clock-->t<!--/clock--> ü".encode(),
]


@pytest.fixture()
def app():
    app = Flask(__name__)
    with app.test_request_context("/"):
        yield app


def wsgi(response) -> tuple[bytes, str, list[tuple[str, str]]]:
    app_iter, status, headers = response.get_wsgi_response(create_environ("/"))
    return b"".join(app_iter), status, headers


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("this_stamp", [STAMP, "", "é|€", "other"])
def test_serve_gives_what_split_and_slices_gave(app, page: bytes, this_stamp: str) -> None:
    new, old = serve(CTX, page, this_stamp), old_serve(CTX, page, this_stamp)
    assert (new is None) == (old is None)
    if new is not None:
        assert wsgi(new) == wsgi(old)
        assert isinstance(new, app.response_class)
        assert new.get_data() == old.get_data()


def test_a_served_page_sends_its_headers_as_werkzeug_would(app) -> None:
    served = _served(app.response_class)
    assert _served(app.response_class) is served  # one class per app's response class
    for status in (200, 201, 204, 206, 304, 404, 500, 101):
        for extra in ((), (("Location", "/c/é"),), (("content-location", "/p/1"),)):
            plain, fast = app.response_class(b"body", status), served(b"body", status)
            for response in (plain, fast):
                finish(response, "m1", "r1")
                for k, v in extra:
                    response.headers.add(k, v)
            environ = create_environ("/p/x", "http://shop.test/")
            expected = plain.get_wsgi_headers(environ).to_wsgi_list()
            assert fast.get_wsgi_headers(environ).to_wsgi_list() == expected, (status, extra)
    # a body without a Content-Length gets one counted, as werkzeug counts it
    plain, fast = app.response_class(), served()
    for response in (plain, fast):
        response.response = [b"abc", b"de"]
    environ = create_environ("/")
    assert fast.get_wsgi_headers(environ).to_wsgi_list() == (
        plain.get_wsgi_headers(environ).to_wsgi_list()
    )
    assert ("Content-Length", "5") in fast.get_wsgi_headers(environ).to_wsgi_list()
