"""Signing in to the studio, and the roles every route requires (enforced on the server).

Every /admin route needs a signed-in user (the blueprint checks before any view runs) and
declares the least role it needs with @requires. A sign-in is a row on the server
(sessions.py): the cookie carries only its token, so signing out ends it for good.

Failed sign-ins are counted in Redis by Flask-Limiter (storefront/rate_limits.py; each window
with a TTL of WINDOW), in a way that an attacker cannot use to lock real users out (OWASP's
"device cookies"):

- a browser that has signed in as a user before carries a signed device cookie for that name;
  its attempts count only against that device (MAX_FAILURES), wherever it is;
- any other attempt counts against the pair (name, address) (MAX_FAILURES), the name from
  anywhere (MAX_PER_NAME) and the address for any name (MAX_PER_ADDRESS).

So a flood of made-up names from one address locks out neither a real user with a device
cookie nor, below MAX_PER_ADDRESS, anyone else there; and one person's mistakes behind a
shared proxy address lock out only that person's name there.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Response, abort, current_app, g, redirect, request, session, url_for
from itsdangerous import BadSignature, URLSafeTimedSerializer

from storefront import rate_limits
from storefront.admin import sessions, users

WINDOW = 15 * 60
MAX_FAILURES = 10  # per device cookie, or per (name, address) without one
MAX_PER_NAME = 50  # per name without a device cookie, from any address
MAX_PER_ADDRESS = 50  # per address without a device cookie, any name
# failed sign-ins per device / name+address / name / address (Flask-Limiter windows, TTL WINDOW)
PER_DEVICE = rate_limits.Window("login/device", MAX_FAILURES, WINDOW)
PER_PAIR = rate_limits.Window("login/pair", MAX_FAILURES, WINDOW)
PER_NAME = rate_limits.Window("login/user", MAX_PER_NAME, WINDOW)
PER_ADDRESS = rate_limits.Window("login/ip", MAX_PER_ADDRESS, WINDOW)
SESSION_HOURS = 12
DEVICE_COOKIE = "sf_studio_device"
DEVICE_DAYS = 180
SESSION_KEY = "admin_sid"


def _signer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="studio-device")


def _device(username: str) -> str | None:
    """The id of this browser's device cookie if it was issued for `username`, else None."""
    raw = request.cookies.get(DEVICE_COOKIE)
    if not raw:
        return None
    try:
        name, device = _signer().loads(raw, max_age=DEVICE_DAYS * 86400)
    except (BadSignature, ValueError, TypeError):
        return None
    return device if name == username and isinstance(device, str) else None


def _checks(username: str) -> list[rate_limits.Check]:
    """The windows an attempt for `username` is judged by (and counted in)."""
    name = username[:64]
    device = _device(name)
    if device is not None:
        return [(PER_DEVICE, (device,))]
    address = client_address()
    return [(PER_PAIR, (address, name)), (PER_NAME, (name,)), (PER_ADDRESS, (address,))]


def client_address() -> str:
    """The client's address: with STOREFRONT_TRUST_PROXY the proxy's ProxyFix has already put
    the address the proxy saw (its X-Forwarded-For entry) into remote_addr."""
    return request.remote_addr or "-"


def too_many_attempts(username: str) -> int:
    """Seconds to wait before another attempt, or 0. Redis down: attempts are not limited
    (the passwords are still slow scrypt hashes)."""
    return rate_limits.wait_seconds(_checks(username))


def record_failure(username: str) -> None:
    rate_limits.hit(_checks(username))


def clear_failures(username: str) -> None:
    """A right password clears this device's or this (name, address)'s count; the name's and
    the address's totals stay, so one success does not reset an attacker's budget."""
    window, who = _checks(username)[0]
    rate_limits.clear(window, *who)


def is_https() -> bool:
    """Did the request come over HTTPS (directly, or to a trusted proxy: see ProxyFix)?"""
    return request.is_secure


def sign_in(user: users.User, response: Response) -> Response:
    """Start a server-side session (a fresh cookie: nothing from before carries over) and give
    this browser a device cookie for the user."""
    session.clear()
    session[SESSION_KEY] = sessions.start(
        current_app.extensions["db"], user.username, SESSION_HOURS
    )
    device = _device(user.username) or secrets.token_urlsafe(16)
    response.set_cookie(
        DEVICE_COOKIE,
        _signer().dumps([user.username, device]),
        max_age=DEVICE_DAYS * 86400,
        path="/admin",
        secure=is_https(),
        httponly=True,
        samesite="Strict",
    )
    return response


def sign_out() -> None:
    """End the session on the server too: the cookie, replayed, no longer signs anyone in."""
    token = session.get(SESSION_KEY)
    if token:
        sessions.end(current_app.extensions["db"], token)
    session.clear()


def load_user() -> users.User | None:
    """The signed-in user, read from the database on every request so signing out, a changed
    role or a removed user takes effect at once."""
    token = session.get(SESSION_KEY)
    if not isinstance(token, str):
        return None
    found = sessions.user_of(current_app.extensions["db"], token)
    return users.User(*found) if found else None


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
