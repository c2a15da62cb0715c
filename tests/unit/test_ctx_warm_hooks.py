"""The warm page's shop-only work, cheaper: the client-hints hook reads the response's header
names once (the same headers as werkzeug's get and set gave), read_device and read_consent read
the WSGI environ, and request_versions shares one RequestVersions while all three values are
the same objects (a changed one builds a new one)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from flask import Flask, Response
from werkzeug.datastructures import EnvironHeaders
from werkzeug.http import parse_set_header
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from storefront import holders
from storefront.context import read_consent
from storefront.core.context import consent
from storefront.shop.hints import ACCEPT_CH, _client_hints
from storefront.signals.device import CLIENT_HINTS, read_device
from tests.unit.test_warm_memos import environ_headers


def _reference(response: Response) -> Response:
    """The hook as it was: get, then two assignments."""
    headers = response.headers
    headers["Accept-CH"] = ACCEPT_CH
    found = parse_set_header(headers.get("Vary"))
    found.update((*CLIENT_HINTS, "User-Agent"))
    headers["Vary"] = found.to_header()
    return response


@pytest.mark.parametrize(
    "before",
    [
        [],
        [("Content-Type", "text/html")],
        [("Vary", "Cookie, User-Agent"), ("Content-Type", "text/html")],
        [("vary", "Origin"), ("X-A", "1")],
        [("Vary", "Cookie"), ("X-A", "1"), ("VARY", "Origin"), ("X-B", "2")],
        [("accept-ch", "old"), ("Vary", "Cookie")],
        [("Accept-CH", "a"), ("X-A", "1"), ("Accept-CH", "b"), ("Vary", "Accept")],
    ],
)
def test_client_hints_set_the_headers_as_get_and_set_did(before) -> None:
    for _ in range(2):  # the second time from the Vary memo
        ours, theirs = Response("x"), Response("x")
        ours.headers.clear(), theirs.headers.clear()
        for k, v in before:
            ours.headers.add(k, v), theirs.headers.add(k, v)
        assert list(_client_hints(ours).headers) == list(_reference(theirs).headers)


def test_a_changed_vary_changes_the_answer() -> None:
    one, two = Response("x"), Response("x")
    one.headers["Vary"], two.headers["Vary"] = "Cookie", "Origin"
    assert _client_hints(one).headers["Vary"] != _client_hints(two).headers["Vary"]


def _request(**headers: str) -> Request:
    return Request(EnvironBuilder(headers=headers).get_environ())


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"User-Agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) Mobile/15E148"},
        {"User-Agent": "Mozilla/5.0 (Linux; Android 10; K)", "Sec-CH-UA-Mobile": "?1"},
        {"User-Agent": "x", "Sec-CH-UA-Platform": '"macOS"', "Sec-CH-UA-Model": '"M"'},
    ],
)
def test_read_device_reads_the_environ_as_the_headers_say(headers) -> None:
    as_request = read_device(_request(**headers).headers)
    assert as_request == read_device(headers)  # any other mapping: by name
    assert as_request == read_device(
        environ_headers(**{k.replace("-", "_"): v for k, v in headers.items()})
    )


def test_read_device_answers_by_every_header() -> None:
    base = {"User-Agent": "Mozilla/5.0 (Linux; Android 10; K)"}
    seen = {read_device(_request(**base).headers)}
    seen.add(read_device(_request(**base, **{"Sec-CH-UA-Mobile": "?1"}).headers))
    seen.add(read_device(_request(**base, **{"Sec-CH-UA-Platform": '"Windows"'}).headers))
    seen.add(read_device(_request(**base, **{"Sec-CH-UA-Model": '"SM-X700"'}).headers))
    assert len(seen) == 4
    assert isinstance(_request().headers, EnvironHeaders)


def test_read_consent_reads_both_signals() -> None:
    assert read_consent(_request()) == consent()
    assert read_consent(_request(**{"Sec-GPC": " 1 "})) == consent(gpc=True) != consent()
    assert read_consent(_request(DNT="1")) == consent(dnt=True) != consent()
    assert read_consent(_request(DNT="0")) == consent()


class _Holder:
    def __init__(self, value) -> None:
        self.value = value

    def get(self):
        return self.value


def _app(snap, rules, running) -> Flask:
    app = Flask(__name__)
    app.extensions["models"], app.extensions["rules"] = _Holder(snap), _Holder(rules)
    app.extensions["experiments"] = holders.RequestExperiments(_Holder(running))  # type: ignore[arg-type]
    return app


def _versions(app: Flask) -> holders.RequestVersions:
    with app.test_request_context("/"):
        first = holders.request_versions()
        assert holders.request_versions() is first  # kept on `g` for the request
        return first


def test_request_versions_are_shared_while_the_values_are_and_new_when_one_changes() -> None:
    snap, rules, running = SimpleNamespace(), SimpleNamespace(), ()
    app = _app(snap, rules, running)
    one = _versions(app)
    assert _versions(app) is one  # the same three objects: one RequestVersions
    assert (one.snapshot, one.rules, one.experiments) == (snap, rules, running)
    for attr, holder in (("snapshot", "models"), ("rules", "rules")):
        other = SimpleNamespace()
        app.extensions[holder].value = other
        changed = _versions(app)
        assert changed is not one and getattr(changed, attr) is other
        app.extensions[holder].value = snap if holder == "models" else rules
    app.extensions["experiments"].holder.value = (SimpleNamespace(),)
    changed = _versions(app)
    assert changed is not one and changed.experiments == app.extensions["experiments"].holder.value
    # equal but not the same objects: a new one (values are compared by identity)
    assert _versions(_app(SimpleNamespace(), rules, ())) is not one
