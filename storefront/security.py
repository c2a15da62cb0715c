"""Security headers on every response: a strict CSP (no inline script), no sniffing, no framing;
over HTTPS also HSTS and a Secure session cookie.

Whether a request came over HTTPS is `request.is_secure`: directly, or, with
STOREFRONT_TRUST_PROXY, through a proxy that says so in X-Forwarded-Proto (werkzeug's ProxyFix,
trusting one hop: the proxy's own X-Forwarded-For entry becomes the client address). Without
that setting those headers are ignored, since anyone can send them.
"""

from __future__ import annotations

from flask import Flask, Response, has_request_context, request
from flask.sessions import SecureCookieSessionInterface
from werkzeug.middleware.proxy_fix import ProxyFix

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


def _headers(response: Response) -> Response:
    """Add each header a response has not set itself, in one extend (this runs on every page,
    cached ones too). Each is checked on its own: a response that sets its own CSP still gets
    the others."""
    h = response.headers
    extra = [(k, v) for k, v in SECURITY_HEADERS if k not in h]
    if has_request_context() and request.is_secure and HSTS[0] not in h:
        extra.append(HSTS)
    h.extend(extra)
    return response


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, marked Secure whenever the request came over HTTPS (a
    fixed SESSION_COOKIE_SECURE would break sign-in on plain-HTTP development servers)."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or request.is_secure


def init_app(app: Flask) -> None:
    if app.config["SETTINGS"].trust_proxy:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1)  # type: ignore[method-assign]
    app.session_interface = SessionInterface()
    app.after_request(_headers)
