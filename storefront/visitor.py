"""The visitor id: a random token in the signed `sid` cookie, issued on the first page.

Signed so that a forged or tampered cookie is simply replaced by a fresh id instead of letting
anyone read or pollute another visitor's session.
"""

from __future__ import annotations

import re
import secrets
from functools import lru_cache

from flask import Flask, Response, current_app, g, request
from itsdangerous import BadSignature, Signer

from storefront.core.lookup import lookup

COOKIE = "sid"
MAX_AGE = 60 * 60 * 24 * 365
_ID = re.compile(r"^[A-Za-z0-9_-]{16,43}$")


SALT = "storefront.visitor"


def _signer() -> Signer:
    return Signer(current_app.config["SECRET_KEY"], salt=SALT)


def new_visitor_id() -> str:
    return secrets.token_urlsafe(16)


def read_visitor_id(raw: str | None) -> str | None:
    """The visitor id in a cookie value, or None when it is missing, malformed or forged."""
    if not raw or len(raw) > 200:
        return None
    return _unsign(current_app.config["SECRET_KEY"], raw)


@lru_cache(maxsize=65_536)
def _unsign(secret: str, raw: str) -> str | None:
    """Checking the signature is an HMAC on every page; its answer for a given cookie and
    secret never changes, so each worker remembers the recent ones (bounded)."""
    try:
        value = Signer(secret, salt=SALT).unsign(raw).decode()
    except (BadSignature, UnicodeDecodeError):
        return None
    return value if _ID.match(value) else None


def current_visitor() -> tuple[str, bool]:
    """(visitor id, is it new on this request); memoised on flask.g."""
    store = g._get_current_object()  # every page asks: one proxy lookup, not five
    if "visitor_id" not in store:
        vid = read_visitor_id(lookup(request.cookies, COOKIE))  # absent: no KeyError inside
        store.visitor_new = vid is None
        store.visitor_id = vid or new_visitor_id()
    return store.visitor_id, store.visitor_new


def switch_visitor(visitor_id: str | None = None) -> str:
    """Make this browser a different visitor (stitched on sign-in, fresh after sign-out or
    deletion); the new cookie goes out with this response."""
    g.visitor_id = visitor_id or new_visitor_id()
    g.visitor_new = True
    return g.visitor_id


def _issue_cookie(response: Response) -> Response:
    held = g._get_current_object().__dict__  # every response passes here: g's dict, once
    if held.get("visitor_new") and "visitor_id" in held:
        response.set_cookie(
            COOKIE,
            _signer().sign(g.visitor_id).decode(),
            max_age=MAX_AGE,
            httponly=True,
            samesite="Lax",
            secure=request.is_secure,
        )
    return response


def init_app(app: Flask) -> None:
    app.after_request(_issue_cookie)
