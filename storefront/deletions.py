"""The deletion ledger: whom the shop was asked to forget, so that nothing brings them back.

Deleting a person (storefront/privacy.py) removes their rows and keys at once; the ledger is
what keeps them out afterwards: an orders import that carries the deleted customer id again,
an API caller that posts events for a deleted visitor id, a model trained next week. Training
reads the ledger (storefront/training_data.py) and leaves out every order line, imported
interaction, event and identity of an identifier in it.

The table (`deletions`) holds a SHA-256 of the identifier, never the identifier: the ledger
itself names nobody in a listing or a dump. (A short customer number can still be found again
by hashing every candidate; the ledger proves a deletion, it is not an anonymity guarantee.)
One hash space for visitor ids and customer ids: a visitor id is a random 128-bit token, so the
two never meet.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pandas as pd
from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine

from storefront import db

NAMESPACE = "storefront-deletion:"  # hashed with the identifier: not a bare sha256 of an id
KINDS = ("visitor", "customer")


def digest(identifier: str) -> str:
    """The ledger's hash of a visitor or customer id (hex)."""
    return hashlib.sha256((NAMESPACE + str(identifier)).encode("utf-8")).hexdigest()


def record(conn: Connection, identifiers: dict[str, str], when: datetime | None = None) -> int:
    """Add {identifier: kind} to the ledger inside the caller's transaction (an identifier
    already there keeps its first date); returns how many were new."""
    when = when or datetime.now(UTC).replace(tzinfo=None)
    wanted = {digest(i): kind for i, kind in identifiers.items() if i}
    if not wanted:
        return 0
    known = set(
        conn.execute(
            select(db.deletions.c.hash).where(db.deletions.c.hash.in_(list(wanted)))
        ).scalars()
    )
    rows = [
        {"hash": h, "kind": kind, "deleted": when} for h, kind in wanted.items() if h not in known
    ]
    if rows:
        conn.execute(db.deletions.insert(), rows)
    return len(rows)


def hashes(conn: Connection | Engine) -> set[str]:
    """Every hash in the ledger (training reads it once)."""
    if isinstance(conn, Engine):
        with conn.connect() as c:
            return hashes(c)
    return set(conn.execute(select(db.deletions.c.hash)).scalars())


def deleted_at(engine: Engine, identifier: str) -> tuple[str, datetime] | None:
    """(kind, when) if this identifier was deleted, else None."""
    with engine.connect() as conn:
        row = conn.execute(
            select(db.deletions.c.kind, db.deletions.c.deleted).where(
                db.deletions.c.hash == digest(identifier)
            )
        ).first()
    return (row.kind, row.deleted) if row else None


def deleted_mask(ids: pd.Series, ledger: set[str]) -> pd.Series:
    """True where the id (a visitor or customer id; missing: False) is in the ledger. Each
    distinct id is hashed once."""
    if not ledger or ids.empty:
        return pd.Series(False, index=ids.index)
    present = ids.dropna().astype(str)
    gone = {i for i in present.unique() if digest(i) in ledger}
    return ids.notna() & ids.astype(str).isin(gone)
