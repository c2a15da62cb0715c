"""Bad input gets a clear 4xx that names the field and writes nothing; headers keep pages safe."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from storefront import db
from storefront.admin import users


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


def first_order(app) -> datetime:
    with app.extensions["db"].connect() as conn:
        return conn.execute(select(func.min(db.order_lines.c.ts))).scalar_one()


def test_event_times_outside_the_store_life_are_refused(client, app):
    """Year 1 with an offset used to overflow (500); year 1 in UTC used to be stored as is."""
    client.get("/")
    pid = next(iter(app.extensions["models"].get().catalog.products))
    before = count_events(app)
    start = first_order(app).replace(tzinfo=UTC)
    refused = [
        "0001-01-01T00:00:00+01:00",
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59-01:00",
        (start - timedelta(days=1)).isoformat(),
        (datetime.now(UTC) + timedelta(days=2)).isoformat(),
    ]
    for ts in refused:
        event = {"id": "range-event-0001", "type": "view", "product_id": pid, "ts": ts}
        r = client.post("/events", json={"events": [event]})
        assert r.status_code == 400, (ts, r.status_code)
        assert r.get_json()["fields"][0]["field"] == "events[0].ts", r.get_json()
    assert count_events(app) == before
    ok = {"id": "range-event-0002", "type": "view", "product_id": pid}
    for i, ts in enumerate(
        ((start + timedelta(hours=1)).isoformat(), datetime.now(UTC).isoformat())
    ):
        r = client.post("/events", json={"events": [{**ok, "id": f"range-ok-{i:04d}", "ts": ts}]})
        assert r.status_code == 202, r.get_json()


def test_studio_preview_far_dates_name_the_time(app):
    name = f"dates-{uuid.uuid4().hex[:8]}"
    users.create(app.extensions["db"], name, "a long enough password", "viewer")
    c = app.test_client()
    c.post("/admin/login", data={"username": name, "password": "a long enough password"})
    for country in ("DE", "NZ", ""):
        query = {"go": "1", "page": "home", "when": "0001-01-01T00:00", "country": country}
        r = c.get("/admin/preview", query_string=query)
        assert r.status_code == 200, (country, r.status_code)
        assert "time: " in r.get_data(as_text=True)


def test_unicode_digits_are_not_page_numbers(client):
    """'²'.isdigit() is True but int('²') raises: these were 500s."""
    for path in (
        "/search?q=mug&page=²",
        "/api/v1/pages/search?q=mug&page=²",
        "/search?q=mug&page=" + "9" * 5000,
    ):
        assert client.get(path).status_code == 400, path
