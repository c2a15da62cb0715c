"""The studio: sign-in, roles on every route, CSRF, rules through the form and as YAML,
conflicts while writing, publish, restore and the audit log. Real database and Redis."""

from __future__ import annotations

import html
import re

import pytest

from storefront import rate_limits
from storefront.admin import users
from storefront.rules import store
from tests.helpers import slots
from tests.integration.rules_support import (
    catalog_of,
    clean_rules,  # noqa: F401 - fixture
    outside,
)

PASSWORD = "a long enough password"
LOGIN_WINDOWS = f"{rate_limits.KEY_PREFIX}:LIMITER/login/*"  # failed studio sign-ins


@pytest.fixture
def studio(app, request):
    engine = request.getfixturevalue("clean_rules")
    for k in app.extensions["redis"].scan_iter(LOGIN_WINDOWS):
        app.extensions["redis"].delete(k)
    for name, role in (("vera", "viewer"), ("ed", "editor"), ("pia", "publisher")):
        users.create(engine, name, PASSWORD, role)
    return app


def signed_in(app, name: str):
    client = app.test_client()
    r = client.post("/admin/login", data={"username": name, "password": PASSWORD})
    assert r.status_code == 303, r.get_data(as_text=True)
    return client


def rule_form(**fields) -> dict:
    data = {"name": "Evening gifts", "priority": "50", "enabled": "y"}
    data.update(fields)
    return data


GIFTS_FORM = {
    "device": "mobile",
    "country": "FR",
    "daypart": "evening",
    "page": "home",
    "add-0-id": "gifts",
    "add-0-strategy": "category_top",
    "add-0-title": "Gifts for tonight",
    "add-0-category": "party",
    "add-0-template": "rail",
    "add-0-position": "1",
}


def test_every_admin_route_needs_sign_in(studio):
    client = studio.test_client()
    routes = [r for r in studio.url_map.iter_rules() if r.rule.startswith("/admin")]
    assert len(routes) >= 15
    for r in routes:
        if r.endpoint == "admin.login":
            continue
        path = re.sub(r"<int:[a-z_]+>", "1", r.rule)
        for method in sorted(r.methods - {"HEAD", "OPTIONS"}):
            response = client.open(path, method=method)
            assert response.status_code == 302, (method, path)
            assert "/admin/login" in response.headers["Location"]


STUDIO_ENDPOINTS = 27  # the studio's views today (login included); more is fine, fewer is not


def test_every_admin_view_declares_a_role(studio):
    routed = {r.endpoint for r in studio.url_map.iter_rules() if r.rule.startswith("/admin")}
    views = {e for e in studio.view_functions if e.startswith("admin.")}
    assert routed == views and len(views) >= STUDIO_ENDPOINTS  # every view found, none missed
    roles = {e: getattr(studio.view_functions[e], "required_role", None) for e in views}
    assert roles.pop("admin.login") is None  # the one open page
    assert {e: r for e, r in roles.items() if r not in users.ROLES} == {}


def test_sign_in_is_checked_and_rate_limited(studio):
    client = studio.test_client()
    assert client.get("/admin/login").status_code == 200
    bad = client.post("/admin/login", data={"username": "ed", "password": "wrong password"})
    assert bad.status_code == 401 and "Wrong user name or password" in bad.get_data(True)
    for _ in range(10):
        client.post("/admin/login", data={"username": "ed", "password": "wrong password"})
    r = client.post("/admin/login", data={"username": "ed", "password": PASSWORD})
    assert r.status_code == 429 and "Too many attempts" in r.get_data(True)
    # per name and address: another name from the same address (a shared proxy) does not wait
    # (the other limits: tests/integration/test_studio_hardening.py)
    r = client.post("/admin/login", data={"username": "vera", "password": PASSWORD})
    assert r.status_code == 303
    counters = list(studio.extensions["redis"].scan_iter(LOGIN_WINDOWS))
    assert counters  # the failures were counted (by Flask-Limiter, storefront/rate_limits.py)
    for k in counters:
        assert 0 < studio.extensions["redis"].ttl(k) <= 15 * 60
        studio.extensions["redis"].delete(k)
    # open redirects are refused: only /admin paths are followed after sign-in
    other = studio.test_client()
    r = other.post(
        "/admin/login",
        data={"username": "pia", "password": PASSWORD, "next": "//evil.example/"},
    )
    assert r.headers["Location"].endswith("/admin/rules")


def test_passwords_are_hashed(studio):
    from sqlalchemy import select

    from storefront import db

    with studio.extensions["db"].connect() as conn:
        stored = conn.execute(select(db.admin_users.c.password_hash)).scalars().all()
    assert all(h.startswith("scrypt:") and PASSWORD not in h for h in stored)


def test_csrf_is_required_on_every_form(studio):
    studio.config["WTF_CSRF_ENABLED"] = True
    client = studio.test_client()
    r = client.post("/admin/login", data={"username": "pia", "password": PASSWORD})
    assert r.status_code == 400  # no token: not even a sign-in attempt
    page = client.get("/admin/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    r = client.post(
        "/admin/login", data={"username": "pia", "password": PASSWORD, "csrf_token": token}
    )
    assert r.status_code == 303
    for path in ("/admin/rules/new", "/admin/yaml", "/admin/publish", "/admin/logout"):
        assert client.post(path, data={"name": "x"}).status_code == 400, path


def test_viewers_read_but_cannot_change(studio):
    editor = signed_in(studio, "ed")
    editor.post("/admin/rules/new", data=rule_form(**GIFTS_FORM))
    rid = store.draft_rules(studio.extensions["db"])[0].id
    viewer = signed_in(studio, "vera")
    for path in (
        "/admin/rules",
        f"/admin/rules/{rid}",
        "/admin/yaml",
        "/admin/publish",
        "/admin/versions",
        "/admin/audit",
        f"/admin/rules/{rid}/yaml",
    ):
        assert viewer.get(path).status_code == 200, path
    assert "Publishing needs the publisher role" in viewer.get("/admin/publish").get_data(True)
    forbidden = [
        ("/admin/rules/new", rule_form(**GIFTS_FORM)),
        (f"/admin/rules/{rid}", rule_form(**GIFTS_FORM)),
        (f"/admin/rules/{rid}/toggle", {}),
        (f"/admin/rules/{rid}/delete", {}),
        (f"/admin/rules/{rid}/yaml", {"yaml": "name: x"}),
        ("/admin/yaml", {"yaml": "rules: []"}),
        ("/admin/publish", {"note": "x"}),
        ("/admin/versions/1/restore", {}),
    ]
    for path, data in forbidden:
        assert viewer.post(path, data=data).status_code == 403, path
    assert editor.post("/admin/publish", data={}).status_code == 403
    assert store.current(studio.extensions["db"]) is None
    assert len(store.draft_rules(studio.extensions["db"])) == 1


def test_an_editor_writes_a_rule_with_the_form_and_sees_conflicts(studio):
    engine = studio.extensions["db"]
    pid = outside(catalog_of(studio), "party")
    editor = signed_in(studio, "ed")
    form = rule_form(**GIFTS_FORM, **{"pin-0-product": pid, "pin-0-slot": "gifts"})
    r = editor.post("/admin/rules/new", data=form)
    assert r.status_code == 303
    saved = store.draft_rules(engine)[0]
    assert saved.rule.when.device == ("mobile",) and saved.rule.when.country == ("FR",)
    assert saved.rule.then.add[0].params == {"category": "party"}
    assert saved.rule.then.pin[0].product == pid
    # the form shows the rule back as it was saved
    page = editor.get(f"/admin/rules/{saved.id}").get_data(as_text=True)
    assert 'value="Gifts for tonight"' in page and f'value="{pid}"' in page
    # a second rule that hides the pinned product: the conflict shows while writing it
    hide = rule_form(name="No clutter", priority="10", **{"hide_products": pid, "device": "mobile"})
    check = editor.post("/admin/rules/check", data=hide).get_data(as_text=True)
    text = html.unescape(check)
    assert "Evening gifts" in text and f"'No clutter' (priority 10) hides product {pid}" in text
    assert "pins it: the pin wins" in text and "(priority 50)" in text
    assert "Evening gifts wins" in text and "priority 50 over 10" in text
    assert len(store.draft_rules(engine)) == 1  # checking saves nothing
    r = editor.post("/admin/rules/new", data=hide, follow_redirects=True)
    assert "Conflict: " in r.get_data(as_text=True)
    listing = editor.get("/admin/rules").get_data(as_text=True)
    assert "1 conflict" in listing and "Evening gifts wins" in listing


def test_form_problems_name_the_field_and_change_nothing(studio):
    editor = signed_in(studio, "ed")
    bad = rule_form(country="France", **{"pin-0-product": "NOPE"})
    r = editor.post("/admin/rules/new", data=bad)
    html = r.get_data(as_text=True)
    assert r.status_code == 400
    assert "when.country[0]: &#39;FRANCE&#39; is not a two-letter country code" in html
    assert 'value="France"' in html  # what was typed is kept
    r = editor.post("/admin/rules/new", data=rule_form(**{"pin-0-product": "NOPE"}))
    assert "then.pin[0].product: no product &#39;NOPE&#39; in the catalog" in r.get_data(True)
    assert store.draft_rules(studio.extensions["db"]) == []


def test_a_stale_form_is_refused(studio):
    engine = studio.extensions["db"]
    ed = signed_in(studio, "ed")
    ed.post("/admin/rules/new", data=rule_form(**GIFTS_FORM))
    d = store.draft_rules(engine)[0]
    page = ed.get(f"/admin/rules/{d.id}").get_data(as_text=True)
    stamp = re.search(r'name="stamp" type="hidden" value="([^"]+)"', page).group(1)
    ok = ed.post(f"/admin/rules/{d.id}", data=rule_form(**GIFTS_FORM, stamp=stamp, priority="60"))
    assert ok.status_code == 303
    stale = ed.post(f"/admin/rules/{d.id}", data=rule_form(**GIFTS_FORM, stamp=stamp))
    assert stale.status_code == 400 and "since you opened it" in stale.get_data(True)


def test_yaml_view_refuses_broken_yaml_and_changes_nothing(studio):
    engine = studio.extensions["db"]
    ed = signed_in(studio, "ed")
    ed.post("/admin/rules/new", data=rule_form(**GIFTS_FORM))
    before = store.draft(engine)
    broken = "rules:\n  - name: A\n    when: {device: phone}\n    then: {remove: [trending]}\n"
    r = ed.post("/admin/yaml", data={"yaml": broken})
    assert r.status_code == 400
    assert "line 3: rule &#39;A&#39;: when.device" in r.get_data(as_text=True)
    assert store.draft(engine) == before
    good = (
        "rules:\n  - name: A\n    when: {any: [{device: mobile}, {country: FR}]}\n"
        "    then: {remove: [trending]}\n"
    )
    assert ed.post("/admin/yaml", data={"yaml": good}).status_code == 303
    rid = store.draft_rules(engine)[0].id
    # conditions the form cannot show are edited as YAML, never silently dropped
    r = ed.get(f"/admin/rules/{rid}")
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/admin/rules/{rid}/yaml")
    one = "name: A\nwhen: {any: [{device: mobile}, {country: BE}]}\nthen: {remove: [trendng]}\n"
    r = ed.post(f"/admin/rules/{rid}/yaml", data={"yaml": one})
    assert "line 3: rule &#39;A&#39;: then.remove[0]: unknown slot &#39;trendng&#39;" in r.get_data(
        True
    )
    fixed = one.replace("trendng", "trending")
    assert ed.post(f"/admin/rules/{rid}/yaml", data={"yaml": fixed}).status_code == 303
    assert store.draft(engine).rules[0].when.any_[1].country == ("BE",)


def test_publish_restore_and_audit_through_the_studio(studio, client):
    engine = studio.extensions["db"]
    ed = signed_in(studio, "ed")
    pia = signed_in(studio, "pia")
    ed.post("/admin/rules/new", data=rule_form(name="No trending", remove="trending"))
    review = pia.get("/admin/publish").get_data(as_text=True)
    assert "+- name: No trending" in review
    r = pia.post("/admin/publish", data={"note": "first go"})
    assert r.status_code == 303
    first = store.current(engine)
    assert first.note == "first go" and first.created_by == "pia"
    assert "trending" not in slots(client.get("/").get_data(True))
    rid = store.draft_rules(engine)[0].id
    ed.post(f"/admin/rules/{rid}/toggle")
    assert not store.draft(engine).rules[0].enabled
    pia.post("/admin/publish", data={"note": "off again"})
    assert "trending" in slots(client.get("/").get_data(True))
    versions = pia.get("/admin/versions").get_data(as_text=True)
    assert first.label in versions and "off again" in versions
    assert pia.post(f"/admin/versions/{first.id}/restore").status_code == 303
    assert store.current(engine).restored_from == first.id
    assert "trending" not in slots(client.get("/").get_data(True))
    audit = pia.get("/admin/audit").get_data(as_text=True)
    for action in ("create", "disable", "publish", "restore"):
        assert f'data-action="{action}"' in audit
    assert "+  enabled: false" in audit
    shown = pia.get(f"/admin/versions/{first.id}").get_data(as_text=True)
    assert "No trending" in shown


def test_signing_out(studio):
    vera = signed_in(studio, "vera")
    assert vera.post("/admin/logout").status_code == 303
    assert vera.get("/admin/rules").status_code == 302


@pytest.mark.parametrize("digit", ["²", "٣", "1" * 400])
def test_numbers_in_studio_requests_are_ascii_digits_of_bounded_length(studio, digit):
    """str.isdigit() says yes to '²' and '٣', which int() refuses (a 500), and to a 400-digit
    number that no database id column holds: each must be treated as not a number."""
    editor = signed_in(studio, "ed")
    assert editor.get(f"/admin/audit?before={digit}").status_code == 200
    hide = rule_form(name="No clutter", priority="10", hide_products="85123A", rule_id=digit)
    assert editor.post("/admin/rules/check", data=hide).status_code == 200
    lift = rule_form(
        name="New things", priority="10", **{"lift-0-attribute": "new_days", "lift-0-value": digit}
    )
    assert editor.post("/admin/rules/check", data=lift).status_code == 200
    assert store.get_version(studio.extensions["db"], f"v{digit}") is None
