"""Studio users: a name, a role, a password stored only as a salted scrypt hash.

Roles are ordered: a viewer reads; an editor also edits the draft; a publisher also publishes
and restores versions. The first user is made with `storefront users create`. Changing a
user's role or removing them ends their studio sessions (sessions.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from storefront import db
from storefront.admin import sessions

ROLES = ("viewer", "editor", "publisher")
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,63}$")
MIN_PASSWORD = 10
# verifying an unknown name costs the same as a known one: no user enumeration by timing
_DUMMY_HASH = generate_password_hash("not a real password, only for timing")


class UserError(ValueError):
    """A user could not be created or changed; the message says why."""


@dataclass(frozen=True)
class User:
    username: str
    role: str

    def can(self, role: str) -> bool:
        """Has this user at least the given role?"""
        return ROLES.index(self.role) >= ROLES.index(role)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def create(engine: Engine, username: str, password: str, role: str) -> User:
    username = username.strip().lower()
    if not USERNAME.match(username):
        raise UserError("username: 2-64 lower-case letters, digits, '.', '_', '@' or '-'")
    if role not in ROLES:
        raise UserError(f"role: one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD:
        raise UserError(f"password: at least {MIN_PASSWORD} characters")
    try:
        with engine.begin() as conn:
            conn.execute(
                insert(db.admin_users).values(
                    username=username,
                    password_hash=generate_password_hash(password),
                    role=role,
                    created=_now(),
                )
            )
    except IntegrityError:
        raise UserError(f"username: {username!r} exists already") from None
    return User(username, role)


def authenticate(engine: Engine, username: str, password: str) -> User | None:
    username = (username or "").strip().lower()
    with engine.connect() as conn:
        row = (
            conn.execute(select(db.admin_users).where(db.admin_users.c.username == username))
            .mappings()
            .first()
        )
    if row is None:
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    if not check_password_hash(row["password_hash"], password or ""):
        return None
    with engine.begin() as conn:
        conn.execute(
            update(db.admin_users)
            .where(db.admin_users.c.username == username)
            .values(last_login=_now())
        )
    return User(row["username"], row["role"])


def get(engine: Engine, username: str) -> User | None:
    with engine.connect() as conn:
        row = conn.execute(
            select(db.admin_users.c.username, db.admin_users.c.role).where(
                db.admin_users.c.username == username
            )
        ).first()
    return User(row.username, row.role) if row else None


def all_users(engine: Engine) -> list[dict]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                db.admin_users.c.username,
                db.admin_users.c.role,
                db.admin_users.c.created,
                db.admin_users.c.last_login,
            ).order_by(db.admin_users.c.username)
        ).mappings()
        return [dict(r) for r in rows]


def set_role(engine: Engine, username: str, role: str) -> None:
    if role not in ROLES:
        raise UserError(f"role: one of {', '.join(ROLES)}")
    with engine.begin() as conn:
        done = conn.execute(
            update(db.admin_users).where(db.admin_users.c.username == username).values(role=role)
        ).rowcount
        sessions.end_all(conn, username)  # signed in again, under the new role
    if not done:
        raise UserError(f"no user {username!r}")


def remove(engine: Engine, username: str) -> None:
    with engine.begin() as conn:
        done = conn.execute(
            delete(db.admin_users).where(db.admin_users.c.username == username)
        ).rowcount
        sessions.end_all(conn, username)
    if not done:
        raise UserError(f"no user {username!r}")
