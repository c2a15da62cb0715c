"""Bad input gets a clear 4xx that names the field and writes nothing; headers keep pages safe."""

from __future__ import annotations

from sqlalchemy import func, select

from storefront import db


def count_events(app) -> int:
    with app.extensions["db"].connect() as conn:
        return conn.execute(select(func.count()).select_from(db.events)).scalar_one()


def test_hostile_event_bodies_are_refused_and_change_nothing(client, app):
    client.get("/")
    before = count_events(app)
    deep = "[" * 20000 + "]" * 20000
    cases = [
        (deep.encode(), 400),
        (b'{"events": [{"id": "\xff\xfe\xfa"}]}', 400),  # invalid UTF-8
        (b"x" * (70 * 1024), 413),  # oversized body
        (b'{"events": {"not": "a list"}}', 400),
        (b'{"events": [], "extra": 1}', 400),
        (b"null", 400),
    ]
    for body, status in cases:
        r = client.post("/events", data=body, content_type="application/json")
        assert r.status_code == status, (body[:40], r.status_code)
        assert r.is_json and r.get_json()["fields"][0]["field"]
    assert count_events(app) == before


def test_security_headers_and_cookie_flags(client):
    r = client.get("/")
    csp = r.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    secure = client.get("/", base_url="https://shop.example")
    assert "Secure" in secure.headers["Set-Cookie"]
    assert "<script>" not in r.get_data(as_text=True).split("</footer>")[0]  # no inline script


def test_search_query_is_escaped_and_bounded(client):
    payload = '<script>alert(1)</script>"><img src=x onerror=alert(1)>'
    html = client.get("/search", query_string={"q": payload}).get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html and "onerror=alert(1)>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert client.get("/search?q=" + "a" * 5000).status_code == 400
    assert client.get("/c/nope?page=99999").status_code == 404
    assert client.get("/search?q=mug&page=0").status_code == 400
