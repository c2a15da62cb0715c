"""Security headers on every response: a strict CSP (no inline script), no sniffing, no framing;
over HTTPS also HSTS and a Secure session cookie.

Whether a request came over HTTPS is `request.is_secure`: directly, or, with
STOREFRONT_TRUST_PROXY, through a proxy that says so in X-Forwarded-Proto (werkzeug's ProxyFix,
trusting one hop: the proxy's own X-Forwarded-For entry becomes the client address). Without
that setting those headers are ignored, since anyone can send them.
"""

from __future__ import annotations

import copy
import time
from functools import lru_cache

from flask import Flask, Request, Response, has_request_context, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.middleware.proxy_fix import ProxyFix

from storefront.core.lookup import lookup

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
HSTS = ("Strict-Transport-Security", "max-age=31536000")  # a year; only sent over HTTPS


SECURITY_HEADERS = (
    ("Content-Security-Policy", CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "strict-origin-when-cross-origin"),
    ("X-Frame-Options", "DENY"),
    ("Permissions-Policy", "geolocation=(), camera=(), microphone=()"),
)


_LOWER = tuple((k.lower(), k, v) for k, v in SECURITY_HEADERS)
_HSTS_LOWER = HSTS[0].lower()


def _headers(response: Response) -> Response:
    """Add each header a response has not set itself (this runs on every page, cached ones
    too). Each is checked on its own: a response that sets its own CSP still gets the others."""
    h = response.headers
    # the names present, once, from the headers' own (name, value) pairs: `name in h` raises
    # and catches an exception per absent name, and items() is a generator on top
    present = {k.lower() for k, _ in h}
    add = h.add  # one add per header, in order (extend's type checks cost more than the adds)
    for lower, k, v in _LOWER:
        if lower not in present:
            add(k, v)
    if (
        _HSTS_LOWER not in present
        and has_request_context()
        and request._get_current_object().is_secure
    ):
        add(*HSTS)
    return response


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, marked Secure whenever the request came over HTTPS (a
    fixed SESSION_COOKIE_SECURE would break sign-in on plain-HTTP development servers).

    Cheaper than Flask's on the pages that never touch it (most shop pages, warm ones above
    all): no serializer is built when there is no cookie, a cookie's signature is checked once
    per worker (the answer for one cookie and secret never changes; its age is still checked
    every time), and a session nobody read or wrote is not saved."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or request.is_secure

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if not app.secret_key:
            return None
        raw = lookup(request.cookies, self.get_cookie_name(app))
        if not raw:
            return self.session_class()
        secrets = (*(app.config["SECRET_KEY_FALLBACKS"] or ()), app.secret_key)
        data, signed = _verified(self, secrets, raw)
        age = time.time() - signed
        if data is None or age < 0 or age > app.permanent_session_lifetime.total_seconds():
            return self.session_class()
        # a copy: the memo's data must outlive this request's changes (values are mostly
        # strings: a shallow copy then, far cheaper than a deep one)
        flat = all(isinstance(v, _ATOMS) for v in data.values())
        return self.session_class(dict(data) if flat else copy.deepcopy(data))

    def save_session(self, app: Flask, session, response: Response) -> None:
        # Flask's own would do nothing for such a session but compute the cookie's settings
        if session.accessed or session.modified or dict.get(session, "_permanent"):
            super().save_session(app, session, response)


_ATOMS = (str, bytes, int, float, bool, type(None))


@lru_cache(maxsize=16_384)
def _verified(interface: SessionInterface, secrets: tuple, raw: str) -> tuple[dict | None, float]:
    """A session cookie's data and signing time (None when forged or unreadable), by cookie."""
    serializer = URLSafeTimedSerializer(
        list(secrets),  # as Flask orders them: the fallbacks, then the current key
        salt=interface.salt,
        serializer=interface.serializer,
        signer_kwargs={
            "key_derivation": interface.key_derivation,
            "digest_method": interface.digest_method,
        },
    )
    try:
        data, signed = serializer.loads(raw, return_timestamp=True)
    except BadSignature:
        return None, 0.0
    return data, signed.timestamp()


def init_app(app: Flask) -> None:
    if app.config["SETTINGS"].trust_proxy:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1)  # type: ignore[method-assign]
    app.session_interface = SessionInterface()
    app.after_request(_headers)
