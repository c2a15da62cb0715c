"""Export and delete a shopper's data: events, session, exposures, traits, preferences, caches.

Whose data a request reaches is decided by the session, not by the cookie's id alone: a
signed-in customer gets every visitor id stitched to them; anyone else gets their own id, and
that id's SQL history only while it was never merged into a customer at a sign-in (a cookie
held from before someone signed in reaches nothing of theirs: session fixation, issue #16).
Deletion leaves no row or key of its scope behind: every SQL row that names one of its visitor
ids or its customer id (PERSON_COLUMNS: events, experiment exposures, identities, order lines,
the customer, their account, imported interactions), every Redis key with one of those ids
among its parts (sessions, fragments, pages, pending exposure notes, exposure counts, rate
windows; found by SCAN, so hash-tagged names are found too), the orders they placed (listed
under `sf:orders:{v:<visitor>}`, orders.placed_by) and entries of the live event stream;
it adds the ids to the deletion ledger (storefront/deletions.py), which training honours, so
the next model holds no trace either; and it rewrites every kept model version without them
(storefront/model_forget.py): the served one and those kept for a rollback, on this node's
disk and in the database's `model_artifacts`, so neither the served model nor a rollback
brings them back. `storefront privacy audit` (storefront/privacy_audit.py) looks for what is
left, in every kept version too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path

import redis
from sqlalchemy import delete, func, select
from sqlalchemy.engine import Connection, Engine

from storefront import db, deletions, model_forget, orders
from storefront.identity import customer_of, visitors_of_customer
from storefront.redis_client import (
    BOUGHT,
    CART,
    CUSTOMER,
    EVENT_STREAM,
    EXPOSURE,
    ORDERS,
    PENDING_EXPOSURES,
    PREFS,
    SEEN_EVENTS,
    SESSION_VERSION,
    TRAITS,
    VIEWS,
    VISITOR,
    key,
)

PER_VISITOR = (
    VIEWS,
    CART,
    SESSION_VERSION,
    VISITOR,
    TRAITS,
    EXPOSURE,
    PREFS,
    SEEN_EVENTS,
    PENDING_EXPOSURES,
    BOUGHT,
    ORDERS,
)

# every column of the schema that names a person: (table, column, "visitor" | "customer");
# tests/unit/test_privacy_columns.py fails when a table gains such a column not listed here
PERSON_COLUMNS = (
    (db.events, "visitor", "visitor"),
    (db.experiment_exposures, "visitor", "visitor"),
    (db.identities, "visitor", "visitor"),
    (db.identities, "customer_id", "customer"),
    (db.order_lines, "customer_id", "customer"),
    (db.customers, "id", "customer"),
    (db.customer_accounts, "customer_id", "customer"),
    (db.interactions, "customer_id", "customer"),
)
# the Redis key purposes that carry a customer id (a customer id can be a short number, so a
# key counts as theirs only under one of these; a visitor id is a random token, any part counts)
CUSTOMER_PURPOSES = frozenset({CUSTOMER, "custlogin"})
_KEY_PARTS = re.compile(r"[:/{}]")
_GLOB = re.compile(r"([*?\[\]\\])")


def scope(engine: Engine, visitor_id: str, customer_id: str | None) -> tuple[list[str], list[str]]:
    """(visitor ids whose Redis state, and those whose SQL rows, belong to this person).

    `customer_id` is the customer this session is signed in as (its VISITOR hash), or None.
    Signed in: every id stitched to the customer. Not signed in: this id alone, and its SQL
    rows only while it is linked to no customer: once merged at a sign-in its history is the
    customer's, whoever else still holds the cookie."""
    if customer_id is not None:
        visitors = sorted({visitor_id, *visitors_of_customer(engine, customer_id)})
        return visitors, visitors
    return [visitor_id], [] if customer_of(engine, visitor_id) else [visitor_id]


def export(engine: Engine, r: redis.Redis, visitor_id: str, customer_id: str | None) -> dict:
    """Everything the shop holds about this person, as JSON-ready data."""
    visitors, rows_of = scope(engine, visitor_id, customer_id)
    with engine.connect() as conn:
        rows = (
            conn.execute(
                select(db.events).where(db.events.c.visitor.in_(rows_of)).order_by(db.events.c.ts)
            )
            .mappings()
            .all()
        )
        links = (
            conn.execute(select(db.identities).where(db.identities.c.visitor.in_(rows_of)))
            .mappings()
            .all()
        )

    def plain(row) -> dict:
        return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items()}

    state = {}
    for v in visitors:
        state[v] = {
            "recently_viewed": r.lrange(key(VIEWS, v), 0, -1),
            "cart": r.hgetall(key(CART, v)),
            "visitor": r.hgetall(key(VISITOR, v)),
            "traits": r.hgetall(key(TRAITS, v)),
            "exposures": r.hgetall(key(EXPOSURE, v)),
            "preferences": r.hgetall(key(PREFS, v)),
        }
    placed = [orders.load(r, k.rsplit(":", 1)[1]) for k in orders.placed_by(r, visitors)]
    return {
        "visitor_ids": visitors,
        "identities": [plain(x) for x in links],
        "events": [plain(x) for x in rows],
        "state": state,
        "orders": [
            {
                "id": o.id,
                "visitor": o.visitor,
                "placed": o.placed.isoformat(),
                "currency": o.currency,
                "lines": [
                    {
                        "product_id": x.product_id,
                        "title": x.title,
                        "quantity": x.quantity,
                        "price": x.price,
                    }
                    for x in o.lines
                ],
            }
            for o in placed
            if o is not None
        ],
    }


def _glob(identifier: str) -> str:
    return _GLOB.sub(r"\\\1", identifier)


def person_keys(
    client: redis.Redis, visitors: Iterable[str], customers: Iterable[str]
) -> list[str]:
    """Every key on this server that belongs to these visitor or customer ids: a visitor id as
    one of the key's parts (split at ':', '/', and hash-tag braces), a customer id as a part of
    a key under a CUSTOMER_PURPOSES purpose. SCAN with a MATCH per id: no KEYS, no blocking."""
    found: set[str] = set()
    wanted = [(v, False) for v in visitors if v] + [(c, True) for c in customers if c]
    for identifier, is_customer in wanted:
        for k in client.scan_iter(match=f"*{_glob(identifier)}*", count=1000):
            parts = set(_KEY_PARTS.split(k))
            if identifier in parts and (not is_customer or parts & CUSTOMER_PURPOSES):
                found.add(k)
    return sorted(found)


def _unlink(client: redis.Redis, keys: list[str]) -> int:
    # one key per call: keys of a person may sit in different cluster slots
    return sum(client.unlink(k) for k in keys)


def stream_entries(r: redis.Redis, stream: str, chunk: int = 2000) -> Iterator:
    """Every entry of a stream, read in chunks: each call stays well inside the client's short
    timeout (STOREFRONT_REDIS_TIMEOUT) however long the stream is (up to ~100,000 entries)."""
    start = "-"
    while True:
        entries = r.xrange(stream, min=start, count=chunk)
        yield from entries
        if len(entries) < chunk:
            return
        ms, seq = entries[-1][0].split("-")
        start = f"{ms}-{int(seq) + 1}"  # the next possible id after the last one read


_stream_entries = stream_entries  # the name tests/integration/test_redis_limits.py reads


def stream_entries_of(r: redis.Redis, visitors: Iterable[str]) -> list[str]:
    """The ids of the live event stream's entries for these visitors."""
    wanted = set(visitors)
    return [
        entry_id
        for entry_id, fields in stream_entries(r, key(EVENT_STREAM))
        if fields.get("visitor") in wanted
    ]


def person_rows(conn: Connection, visitors: list[str], customers: list[str]) -> dict[str, int]:
    """{"table.column": rows} of every PERSON_COLUMNS column naming one of these ids (counts
    above 0 only)."""
    found = {}
    for table, column, kind in PERSON_COLUMNS:
        ids = visitors if kind == "visitor" else customers
        if not ids:
            continue
        n = conn.execute(
            select(func.count()).select_from(table).where(table.c[column].in_(ids))
        ).scalar_one()
        if n:
            found[f"{table.name}.{column}"] = int(n)
    return found


def erase(
    engine: Engine,
    r: redis.Redis,
    visitors: list[str],
    rows_of: list[str],
    customers: Iterable[str] = (),
    cache: redis.Redis | None = None,
    models_dir: Path | None = None,
) -> dict:
    """Delete every row and key of these people and add them to the deletion ledger, in one
    SQL transaction first (rows of `rows_of` visitor ids and of the customers, plus every
    customer those visitors were stitched to), then Redis (keys of `visitors` and the
    customers, on the session store and the cache; their stream entries), then every kept
    model version under `models_dir` and in the database (model_forget). Returns counts."""
    cache = r if cache is None else cache
    with engine.begin() as conn:
        customers = sorted(
            {
                *customers,
                *conn.execute(
                    select(db.identities.c.customer_id).where(db.identities.c.visitor.in_(rows_of))
                ).scalars(),
            }
        )
        # an account's e-mail names its sign-in rate windows (`custlogin/acct/<login>`)
        logins = [
            e.lower()
            for e in conn.execute(
                select(db.customer_accounts.c.email).where(
                    db.customer_accounts.c.customer_id.in_(customers)
                )
            ).scalars()
            if e
        ]
        rows: dict[str, int] = {}
        for table, column, kind in PERSON_COLUMNS:
            ids = rows_of if kind == "visitor" else customers
            if ids:
                n = conn.execute(delete(table).where(table.c[column].in_(ids))).rowcount
                rows[table.name] = rows.get(table.name, 0) + max(n or 0, 0)
        ledger = dict.fromkeys(rows_of, "visitor")
        ledger.update({c: "customer" for c in customers})
        recorded = deletions.record(conn, ledger)
    keys = _unlink(r, orders.placed_by(r, visitors))  # before their lists go (PER_VISITOR)
    for v in visitors:
        keys += _unlink(r, [key(p, v) for p in PER_VISITOR])
    for client in dict.fromkeys((r, cache)):  # one pass per server (the cache may be r)
        keys += _unlink(client, person_keys(client, visitors, [*customers, *logins]))
    doomed = stream_entries_of(r, visitors)
    for i in range(0, len(doomed), 500):
        r.xdel(key(EVENT_STREAM), *doomed[i : i + 500])
    models = model_forget.forget_people(engine, models_dir, [*rows_of, *customers])
    return {
        "visitors": len(visitors),
        "customers": len(customers),
        "events": rows.get("events", 0),
        "rows": rows,
        "keys": keys,
        "stream_entries": len(doomed),
        "ledger": recorded,
        "model_versions": models.as_dict(),
    }


def delete_person(
    engine: Engine,
    r: redis.Redis,
    visitor_id: str,
    customer_id: str | None,
    cache: redis.Redis | None = None,
    models_dir: Path | None = None,
) -> dict:
    """Delete every trace of this person (`scope`: the session's signed-in customer and all
    their visitor ids, or this anonymous visitor alone); returns counts of what was removed.
    Fragments and pages are deleted from `cache` (the cache server, when it is not `r`); the
    kept model versions under `models_dir` (and in the database) are rewritten without them."""
    visitors, rows_of = scope(engine, visitor_id, customer_id)
    customers = [customer_id] if customer_id else []
    return erase(engine, r, visitors, rows_of, customers, cache, models_dir)


def known_customer(conn: Connection, identifier: str) -> bool:
    """Whether any table names this identifier as a customer id."""
    return any(
        conn.execute(select(table.c[column]).where(table.c[column] == identifier).limit(1)).first()
        for table, column, kind in PERSON_COLUMNS
        if kind == "customer"
    )


def resolve(engine: Engine, r: redis.Redis, identifier: str) -> tuple[list[str], list[str]]:
    """(visitor ids, customer ids) an operator's identifier stands for: a customer id (known to
    any table, or to the session store) with every visitor id stitched to it; a visitor id with
    the customer it was stitched to, if any, and theirs. Never empty: an identifier nothing
    knows stands for itself as a visitor id."""
    with engine.connect() as conn:
        is_customer = known_customer(conn, identifier)
    customer = identifier if is_customer else customer_of(engine, identifier)
    if customer is None and r.exists(key(CUSTOMER, identifier)):
        customer = identifier
    if customer is None:
        return [identifier], []
    visitors = set(visitors_of_customer(engine, customer))
    canonical = r.get(key(CUSTOMER, customer))
    if canonical:
        visitors.add(canonical)
    if customer != identifier:
        visitors.add(identifier)
    return sorted(visitors), [customer]


def delete_identifier(
    engine: Engine,
    r: redis.Redis,
    identifier: str,
    cache: redis.Redis | None = None,
    models_dir: Path | None = None,
) -> dict:
    """`storefront privacy delete`: the person behind a visitor or customer id (`resolve`),
    their SQL rows, Redis keys and stream entries deleted, the kept model versions rewritten
    without them, and the identifier recorded in the ledger whatever it matched (a later
    import that carries it is left out of training)."""
    visitors, customers = resolve(engine, r, identifier)
    done = erase(engine, r, visitors, visitors, customers, cache, models_dir)
    return {**done, "visitor_ids": visitors, "customer_ids": customers}
