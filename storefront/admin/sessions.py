"""Studio sessions held on the server: the cookie carries a random token, this table its hash.

A signed cookie alone cannot be taken back: before this, a cookie copied before sign-out went
on working for its whole 12 hours. Here a session exists only while its row does, so signing
out, removing a user or changing their role ends it at once. Only the SHA-256 of a token is
stored, so reading the table does not let anyone sign in. Expired rows are swept at sign-in,
which keeps the table bounded by the sign-ins of one working day.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Connection, Engine

from storefront import db


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(engine: Engine, username: str, hours: float) -> str:
    """A new session for `username`, valid for `hours`; returns the token for the cookie."""
    token = secrets.token_urlsafe(32)
    now = _now()
    with engine.begin() as conn:
        conn.execute(delete(db.admin_sessions).where(db.admin_sessions.c.expires <= now))
        conn.execute(
            insert(db.admin_sessions).values(
                token_hash=_hash(token),
                username=username,
                created=now,
                expires=now + timedelta(hours=hours),
            )
        )
    return token


def user_of(engine: Engine, token: str) -> tuple[str, str] | None:
    """(username, role) of a live session, or None if it ended, expired or never existed.
    The role is read with it from the user's row, never kept in the session (users.set_role
    also ends a user's sessions, so a demoted user signs in again)."""
    if not token or len(token) > 200:
        return None
    t, u = db.admin_sessions, db.admin_users
    with engine.connect() as conn:
        row = conn.execute(
            select(u.c.username, u.c.role)
            .select_from(t.join(u, t.c.username == u.c.username))
            .where(t.c.token_hash == _hash(token), t.c.expires > _now())
        ).first()
    return (row.username, row.role) if row else None


def end(engine: Engine, token: str) -> None:
    """End one session (sign-out)."""
    with engine.begin() as conn:
        conn.execute(
            delete(db.admin_sessions).where(db.admin_sessions.c.token_hash == _hash(token))
        )


def end_all(conn: Connection, username: str) -> int:
    """End every session of a user, within the caller's transaction; returns how many."""
    done = conn.execute(delete(db.admin_sessions).where(db.admin_sessions.c.username == username))
    return done.rowcount or 0
