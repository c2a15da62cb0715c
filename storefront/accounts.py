"""Customer accounts: the password (hashed) or e-mail a customer signs in with.

Kept in their own table, `customer_accounts`, not in `customers`: an order import rebuilds the
customers table from the order export, and must never wipe anyone's password. A customer number
may have an account before it has any order. Passwords are stored only as werkzeug hashes
(scrypt); a file can bring ready-made hashes instead of passwords. No Flask, no Redis here.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from werkzeug.security import check_password_hash, generate_password_hash

from storefront import db

CUSTOMER_ID = re.compile(r"^[0-9A-Za-z_-]{1,32}$")
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,189}\.[^@\s]{1,63}$")
HASH_PREFIXES = ("scrypt:", "pbkdf2:")  # what werkzeug's check_password_hash reads
MIN_PASSWORD = 8
MAX_PASSWORD = 1024
# checked against when the account is unknown, so an unknown login costs the same time
_DUMMY_HASH = generate_password_hash("not a password of anyone's")


class AccountError(ValueError):
    """A customer id, e-mail, password or file row is wrong; the message names it."""


@dataclass(frozen=True)
class Account:
    customer_id: str
    email: str | None
    password_hash: str


def hash_password(password: str) -> str:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise AccountError(f"password: {MIN_PASSWORD} to {MAX_PASSWORD} characters")
    return generate_password_hash(password)


def _check_id(customer_id: str) -> str:
    customer_id = customer_id.strip()
    if not CUSTOMER_ID.match(customer_id):
        raise AccountError(
            f"customer_id: letters, digits, _ and - only (1-32), got {customer_id!r}"
        )
    return customer_id


def _check_email(email: str | None) -> str | None:
    email = (email or "").strip().lower()
    if not email:
        return None
    if not EMAIL.match(email):
        raise AccountError(f"email: not an e-mail address: {email!r}")
    return email


def _upsert(conn, account: Account) -> bool:
    """Insert or update one account; True when it was new."""
    now = datetime.now(UTC).replace(tzinfo=None)
    t = db.customer_accounts
    found = conn.execute(select(t.c.customer_id).where(t.c.customer_id == account.customer_id))
    values = {"email": account.email, "password_hash": account.password_hash, "updated": now}
    if found.first() is None:
        conn.execute(t.insert().values(customer_id=account.customer_id, **values))
        return True
    if account.email is None:
        del values["email"]  # a new password alone keeps the e-mail already stored
    conn.execute(t.update().where(t.c.customer_id == account.customer_id).values(**values))
    return False


def set_password(engine: Engine, customer_id: str, password: str) -> bool:
    """Give a customer (one the shop knows from its orders, or with an account) a password;
    True when this made a new account."""
    customer_id = _check_id(customer_id)
    password_hash = hash_password(password)
    with engine.begin() as conn:
        known = (
            conn.execute(select(db.customers.c.id).where(db.customers.c.id == customer_id)).first()
            or conn.execute(
                select(db.customer_accounts.c.customer_id).where(
                    db.customer_accounts.c.customer_id == customer_id
                )
            ).first()
        )
        if known is None:
            raise AccountError(f"customer_id: no customer {customer_id!r} (import it first)")
        return _upsert(conn, Account(customer_id, None, password_hash))


def _row_account(line: int, row: dict[str, str | None]) -> Account:
    try:
        customer_id = _check_id(row.get("customer_id") or row.get("id") or "")
        email = _check_email(row.get("email"))
        password = row.get("password") or ""
        ready = (row.get("password_hash") or "").strip()
        if password and ready:
            raise AccountError("password and password_hash: give one, not both")
        if ready:
            if not ready.startswith(HASH_PREFIXES):
                raise AccountError(
                    f"password_hash: expected a werkzeug hash ({', '.join(HASH_PREFIXES)}...)"
                )
            return Account(customer_id, email, ready)
        if not password:
            raise AccountError("password: missing (or give password_hash)")
        return Account(customer_id, email, hash_password(password))
    except AccountError as exc:
        raise AccountError(f"line {line}: {exc}") from None


def import_file(engine: Engine, path: str | Path) -> tuple[int, int]:
    """Import accounts from a CSV with a header: customer_id (or id), email (optional), and
    password or password_hash. Every row is checked before anything is written: a refused file
    changes nothing. Returns (created, updated)."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            header = set(reader.fieldnames or ())
            if not header & {"customer_id", "id"}:
                raise AccountError("header: needs a customer_id (or id) column")
            if not header & {"password", "password_hash"}:
                raise AccountError("header: needs a password or password_hash column")
            accounts = [_row_account(i, row) for i, row in enumerate(reader, start=2)]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise AccountError(f"{path}: {exc}") from None
    ids = [a.customer_id for a in accounts]
    if len(set(ids)) != len(ids):
        twice = sorted({i for i in ids if ids.count(i) > 1})
        raise AccountError(f"customer_id: given more than once: {', '.join(twice[:5])}")
    created = 0
    with engine.begin() as conn:
        for account in accounts:
            created += _upsert(conn, account)
    return created, len(accounts) - created


def verify(engine: Engine, login: str, password: str) -> str | None:
    """The customer id whose number or e-mail is `login` and whose password this is, or None.
    An unknown login is checked against a dummy hash, so timing tells nothing."""
    login = login.strip()
    t = db.customer_accounts
    where = func.lower(t.c.email) == login.lower() if "@" in login else t.c.customer_id == login
    with engine.connect() as conn:
        rows = conn.execute(select(t.c.customer_id, t.c.password_hash).where(where)).all()
    if len(rows) != 1:  # none, or an e-mail shared by two accounts: not a sign-in
        check_password_hash(_DUMMY_HASH, password)
        return None
    customer_id, password_hash = rows[0]
    return customer_id if check_password_hash(password_hash, password) else None
