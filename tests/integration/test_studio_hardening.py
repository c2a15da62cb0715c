"""Issue #16, items 3 and 6, through the real app (SQLite, embedded Redis) and the real command:
YAML bombs get a 400 in the studio and a message in the CLI; sign-in limits that an attacker
cannot turn against real users; Secure cookies and HSTS over HTTPS; sessions that end on the
server. A shop without a catalog or model is enough, so these run in seconds."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from sqlalchemy import delete, update

from storefront import create_app, db, rate_limits
from storefront.admin import auth, users
from storefront.config import load_settings
from storefront.rules import store
from storefront.rules.schema import Rule
from tests.conftest import ROOT
from tests.helpers import migrate
from tests.unit.test_rules_yaml_bounds import alias_bomb, deep

PASSWORD = "a long enough password"
LOGIN_WINDOWS = f"{rate_limits.KEY_PREFIX}:LIMITER/login/*"  # failed studio sign-ins
PEOPLE = (("vera", "viewer"), ("ed", "editor"), ("pia", "publisher"))


def _make(home, redis_url: str, **settings):
    config = {"home": home, "redis_url": redis_url, "testing": True, **settings}
    migrate(load_settings(overrides=config).effective_database_url)  # a fresh home's database
    app = create_app(config)
    app.config["WTF_CSRF_ENABLED"] = False
    return app


@pytest.fixture(scope="module")
def apps(tmp_path_factory, embedded_redis_url):
    """The studio as it runs directly, and the same shop behind a trusted proxy."""
    home = tmp_path_factory.mktemp("studio")
    direct = _make(home, embedded_redis_url)
    proxied = _make(home, embedded_redis_url, trust_proxy=True)
    yield direct, proxied
    for app in (direct, proxied):
        app.extensions["db"].dispose()
        app.extensions["redis"].close()


@pytest.fixture
def studio(apps):
    """The direct app, with three users, no sessions and no sign-in counters."""
    app = apps[0]
    engine = app.extensions["db"]
    with engine.begin() as conn:
        for table in (db.admin_sessions, db.admin_users, db.rule_drafts):
            conn.execute(delete(table))
    for k in app.extensions["redis"].scan_iter(LOGIN_WINDOWS):
        app.extensions["redis"].delete(k)
    for name, role in PEOPLE:
        users.create(engine, name, PASSWORD, role)
    return app


def sign_in(client, name: str, password: str = PASSWORD, **kw):
    return client.post("/admin/login", data={"username": name, "password": password}, **kw)


def signed_in(app, name: str, **kw):
    client = app.test_client(**kw)
    r = sign_in(client, name)
    assert r.status_code == 303, r.get_data(as_text=True)
    return client


# ---- YAML bombs ------------------------------------------------------------------------------

SEASONAL = {"name": "A", "then": {"remove": ["seasonal"]}}
BOMBS = {
    "deep": (deep(3000), "line 1: nested more than 40 levels deep"),
    "alias": (alias_bomb(7), "line 7: aliases (*l0) are not accepted; write the value out"),
}


@pytest.mark.parametrize("bomb", sorted(BOMBS))
def test_the_studio_answers_a_yaml_bomb_with_a_400_naming_it(studio, bomb):
    text, problem = BOMBS[bomb]
    engine = studio.extensions["db"]
    rule_id = store.save_rule(engine, "t", Rule.model_validate(SEASONAL))
    ed = signed_in(studio, "ed")
    for path in ("/admin/yaml", f"/admin/rules/{rule_id}/yaml"):
        r = ed.post(path, data={"yaml": text})
        assert r.status_code == 400, (path, r.status_code)
        assert problem in r.get_data(as_text=True), path
    assert [r.rule.name for r in store.draft_rules(engine)] == ["A"]  # nothing changed


def test_an_oversized_yaml_form_is_refused_by_size_not_as_an_expired_form(studio):
    ed = signed_in(studio, "ed")
    r = ed.post("/admin/yaml", data={"yaml": "rules: []\n" + ("#" + "a" * 99 + "\n") * 6000})
    assert r.status_code == 400 and "larger than 512 KiB" in r.get_data(as_text=True)


def _cli(home, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "STOREFRONT_HOME": str(home)}
    env.pop("STOREFRONT_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "storefront.cli", "rules", *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        timeout=120,
    )


def test_the_cli_refuses_bad_files_with_a_message_and_no_traceback(tmp_path):
    files = {
        "deep.yaml": (deep(3000).encode(), "line 1: nested more than 40 levels deep"),
        "bomb.yaml": (alias_bomb(7).encode(), "line 7: aliases (*l0) are not accepted"),
        "huge.yaml": (b"rules: []\n" + b"#" * 600 * 1024, "larger than 512 KiB"),
        "latin1.yaml": ("rules: []\n# café\n".encode("latin-1"), "not UTF-8 text"),
    }
    for name, (body, _) in files.items():
        (tmp_path / name).write_bytes(body)
    cases = [(str(tmp_path / n), m) for n, (_, m) in files.items()]
    cases.append((str(tmp_path / "missing.yaml"), "cannot read the file"))
    for i, (path, message) in enumerate(cases):
        command = "import" if i == 0 else "validate"  # both read through the same _load
        done = _cli(tmp_path, command, path)
        err = done.stderr.decode()
        assert done.returncode == 1, (command, path, err)
        assert "refused, nothing was changed" in err and message in err, (command, err)
        assert "Traceback" not in err
    piped = _cli(tmp_path, "validate", "-", stdin=deep(3000).encode())
    assert piped.returncode == 1 and b"levels deep" in piped.stderr


# ---- signing in: limits an attacker cannot turn against real users ---------------------------


def test_a_flood_of_made_up_names_does_not_lock_out_a_real_user(studio):
    attacker = studio.test_client()
    for i in range(auth.MAX_PER_ADDRESS - 1):
        assert sign_in(attacker, f"nobody{i}", "guess").status_code == 401
    # the same address (an office, or every user behind a proxy): the publisher still gets in
    assert sign_in(studio.test_client(), "pia").status_code == 303


def test_past_the_address_limit_only_browsers_without_a_device_cookie_wait(studio):
    pia = signed_in(studio, "pia")  # this browser now has a device cookie for pia
    pia.post("/admin/logout")
    attacker = studio.test_client()
    for i in range(auth.MAX_PER_ADDRESS + 5):
        sign_in(attacker, f"nobody{i}", "guess")
    assert sign_in(attacker, "ed").status_code == 429  # a new browser at that address waits
    assert sign_in(pia, "pia").status_code == 303  # the real publisher's browser does not


def test_one_persons_mistakes_behind_a_shared_address_lock_only_their_name(studio):
    ed = studio.test_client()
    for _ in range(auth.MAX_FAILURES):
        assert sign_in(ed, "ed", "wrong password").status_code == 401
    assert sign_in(ed, "ed").status_code == 429  # ed, from here, waits
    r = sign_in(studio.test_client(), "vera")  # everyone else at this address does not
    assert r.status_code == 303
    counters = list(studio.extensions["redis"].scan_iter(LOGIN_WINDOWS))
    assert counters  # counted by Flask-Limiter (storefront/rate_limits.py), each with a TTL
    for k in counters:
        assert 0 < studio.extensions["redis"].ttl(k) <= auth.WINDOW


def test_guessing_one_name_from_many_addresses_is_limited_per_name(apps, studio):
    proxied = apps[1]
    for i in range(auth.MAX_PER_NAME):
        ip = {"X-Forwarded-For": f"203.0.113.{i}"}
        assert sign_in(proxied.test_client(), "ed", "guess", headers=ip).status_code == 401
    fresh = {"X-Forwarded-For": "198.51.100.7"}
    assert sign_in(proxied.test_client(), "ed", headers=fresh).status_code == 429
    assert sign_in(proxied.test_client(), "vera", headers=fresh).status_code == 303


def test_behind_a_trusted_proxy_each_client_address_is_counted_apart(apps, studio):
    proxied = apps[1]
    flood = {"X-Forwarded-For": "203.0.113.9"}
    for i in range(auth.MAX_PER_ADDRESS + 1):
        sign_in(proxied.test_client(), f"nobody{i}", "guess", headers=flood)
    assert sign_in(proxied.test_client(), "ed", headers=flood).status_code == 429
    other = {"X-Forwarded-For": "198.51.100.8"}
    assert sign_in(proxied.test_client(), "ed", headers=other).status_code == 303


# ---- cookies over HTTPS ----------------------------------------------------------------------


def _cookie_and_hsts(client, **kw) -> tuple[str, str | None]:
    r = sign_in(client, "pia", **kw)
    assert r.status_code == 303
    session = next(c for c in r.headers.getlist("Set-Cookie") if c.startswith("session="))
    return session, r.headers.get("Strict-Transport-Security")


def test_over_https_the_session_cookie_is_secure_and_hsts_is_sent(apps, studio):
    direct, proxied = apps
    forwarded = {"X-Forwarded-Proto": "https"}
    cases = [
        (direct.test_client(), {}, False),
        (direct.test_client(), {"base_url": "https://shop.example"}, True),  # TLS to the app
        (direct.test_client(), {"headers": forwarded}, False),  # not trusted: anyone can say it
        (proxied.test_client(), {"headers": forwarded}, True),  # TLS ends at a trusted proxy
        (proxied.test_client(), {}, False),
    ]
    for client, kw, https in cases:
        cookie, hsts = _cookie_and_hsts(client, **kw)
        assert ("; Secure" in cookie) is https, (kw, cookie)
        assert (hsts == "max-age=31536000") is https, (kw, hsts)
    page = proxied.test_client().get("/admin/login", headers=forwarded)
    assert page.headers["Strict-Transport-Security"] == "max-age=31536000"


# ---- sessions that end on the server ---------------------------------------------------------


def _replay(app, client):
    """A new browser carrying a copy of `client`'s session cookie."""
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    return thief


def test_a_session_cookie_replayed_after_logout_is_refused(studio):
    pia = signed_in(studio, "pia")
    thief = _replay(studio, pia)
    assert thief.get("/admin/rules").status_code == 200  # the copy works while signed in
    assert pia.post("/admin/logout").status_code == 303
    for client in (thief, pia):
        r = client.get("/admin/rules")
        assert r.status_code == 302 and "/admin/login" in r.headers["Location"]


def test_changing_a_role_or_removing_a_user_ends_their_sessions(studio):
    engine = studio.extensions["db"]
    ed, pia = signed_in(studio, "ed"), signed_in(studio, "pia")
    users.set_role(engine, "ed", "viewer")
    assert ed.get("/admin/rules").status_code == 302
    assert pia.get("/admin/rules").status_code == 200  # others are untouched
    users.remove(engine, "pia")
    assert pia.get("/admin/rules").status_code == 302
    ed = signed_in(studio, "ed")  # signing in again works, with the new role
    assert ed.post("/admin/yaml", data={"yaml": "rules: []"}).status_code == 403


def test_a_session_past_its_hours_is_refused(studio):
    pia = signed_in(studio, "pia")
    with studio.extensions["db"].begin() as conn:
        conn.execute(update(db.admin_sessions).values(expires=db.admin_sessions.c.created))
    assert pia.get("/admin/rules").status_code == 302
