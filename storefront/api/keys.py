"""API keys for server-to-server callers: created by a command, stored hashed, revocable.

A key reads `sfk_<id>_<secret>`; only sha256(secret) is stored, so a database leak reveals no
usable key. Keys are high-entropy random tokens, which is why a fast hash is enough here.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.engine import Engine

from storefront import db

PREFIX = "sfk"


@dataclass(frozen=True)
class ApiKey:
    id: str
    name: str
    per_minute: int


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create(engine: Engine, name: str, per_minute: int = 600) -> str:
    """Create a key and return it in full; it is never shown again."""
    key_id = secrets.token_hex(4)
    secret = secrets.token_urlsafe(24)
    with engine.begin() as conn:
        conn.execute(
            db.api_keys.insert().values(
                id=key_id,
                name=name[:100],
                secret_hash=_digest(secret),
                per_minute=per_minute,
                created=datetime.now(UTC).replace(tzinfo=None),
            )
        )
    return f"{PREFIX}_{key_id}_{secret}"


def revoke(engine: Engine, key_id: str) -> bool:
    with engine.begin() as conn:
        done = conn.execute(
            db.api_keys.update()
            .where(db.api_keys.c.id == key_id, db.api_keys.c.revoked.is_(None))
            .values(revoked=datetime.now(UTC).replace(tzinfo=None))
        )
    return done.rowcount == 1


def list_keys(engine: Engine) -> list[dict]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                db.api_keys.c.id,
                db.api_keys.c.name,
                db.api_keys.c.per_minute,
                db.api_keys.c.created,
                db.api_keys.c.revoked,
            )
        ).mappings()
        return [dict(r) for r in rows]


def presented(headers) -> str | None:
    """The key a request carries: `Authorization: Bearer sfk_…` or `X-Api-Key`."""
    auth = headers.get("Authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return headers.get("X-Api-Key")


def verify(engine: Engine, presented: str | None) -> ApiKey | None:
    """The key's record when `presented` is a valid, unrevoked key; None otherwise."""
    if not presented or len(presented) > 100:
        return None
    parts = presented.split("_", 2)
    if len(parts) != 3 or parts[0] != PREFIX:
        return None
    _, key_id, secret = parts
    with engine.connect() as conn:
        row = conn.execute(select(db.api_keys).where(db.api_keys.c.id == key_id)).mappings().first()
    if row is None or row["revoked"] is not None:
        return None
    if not hmac.compare_digest(row["secret_hash"], _digest(secret)):
        return None
    return ApiKey(row["id"], row["name"], int(row["per_minute"]))
