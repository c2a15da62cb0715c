"""The shop's CSRF check before every request (storefront._csrf_protect): flask_wtf's own,
asked only for the methods it protects, with its exemptions (the events beacon)."""

from __future__ import annotations

import re
import time


def _app(shop_env):
    from storefront import create_app

    app = create_app(
        {
            "home": shop_env["home"],
            "database_url": shop_env["database_url"],
            "redis_url": shop_env["redis_url"],
            "testing": True,
        }
    )

    @app.route("/__probe", methods=["GET", "POST", "PUT", "DELETE"])
    def probe():  # no form of its own: only the before-request check can refuse it
        return "ok"

    return app


def test_unsafe_methods_need_the_token_and_safe_ones_and_exemptions_do_not(shop_env):
    app = _app(shop_env)
    c = app.test_client()
    assert c.get("/__probe").status_code == 200
    for method in ("post", "put", "delete"):
        assert getattr(c, method)("/__probe").status_code == 400, method
    pid = next(iter(app.extensions["models"].get().catalog.products))
    page = c.get(f"/p/{pid}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    assert c.post("/__probe", data={"csrf_token": token}).status_code == 200
    assert c.post("/__probe", headers={"X-CSRFToken": token}).status_code == 200
    # the events blueprint is exempt: a beacon carries no token
    event = {"id": "csrf-probe-1", "type": "view", "product_id": pid, "ts": int(time.time() * 1000)}
    assert c.post("/events", json={"events": [event]}).status_code == 202
    app.config["WTF_CSRF_ENABLED"] = False
    assert c.post("/__probe").status_code == 200


TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def test_a_pages_token_is_kept_by_session_cookie_and_signed_anew_when_the_session_changes(
    either_store,
):
    """The templates' csrf_token() is page_memo.token: the token made for a session cookie is
    kept and put in that cookie's later pages (no signing per page), it is valid, and a request
    that changed its session gets one signed for the new secret."""
    from flask import session
    from flask_wtf.csrf import ValidationError, validate_csrf

    from storefront import page_memo

    app = either_store
    c = app.test_client()
    home = c.get("/").get_data(as_text=True)  # products the shop shows
    pids = list(dict.fromkeys(re.findall(r'data-product-id="([^"]+)"', home)))[:3]
    name = app.config["SESSION_COOKIE_NAME"]
    c.get(f"/p/{pids[0]}")  # its basket form's secret goes into a new session cookie
    cookie = c.get_cookie(name).value
    before = TOKEN.search(c.get(f"/p/{pids[1]}").get_data(as_text=True)).group(1)
    time.sleep(1.1)  # a token signed now would carry another timestamp
    kept = TOKEN.search(c.get(f"/p/{pids[2]}").get_data(as_text=True)).group(1)
    assert kept == before  # the cookie's token, not signed again
    assert c.get_cookie(name).value == cookie  # the same session throughout
    with app.test_request_context("/", headers={"Cookie": f"{name}={cookie}"}):
        validate_csrf(kept)  # valid for the cookie's secret
        assert page_memo.token() == kept
        session.clear()  # a request that changes its session (a sign-in clears it)
        fresh = page_memo.token()
        assert fresh != kept
        validate_csrf(fresh)  # the new secret's
        try:
            validate_csrf(kept)
        except ValidationError:
            pass
        else:
            raise AssertionError("the old secret's token passed after the session changed")
