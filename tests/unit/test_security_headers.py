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


def _session_app(lifetime: int = 3600):
    from datetime import timedelta

    from flask import Flask, session

    from storefront.security import SessionInterface

    app = Flask(__name__)
    app.secret_key = "s" * 32
    app.session_interface = SessionInterface()
    app.permanent_session_lifetime = timedelta(seconds=lifetime)

    @app.get("/set")
    def set_():
        session["csrf_token"] = "t1"
        session["items"] = ["a"]
        return "ok"

    @app.get("/read")
    def read():
        return f"{session.get('csrf_token')}|{session.get('items')}"

    @app.get("/change")
    def change():
        session["items"].append("b")  # a nested change in place: must not reach the memo
        return "ok"

    @app.get("/untouched")
    def untouched():
        return "ok"

    return app


def test_the_cookie_session_reads_as_flasks_and_an_untouched_one_is_not_saved():
    """security.SessionInterface: a cookie's signature is checked once per worker, yet every
    request gets the cookie's own data, a forged or expired cookie an empty session, and a
    request that never touches the session neither sets a cookie nor varies on it."""
    app = _session_app()
    client = app.test_client()
    assert "Set-Cookie" in client.get("/set").headers
    assert client.get("/read").get_data(True) == "t1|['a']"
    assert client.get("/read").get_data(True) == "t1|['a']"  # from the memo: the same
    client.get("/change")  # changed in that request only; not saved (not marked modified)
    assert client.get("/read").get_data(True) == "t1|['a']"
    untouched = client.get("/untouched")
    assert "Set-Cookie" not in untouched.headers and "Vary" not in untouched.headers
    read = client.get("/read")
    assert "Cookie" in read.headers["Vary"]  # read: varies on the cookie, as Flask's does
    raw = client.get_cookie("session").value
    forged = app.test_client()
    forged.set_cookie("session", raw[:-2] + ("AA" if not raw.endswith("AA") else "BB"))
    assert forged.get("/read").get_data(True) == "None|None"
    other_secret = _session_app()
    other_secret.secret_key = "t" * 32
    stranger = other_secret.test_client()
    stranger.set_cookie("session", raw)
    assert stranger.get("/read").get_data(True) == "None|None"
    expired = _session_app(lifetime=-1)  # every cookie is older than its lifetime
    late = expired.test_client()
    late.set_cookie("session", raw)
    assert late.get("/read").get_data(True) == "None|None"
