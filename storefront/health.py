"""GET /healthz: can this worker serve? Database, cache and model, each reported.

200 while the shop can build pages (it has a catalog in memory): "ok" when everything answers,
"degraded" when the session store ("cache"), the fragment cache (reported as "fragment_cache"
when it is a server of its own), the database or the model is missing (pages still render, and say
why here and in the logs). 503 only when there is nothing to serve.
"""

from __future__ import annotations

import redis
from flask import Blueprint, current_app, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from storefront.model_holder import snapshot
from storefront.redis_client import get_cache, get_redis

bp = Blueprint("health", __name__)


def _ping(client: redis.Redis) -> str:
    """Its state: "ok", or why not ("degraded: circuit open" while its breaker is open, which
    costs no wait)."""
    if client.breaker.is_open:
        return "degraded: circuit open"
    try:
        client.ping()
        return "ok"
    except redis.RedisError as exc:
        return f"degraded: {exc.__class__.__name__}"


@bp.get("/healthz")
def healthz():
    checks: dict[str, object] = {}
    try:
        with current_app.extensions["db"].connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except SQLAlchemyError as exc:
        checks["database"] = f"error: {exc.__class__.__name__}"
    checks["cache"] = _ping(get_redis())  # the session store (historical name)
    if current_app.extensions["cache"] is not get_redis():  # a cache server of its own
        checks["fragment_cache"] = _ping(get_cache())
    model_ok = False
    try:
        snap = snapshot()
        checks["products"] = len(snap.catalog)
        checks["model"] = snap.model_version
        model_ok = snap.model is not None
        if not model_ok:
            checks["model_note"] = f"{snap.model_error}; serving popularity"
    except SQLAlchemyError as exc:
        checks["products"] = f"error: {exc.__class__.__name__}"
    can_serve = isinstance(checks.get("products"), int) and checks["products"] > 0
    healthy = (
        checks["cache"] == checks.get("fragment_cache", "ok") == "ok"
        and checks["database"] == "ok"
        and model_ok
    )
    status = "ok" if can_serve and healthy else ("degraded" if can_serve else "unavailable")
    return jsonify({"status": status, **checks}), 200 if can_serve else 503
