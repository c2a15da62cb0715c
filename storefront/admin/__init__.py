"""The merchandiser studio under /admin: sign-in with roles, rules, preview, impact, publish.

Every route needs a signed-in user (checked here, before any view) and names the least role it
needs (auth.requires). Responses are never cached and never framed.
"""

from __future__ import annotations

from flask import Blueprint, g, redirect, request, url_for

bp = Blueprint("admin", __name__, url_prefix="/admin")
OPEN_ENDPOINTS = ("admin.login",)


@bp.before_request
def _signed_in():
    from storefront.admin.auth import load_user

    g.admin_user = load_user()
    if g.admin_user is None and request.endpoint not in OPEN_ENDPOINTS:
        return redirect(url_for("admin.login", next=request.full_path.rstrip("?")))
    return None


@bp.after_request
def _private(response):
    response.headers["Cache-Control"] = "no-store"
    return response


from storefront.admin import (  # noqa: E402,F401 - routes
    experiments,
    history,
    holdout,
    pickers,
    preview,
    rule_check,
    segments,
    views,
)
