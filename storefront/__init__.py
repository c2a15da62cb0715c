"""Storefront: a shop whose every page is built per request for the person looking at it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis
from flask import Flask, current_app, jsonify, request
from flask_wtf.csrf import CSRFProtect
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException

from storefront.config import Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent
csrf = CSRFProtect()


class StorefrontFlask(Flask):
    """Flask, remembering which functions are plain (not `async def`): Flask asks
    ensure_sync of every hook, view and template context processor on every request, and
    each asking inspects the function (inspect.iscoroutinefunction); the answer for one
    function never changes. Bounded; an async function is wrapped by Flask each time."""

    _PLAIN_MAX = 4096

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._plain: set[Any] = set()

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        try:
            if func in self._plain:
                return func
        except TypeError:  # an unhashable callable: asked every time
            return super().ensure_sync(func)
        found = super().ensure_sync(func)
        if found is func and len(self._plain) < self._PLAIN_MAX:
            self._plain.add(func)
        return found


def _csrf_protect() -> None:
    """flask_wtf's before-request check (CSRFProtect.protect with the exemptions applied), for
    a request whose method it protects (POST, PUT, PATCH, DELETE): for any other it returns
    without a check, after looking up the exemptions for nothing."""
    config = current_app.config
    if config["WTF_CSRF_ENABLED"] and request.method in config["WTF_CSRF_METHODS"]:
        csrf.protect(apply_exemptions=True)


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """The app factory: settings, resources (db, redis, models, geo), then blueprints."""
    from storefront import (
        db,
        fragments,
        holders,
        links,
        metrics,
        model_holder,
        page_memo,
        qa_snapshot,
        rate_limits,
        redis_client,
        security,
        shared_secret,
        visitor,
    )
    from storefront.admin import bp as admin_bp
    from storefront.api import bp as api_bp
    from storefront.events import bp as events_bp
    from storefront.health import bp as health_bp
    from storefront.rules import holder as rules_holder
    from storefront.session import SessionStore
    from storefront.shop import bp as shop_bp
    from storefront.signals import GeoLocator

    settings: Settings = load_settings(overrides=test_config)
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    app = StorefrontFlask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "assets"),
        static_url_path="/assets",
    )
    settings.home.mkdir(parents=True, exist_ok=True)
    engine = db.make_engine(settings.effective_database_url)
    try:  # never serve a schema this code was not written for: one line, no traceback
        db.require_schema(engine)
        settings = shared_secret.with_secret(settings, engine)  # the same on every node
    except Exception:
        engine.dispose()
        raise
    app.config.update(
        SETTINGS=settings,
        SECRET_KEY=settings.secret_key,
        TESTING=settings.testing,
        MAX_CONTENT_LENGTH=1024 * 1024,
        WTF_CSRF_TIME_LIMIT=None,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        TEMPLATES_AUTO_RELOAD=False,
    )
    app.extensions["db"] = engine
    metrics.init_app(app)  # /metrics; its hooks time every request (before the blueprints')
    redis_client.init_app(app)
    rate_limits.init_app(app)  # Flask-Limiter, on the session store's Redis
    app.extensions["sessions"] = SessionStore(
        app.extensions["redis"],
        settings.session_ttl,
        app.extensions["cache"],
        visit_idle=settings.visit_idle,
    )
    from storefront.trending import RedisTrends

    app.extensions["trends"] = RedisTrends(app.extensions["redis"], settings.trending_live_days)
    app.extensions["geo"] = GeoLocator(settings.geo_headers, settings.geoip_db or None)
    model_holder.init_app(app)  # model, rules, experiments: each worker's Versioned holders,
    rules_holder.init_app(app)  # read once per request (holders.py)
    holders.init_app(app)
    from storefront.experiments.exposures import Exposures

    app.extensions["exposures"] = Exposures(engine, app.extensions["redis"])
    # flask_wtf's own check runs its exemption look-ups (blueprint, view name) before it looks
    # at the method, on every request; _csrf_protect asks it only for the methods it protects
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    csrf.init_app(app)
    app.before_request(_csrf_protect)
    # the templates' csrf_token(): flask_wtf's token, kept by session cookie (page_memo.token)
    app.jinja_env.globals["csrf_token"] = page_memo.token
    visitor.init_app(app)
    security.init_app(app)
    qa_snapshot.init_app(app)

    _warm_up(app)
    from storefront.countries import country_name

    app.jinja_env.filters["country_name"] = lambda code: country_name(code) or code
    from storefront.page_cache import clock_text

    app.jinja_env.globals["clock_text"] = clock_text  # the one format a cached page refreshes
    links.init_app(app)  # link(), product_links(): url_for's strings, cheaper
    fragments.init_app(app)  # category_nav(), shows_template(): the page template's helpers
    app.register_blueprint(shop_bp)
    app.register_blueprint(events_bp)
    app.register_blueprint(health_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(admin_bp)  # the merchandiser studio, /admin
    csrf.exempt(events_bp)  # JSON beacons, same-origin by CSP connect-src; validated strictly

    @app.errorhandler(redis.RedisError)
    def _cache_down(exc: redis.RedisError):
        """Pages degrade without Redis; a change that needs it is refused clearly (503)."""
        logging.getLogger(__name__).warning("cache unavailable: %s", exc)
        return _unavailable("the session store is unavailable; nothing was changed, try again")

    @app.errorhandler(DBAPIError)
    def _db_down(exc: DBAPIError):
        logging.getLogger(__name__).warning("database unavailable: %s", exc.__class__.__name__)
        return _unavailable("the database is unavailable; nothing was written, try again")

    def _unavailable(message: str):
        from flask import render_template
        from werkzeug.exceptions import ServiceUnavailable

        if request.path.startswith(("/events", "/health", "/api")) or request.is_json:
            response = jsonify({"error": message})
        else:
            response = app.make_response(
                render_template("error.html", error=ServiceUnavailable(message))
            )
        response.status_code = 503
        response.headers["Retry-After"] = "5"
        return response

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        # the exception's own headers stay (a 405's Allow, a 401's WWW-Authenticate)
        headers = [(k, v) for k, v in exc.get_headers() if k.lower() != "content-type"]
        if request.path.startswith(("/events", "/health", "/api")):
            headers.append(("Cache-Control", "no-store"))
            return jsonify({"error": exc.description or exc.name}), exc.code, headers
        from flask import render_template

        return render_template("error.html", error=exc), exc.code, headers

    return app


def _warm_up(app: Flask) -> None:
    """Pay one-time costs (UA regexes, holiday tables, catalog and model load) at boot, not on
    a shopper's first request."""
    from datetime import UTC, datetime

    from sqlalchemy.exc import SQLAlchemyError

    from storefront.signals import device_class, local_time

    device_class("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0")
    settings: Settings = app.config["SETTINGS"]
    # with a country, so that a holiday table loads: the first one loads the holidays
    # library's shared parts (about 0.1 s), each further country about 1 ms; any country does
    local_time(datetime.now(UTC), settings.default_country or "US", None, settings.store_timezone)
    try:
        app.extensions["models"].get()
    except SQLAlchemyError as exc:  # the database may come later; the first request retries
        logging.getLogger(__name__).warning("catalog not loaded at start: %s", exc)
