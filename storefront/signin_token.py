"""Sign-in tokens from the shop's own identity provider: who the customer is, until when, signed.

A token is `v1.<customer id>.<expires, unix seconds>.<signature>`, where the signature is the
lower-case hex HMAC-SHA256, keyed with STOREFRONT_IDENTITY_SECRET, of the text before it
(`v1.<customer id>.<expires>`). Any identity provider or authenticating proxy that holds the
secret can make one in a few lines; docs/reliability.md has the recipe. A token may live at
most MAX_LIFETIME seconds, so a leaked one is soon worthless (and the shop takes each once).
Pure logic: no Flask, no Redis.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time

VERSION = "v1"
MAX_LIFETIME = 600  # seconds a token may still have to live when it is presented
HEADER = "X-Storefront-Identity"
_TOKEN = re.compile(r"^v1\.([0-9A-Za-z_-]{1,32})\.([0-9]{1,12})\.([0-9a-f]{64})$")


class TokenError(ValueError):
    """The token is malformed, forged, expired or too long-lived; the message says which."""


def _sign(secret: str, payload: str) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def make(secret: str, customer_id: str, lifetime: int = 300, now: float | None = None) -> str:
    """A token for `customer_id` that expires `lifetime` seconds from now."""
    if not 1 <= lifetime <= MAX_LIFETIME:
        raise TokenError(f"lifetime: 1 to {MAX_LIFETIME} seconds")
    expires = int((time.time() if now is None else now) + lifetime)
    payload = f"{VERSION}.{customer_id}.{expires}"
    if not _TOKEN.match(f"{payload}.{'0' * 64}"):
        raise TokenError(f"customer_id: letters, digits, _ and - only, got {customer_id!r}")
    return f"{payload}.{_sign(secret, payload)}"


def read(secret: str, token: str, now: float | None = None) -> tuple[str, int]:
    """(customer id, expiry) of a genuine, live token; TokenError otherwise."""
    m = _TOKEN.match(token.strip())
    if m is None:
        raise TokenError("token: not a v1.<customer>.<expires>.<hmac> token")
    customer_id, expires, signature = m.group(1), int(m.group(2)), m.group(3)
    expected = _sign(secret, f"{VERSION}.{customer_id}.{expires}")
    if not hmac.compare_digest(signature, expected):
        raise TokenError("token: bad signature")
    now = time.time() if now is None else now
    if expires <= now:
        raise TokenError("token: expired")
    if expires - now > MAX_LIFETIME:
        raise TokenError(f"token: lives longer than {MAX_LIFETIME} seconds")
    return customer_id, expires
