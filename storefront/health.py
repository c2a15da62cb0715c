"""Health: GET /healthz (can this worker serve? everything reported), and the probes an
orchestrator asks: GET /health/live (the process answers; no dependency is asked, so a database
outage never gets workers restarted) and GET /health/ready (send it traffic? 503 naming what
fails: the database, its schema, the catalog, the session store or the cache).

/healthz:

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

from storefront.migrations import SchemaNotCurrent, require_head
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


@bp.get("/health/live")
def live():
    """The process is up and its worker answers: no dependency is checked."""
    return jsonify({"status": "alive"}), 200, {"Cache-Control": "no-store"}


def _database() -> str:
    """ "ok", or what is wrong: unreachable, or a schema other than this release's head."""
    try:
        require_head(current_app.extensions["db"])
    except SchemaNotCurrent:
        return "schema not current (run `storefront db upgrade`)"
    except SQLAlchemyError as exc:
        return f"unreachable: {exc.__class__.__name__}"
    return "ok"


@bp.get("/health/ready")
def ready():
    """Ready for shoppers: the database answers at the current schema, a catalog is loaded
    (with a model, or the popularity fallback: both serve), and Redis answers (the session
    store, and the cache when it is a server of its own). 503 names each failing part."""
    checks: dict[str, str] = {"database": _database()}
    try:
        snap = current_app.extensions["models"].get()
        if not len(snap.catalog):
            checks["catalog"] = "empty: import products or orders"
        else:
            checks["catalog"] = "ok"
        checks["model"] = snap.model_version if snap.model is not None else "popularity"
    except Exception as exc:  # no catalog could be loaded at all
        checks["catalog"] = f"not loaded: {exc.__class__.__name__}"
    checks["redis"] = _ping(get_redis())
    if current_app.extensions["cache"] is not get_redis():
        checks["cache"] = _ping(get_cache())
    failing = [name for name, state in checks.items() if name != "model" and state != "ok"]
    body = {"status": "not ready" if failing else "ready", "failing": failing, **checks}
    return jsonify(body), 503 if failing else 200, {"Cache-Control": "no-store"}
