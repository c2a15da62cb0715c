"""POST /events: the tracker's batches of views, clicks, cart adds, purchases and searches.

A batch is validated whole before anything is written (400 naming each bad field, nothing
half-applied), times included: an event from before the store's first order or more than a day
ahead is refused. Accepted events are committed to the SQL event table keyed by their client id
within the visitor and source (their browser, or one API caller), so a retried batch is
acknowledged again but never counted twice, and two visitors whose ids happen to match are both
counted; then the visitor's session in Redis changes and their next page is rebuilt from it.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime

import redis
from flask import Blueprint, current_app, jsonify, request
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from storefront import db, event_effects, page_memo, rate_limits, trending
from storefront.api.schemas import FLOOR, Batch, Event, EventsQuery, QueryError, field_errors
from storefront.context import read_consent
from storefront.experiments.bucketing import in_holdout
from storefront.identity import RETIRED
from storefront.model_holder import snapshot
from storefront.redis_client import SEEN_EVENTS, VISITOR, key
from storefront.signals import Location, local_time
from storefront.signals.device import read_device
from storefront.visitor import COOKIE, read_visitor_id

log = logging.getLogger(__name__)
bp = Blueprint("events", __name__)
# the request models live in storefront/api/schemas.py (they also make the OpenAPI document)
__all__ = ["FLOOR", "Batch", "Event", "bp", "record", "store_start"]

MAX_BODY = 64 * 1024
_START_TTL = 300.0  # seconds a worker keeps the store's first order time
_starts: dict[str, tuple[float, datetime]] = {}


def _bad(errors: list[dict], status: int = 400):
    return jsonify(
        {"error": "invalid events batch; nothing was recorded", "fields": errors}
    ), status


def store_start(engine: Engine) -> datetime:
    """The store's first order time (UTC), FLOOR without orders; kept a few minutes per worker.
    Without the database the last known value (or FLOOR) serves: the write then fails anyway."""
    url = str(engine.url)
    cached = _starts.get(url)
    if cached is not None and cached[0] > time.monotonic():
        return cached[1]
    try:
        with engine.connect() as conn:
            first = conn.execute(select(func.min(db.order_lines.c.ts))).scalar_one_or_none()
    except SQLAlchemyError:
        return cached[1] if cached else FLOOR
    start = first.replace(tzinfo=UTC) if first is not None else FLOOR
    _starts[url] = (time.monotonic() + _START_TTL, start)
    return start


def _insert_new(engine, rows: list[dict]) -> set[str]:
    """Insert the events not already recorded for this visitor and source; return the ids that
    are new. Retries on a race."""
    if not rows:
        return set()
    ids = [r["id"] for r in rows]
    visitor, source = rows[0]["visitor"], rows[0]["source"]
    ev = db.events.c
    for _attempt in range(3):
        try:
            with engine.begin() as conn:
                existing = set(
                    conn.execute(
                        select(ev.id).where(
                            ev.visitor == visitor, ev.source == source, ev.id.in_(ids)
                        )
                    ).scalars()
                )
                fresh = [r for r in rows if r["id"] not in existing]
                if fresh:
                    conn.execute(db.events.insert(), fresh)
                return {r["id"] for r in fresh}
        except IntegrityError:  # a concurrent retry of the same batch won the race: look again
            continue
    raise RuntimeError("could not record events after three attempts")


@bp.after_request
def _no_store(response):
    """Answers about one visitor's events are theirs alone: no cache keeps them."""
    response.headers.setdefault("Cache-Control", "no-store")
    return response


@bp.get("/events/schema.json")
def schema():
    """The published JSON Schema of an events batch, generated from the validating model."""
    return jsonify(Batch.model_json_schema())


@bp.post("/events")
def ingest():
    if (request.content_length or 0) > MAX_BODY:
        return _bad([{"field": "body", "message": f"larger than {MAX_BODY} bytes"}], 413)
    raw = request.get_data(cache=False)
    if len(raw) > MAX_BODY:
        return _bad([{"field": "body", "message": f"larger than {MAX_BODY} bytes"}], 413)
    try:
        payload = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return _bad([{"field": "body", "message": "not valid JSON (or nested too deeply)"}])
    earliest = store_start(current_app.extensions["db"])
    try:
        batch = Batch.model_validate(payload, context={"earliest": earliest})
    except ValidationError as exc:
        return _bad(field_errors(exc))
    caller = _visitor()
    if isinstance(caller[1], int):  # an error answer (body, status)
        return caller
    visitor, source = caller
    catalog = snapshot().catalog
    unknown = [
        {"field": f"events[{i}].product_id", "message": f"unknown product {e.product_id!r}"}
        for i, e in enumerate(batch.events)
        if e.product_id is not None and catalog.get(e.product_id) is None
    ]
    if unknown:
        return _bad(unknown)
    ids = [e.id for e in batch.events]
    if len(set(ids)) != len(ids):
        return _bad([{"field": "events[].id", "message": "duplicate event ids in one batch"}])

    consent = read_consent(request)
    r = current_app.extensions["redis"]
    refused = _admitted(r, visitor, len(ids), cookie=not source)
    if refused:
        return refused
    fresh = record(visitor, batch.events, consent, source)
    if source:  # a stated visitor's browser gets no new state mark (page_memo.py): this
        # worker's note of them goes now, other workers' when they run out
        page_memo.memo_of(current_app._get_current_object()).forget(visitor)
    return jsonify(
        {"accepted": len(ids), "recorded": len(fresh), "duplicates": len(ids) - len(fresh)}
    ), 202


def record(visitor: str, events: list[Event], consent, source: str = "") -> set[str]:
    """Record validated events for a visitor: durably (SQL, exactly once by id within the
    visitor and source) unless the shopper asked not to be tracked, then their effects on the
    session. `source` is "" for the visitor's own browser or app, "key:<id>" for an API caller.
    Returns the new ids."""
    r = current_app.extensions["redis"]
    ids = [e.id for e in events]
    settings = current_app.config["SETTINGS"]
    location = located = current_app.extensions["geo"].locate(request.headers, request.remote_addr)
    if location.country is None and settings.default_country:
        location = Location(settings.default_country, None, None, None, None, "default")
    live = None
    if consent.track and not source:  # a shopper's own browser: it is where they are
        local = local_time(
            datetime.now(UTC),
            location.country,
            location.timezone,
            settings.store_timezone,
            location.latitude,
        )
        live = trending.Where(location.country, local.daypart, local.local.date())
    if consent.track:
        now = datetime.now(UTC).replace(tzinfo=None)
        country = located.country
        seen = read_device(request.headers)  # client hints win, as on pages
        rows = [
            {
                "id": e.id,
                "visitor": visitor,
                "source": source,
                "type": e.type,
                "product_id": e.product_id,
                "slot": e.slot,
                "page": e.page,
                "query": e.query,
                "ts": e.ts.replace(tzinfo=None),
                "received": now,
                "country": country,
                "device": seen.kind,
                "os": seen.os,
                "channel": e.channel,
                "quantity": e.quantity,
            }
            for e in events
        ]
        # the durable log of record: committed before the 202, exactly once by event id
        fresh = _insert_new(current_app.extensions["db"], rows)
        exposures = current_app.extensions["exposures"]
        if any(e.type in ("impression", "click") for e in events):  # a page was seen: the
            exposures.flush(visitor)  # targeted experiments it applied
        # which shop they get, personalized or the holdout: once, for the holdout report
        exposures.enrol(visitor, in_holdout(visitor, current_app.config["SETTINGS"].holdout_share))
    else:  # Sec-GPC / DNT: nothing beyond the session; the session itself still adapts
        fresh = _fresh_in_session(r, visitor, source, ids)
    try:
        event_effects.apply(
            current_app.extensions["sessions"],
            snapshot().catalog,
            visitor,
            [e for e in events if e.id in fresh],
            lasting=consent.track,
            live=live,
            live_days=settings.trending_live_days,
        )
    except redis.RedisError as exc:  # the events are durable in SQL; only the session lags
        log.warning("session update failed for %d events: %s", len(fresh), exc)
    return fresh


def _visitor():
    """(visitor, source): the visitor from the `sid` cookie (source ""), or, for a
    server-to-server caller with an API key (an app, an email service), the `visitor` it names
    (source "key:<id>": each caller's event ids are its own)."""
    from storefront.api.keys import presented as key_of
    from storefront.api.keys import verify

    presented = key_of(request.headers)
    if presented is not None:
        api_key = verify(current_app.extensions["db"], presented)
        if api_key is None:
            return _bad([{"field": "Authorization", "message": "unknown or revoked API key"}], 401)
        try:
            named = EventsQuery.parse(request.args).visitor
        except QueryError:
            named = None
        if named is None:
            return _bad([{"field": "visitor", "message": EventsQuery.messages["visitor"]}])
        return named, f"key:{api_key.id}"
    visitor = read_visitor_id(request.cookies.get(COOKIE))
    if visitor is None:
        return _bad([{"field": "sid", "message": "missing or invalid visitor cookie"}])
    return visitor, ""


def _admitted(r, visitor: str, n: int, cookie: bool):
    """None, or the refusal, in one round trip: at most `events_per_minute` events per visitor
    per minute (a Flask-Limiter window, storefront/rate_limits.py; a 429 beyond, naming it,
    with Retry-After); and a cookie retired at a sign-in or sign-out (identity.py) is refused
    with a 409, since its events would count for that customer in training. Without Redis
    neither is known: the body and batch limits still hold."""
    window = rate_limits.Window("events", current_app.config["SETTINGS"].events_per_minute, 60)

    def ask() -> list:
        pipe = r.pipeline(transaction=False)
        rate_limits.queue_hit(pipe, window, (visitor,), n)
        if cookie:
            pipe.hexists(key(VISITOR, visitor), RETIRED)
        return pipe.execute()

    try:
        try:
            count, ttl, *retired = ask()
        except redis.exceptions.NoScriptError:  # a restarted Redis: load the script, once
            rate_limits.load_script(r)
            count, ttl, *retired = ask()
    except redis.RedisError:
        return None
    if retired and retired[0]:
        message = "this visitor cookie ended at a sign-in or sign-out: load a page for a new one"
        return _bad([{"field": "sid", "message": message}], 409)
    if count > window.amount:
        body, _ = _bad(
            [{"field": "events", "message": f"more than {window.amount} events a minute"}]
        )
        return body, 429, {"Retry-After": str(max(1, ttl))}
    return None


def _fresh_in_session(r, visitor: str, source: str, ids: list[str]) -> set[str]:
    """Without a durable log (GPC/DNT), dedupe retries against a short-lived set instead."""
    k = key(SEEN_EVENTS, visitor)
    try:
        pipe = r.pipeline(transaction=True)
        for i in ids:
            pipe.sadd(k, f"{source}|{i}" if source else i)
        pipe.expire(k, 3600)
        added = pipe.execute()[:-1]
    except redis.RedisError:
        return set(ids)
    return {i for i, a in zip(ids, added, strict=True) if a}
