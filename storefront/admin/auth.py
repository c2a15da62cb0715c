"""Signing in to the studio, and the roles every route requires (enforced on the server).

Every /admin route needs a signed-in user (the blueprint checks before any view runs) and
declares the least role it needs with @requires. Sign-in attempts are counted in Redis per
client address and per user name, so guessing passwords is slow; the session is renewed at
sign-in (no fixation) and expires after a working day.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import Any

import redis
from flask import abort, current_app, g, redirect, request, session, url_for

from storefront.admin import users
from storefront.redis_client import get_redis, key

LOGIN = "login"  # Redis: failed sign-ins per address / per name (counter, TTL WINDOW)
WINDOW = 15 * 60
MAX_FAILURES = 10  # per address or per name within WINDOW
SESSION_HOURS = 12


def _failure_keys(username: str) -> list[str]:
    return [key(LOGIN, "ip", request.remote_addr or "-"), key(LOGIN, "user", username[:64])]


def too_many_attempts(username: str) -> int:
    """Seconds to wait before another attempt, or 0. Redis down: attempts are not limited
    (the passwords are still slow scrypt hashes)."""
    try:
        client = get_redis()
        counts = client.mget(_failure_keys(username))
        if max(int(c or 0) for c in counts) < MAX_FAILURES:
            return 0
        return max(0, *(client.ttl(k) for k in _failure_keys(username)))
    except redis.RedisError:
        return 0


def record_failure(username: str) -> None:
    try:
        pipe = get_redis().pipeline(transaction=True)
        for k in _failure_keys(username):
            pipe.incr(k)
            pipe.expire(k, WINDOW)
        pipe.execute()
    except redis.RedisError:
        pass


def clear_failures(username: str) -> None:
    try:
        get_redis().delete(key(LOGIN, "user", username[:64]))
    except redis.RedisError:
        pass


def sign_in(user: users.User) -> None:
    session.clear()  # a fresh session: nothing from before sign-in carries over
    session["admin"] = user.username
    session["admin_since"] = int(time.time())


def sign_out() -> None:
    session.pop("admin", None)
    session.pop("admin_since", None)


def load_user() -> users.User | None:
    """The signed-in user, read from the database on every request so a changed role or a
    removed user takes effect at once."""
    name = session.get("admin")
    since = session.get("admin_since", 0)
    if not name or time.time() - since > SESSION_HOURS * 3600:
        return None
    return users.get(current_app.extensions["db"], name)


def requires(role: str) -> Callable:
    """The least role a view needs; a user without it gets 403 (viewer < editor < publisher)."""
    if role not in users.ROLES:
        raise ValueError(f"unknown role {role!r}")

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any):
            user = g.get("admin_user")
            if user is None:
                return redirect(url_for("admin.login", next=request.full_path))
            if not user.can(role):
                abort(403, description=f"this needs the {role} role; you are a {user.role}")
            return view(*args, **kwargs)

        wrapped.required_role = role  # type: ignore[attr-defined]
        return wrapped

    return decorate


def safe_next(target: str | None) -> str:
    """Only paths within the studio: never an open redirect."""
    if target and target.startswith("/admin") and not target.startswith("//"):
        return target
    return url_for("admin.rules")
