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
