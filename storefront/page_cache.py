"""Whole pages per visitor: a warm page is one Redis read and no rendering at all.

Fragments make a personal page cheap to assemble; this makes a page that has not changed cost
nothing to assemble. The page's HTML is kept per visitor under a key made from everything in
the request that shapes the page (path and query, the client address and the headers that
locate the visitor, privacy signals, a QA pin, the form token). The value starts with a
stamp of everything else it depends on (the session version, model and rules versions,
experiment arms, inferred traits and segment, recency, location, device, operating system, the
visit's channel, the visitor's local hour); the User-Agent and the Referer shape a page only
through the stamp's device, system and channel, so they are not in the key (STAMPED: a
browser sends a new Referer with every click, and a page reached from another page is the
same page). A page is
served from the cache only when the stamp equals the one computed for this request, so a click,
a publish, a new model or the next hour all rebuild it, exactly as they re-key fragments.

The read rides on the session read (session.py): the same script, so a warm page is one
round trip. After a click the page is stale, and the same script brings back instead the
fragments it was built from (its parts record, under the new session version), so a page
rebuilt from cached fragments also reads Redis once. With the cache on a server of its own,
the page script is sent with the session script, keyed by the session version mirrored on the
cache server: still one round trip of latency, one more only when the mirror is missing or
behind. The one thing finer than an hour, the clock in the context panel, is written between
markers and refreshed on the way out.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from functools import lru_cache, partial

import redis
from flask import Response, current_app, g, request

from storefront.core.dependencies import page_stamp
from storefront.core.keytags import visitor_tag
from storefront.core.lookup import environ_name, lookup
from storefront.redis_client import PAGE, fragment_keys, parts_key, set_many, visitor_keys
from storefront.signals.geo import CITY_HEADERS, LATITUDE_HEADERS, REGION_HEADERS, TIMEZONE_HEADERS

log = logging.getLogger(__name__)
CACHEABLE = ("shop.home", "shop.category", "shop.product", "shop.search")
CLOCK_OPEN, CLOCK_CLOSE = "<!--clock-->", "<!--/clock-->"
SEP = "\x1e"
_SEP, _CLOCK_OPEN, _CLOCK_CLOSE = SEP.encode(), CLOCK_OPEN.encode(), CLOCK_CLOSE.encode()
# request headers that change what the page says (see context.py and signals/); the
# configured country headers (STOREFRONT_GEO_HEADERS) are added per app in shaping()
SHAPING_HEADERS = (
    "User-Agent",
    "Referer",
    "X-Forwarded-For",
    "Sec-GPC",
    "DNT",
    "X-Storefront-Snapshot",
    "X-QA-Country",
    "X-QA-Time",
    "X-QA-Device",
    *REGION_HEADERS,
    *CITY_HEADERS,
    *TIMEZONE_HEADERS,
    *LATITUDE_HEADERS,
)


# shaping headers whose every effect on a page is a part of its stamp (core/dependencies.py
# PAGE): the User-Agent through the device and operating system (signals/device.py), the
# Referer through the visit's channel (signals/channel.py, core/visit.py). Neither key holds them.
STAMPED = frozenset(("User-Agent", "Referer"))
_PAGE = (PAGE,)


@lru_cache(maxsize=8)
def shaping(
    geo_headers: tuple[str, ...], leave_out: frozenset[str] = STAMPED
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """WSGI environ names of every shaping header and the configured country headers but
    `leave_out` (a key's: STAMPED here, more in page_memo.py), read from the environ, a plain
    dict (an absent header costs no KeyError inside werkzeug); and as many "" (their defaults,
    for map(environ.get, ...))."""
    headers = (h for h in (*SHAPING_HEADERS, *geo_headers) if h not in leave_out)
    names = tuple(dict.fromkeys(environ_name(h) for h in headers))
    return names, ("",) * len(names)


def clock_text(ctx) -> str:
    """The context panel's clock; the template and a cache hit both write it with this."""
    return ctx.time.local.strftime("%A %d %B %Y, %H:%M")


def page_key(visitor_id: str) -> str | None:
    """The key for this request's page, or None when the page is not cached."""
    req = request._get_current_object()  # one proxy lookup, not one per attribute
    if req.method != "GET" or req.endpoint not in CACHEABLE:
        return None
    config = current_app.config
    settings = config["SETTINGS"]
    if settings.page_cache_ttl <= 0:
        return None
    names, blanks = shaping(settings.geo_headers)
    raw = "\0".join(
        (
            f"{req.path}?{req.query_string.decode()}",  # werkzeug's full_path, inline
            req.host,  # computed (and validated) by Flask for every request
            req.remote_addr or "",
            # product pages carry a form token of this session: the session cookie as sent
            # (the same cookie, the same token; it is not even decoded: a warm page never
            # reads it)
            lookup(req.cookies, config["SESSION_COOKIE_NAME"], ""),
            *map(req.environ.get, names, blanks),  # each shaping header, "" when absent
        )
    ).encode("utf-8", "replace")
    return (
        f"{visitor_keys(visitor_id, _PAGE)[0]}:{hashlib.blake2b(raw, digest_size=12).hexdigest()}"
    )


def stamp(ctx, model_version: str, rules_version: str) -> str:
    """Everything a page depends on beyond its key, as this request's context has it: the one
    description of what pages and slots depend on (core/dependencies.py)."""
    return page_stamp(ctx, model_version, rules_version)


def current_stamp(ctx) -> str | None:
    """This request's stamp, with the model and rules versions it would use before any
    experiment arm (arms are in the stamp themselves); None when a QA pin names a missing
    version (such a page is not kept)."""
    from storefront.model_holder import snapshot
    from storefront.rules.holder import published

    try:
        snap = snapshot()
        return stamp(ctx, snap.model_version + snap.catalog.version, published().label)
    except LookupError:
        return None


def serve(ctx, cached: bytes, this_stamp: str) -> Response | None:
    """The cached page as a response if it is still this request's page, else None. The page
    stays bytes, as Redis gave it (session.py reads it undecoded), to the response: only the
    stamp's fields and the clock are text."""
    # "stamp SEP model SEP rules SEP html": found by offset, not split (the page is copied
    # once, into the response, not three times: split, then a slice each side of the clock)
    a = cached.find(_SEP)
    b = cached.find(_SEP, a + 1) if a >= 0 else -1
    body = cached.find(_SEP, b + 1) + 1 if b >= 0 else 0
    if not body or cached[:a] != this_stamp.encode():
        return None
    x_model, x_rules = cached[a + 1 : b], cached[b + 1 : body - 1]
    # the context panel, and so its clock, closes the page: search from the end (markup in
    # text is escaped, so the markers occur once)
    start = cached.rfind(_CLOCK_OPEN, body)
    end = cached.find(_CLOCK_CLOSE, start) if start >= 0 else -1
    if end > start:
        start += len(_CLOCK_OPEN)
        page = memoryview(cached)  # slices of it are views: join copies the page once
        html = b"".join((page[body:start], clock_text(ctx).encode(), page[end:]))
    else:
        html = cached[body:]
    # the app's make_response makes the same of bytes: response_class(html)
    response = _served(current_app.response_class)(html)
    # a new response holds Content-Type and Content-Length only: each of finish()'s headers is
    # added, as its assignment would add an absent one, without looking for it first
    add = response.headers.add
    for name, value in personal_headers(x_model.decode(), x_rules.decode()):
        add(name, value)
    return response


# header names that werkzeug's get_wsgi_headers rewrites (joined with the request's URL)
_REWRITTEN = frozenset(("location", "content-location"))


@lru_cache(maxsize=4)
def _served(base: type[Response]) -> type[Response]:
    """The app's response class for a page served from the cache, whose headers go out as they
    stand: werkzeug's get_wsgi_headers copies every header (one Headers.add and its newline
    check each: a warm page has 13) only to rewrite a Location or Content-Location, drop the
    Content-Length of a 1xx, 204 or 304, or count a body that has none. A page from the cache
    needs none of these (a hook that adds a Location, or a status that drops the length, gets
    werkzeug's own way), so its headers, each checked as it was set, are the WSGI headers."""

    class Served(base):  # type: ignore[valid-type, misc]
        def get_wsgi_headers(self, environ):
            headers = self.headers
            status = self.status_code
            names = {k.lower() for k, _ in headers}
            if (
                200 <= status < 300
                and status != 204
                and "content-length" in names
                and names.isdisjoint(_REWRITTEN)
            ):
                return headers
            return super().get_wsgi_headers(environ)

    Served.__name__ = Served.__qualname__ = f"Served{base.__name__}"
    return Served


def personal_headers(model_version: str, rules_version: str) -> tuple[tuple[str, str], ...]:
    """The headers every personal page carries, built or cached, in order."""
    return (
        ("X-Model-Version", model_version),
        ("X-Rules-Version", rules_version),
        ("Cache-Control", "private, no-store"),
        ("Vary", "Cookie, User-Agent"),
    )


def finish(response: Response, model_version: str, rules_version: str) -> None:
    """Set the personal headers on a page's response (each replaces one the view set)."""
    headers = response.headers
    for name, value in personal_headers(model_version, rules_version):
        headers[name] = value


def store(
    client: redis.Redis,
    page_key: str,
    this_stamp: str,
    response: Response,
    ttl: int,
    fragments: Mapping[str, str] | None = None,
    fragment_ttl: int = 0,
) -> None:
    """Keep the page just built, stamped with what it was built from, and beside it its parts
    record: the session version and the fragment keys it was built from, so that after a click
    the session read brings back the fragments instead of the stale page (session.py). Written
    behind the response (behind()), in one round trip with the `fragments` this page computed.
    The page is kept as the response's body, encoded once for the response and the cache."""
    head = (this_stamp, response.headers["X-Model-Version"], response.headers["X-Rules-Version"])
    value = b"".join((SEP.join((*head, "")).encode(), response.get_data()))
    writes = [(k, v, fragment_ttl) for k, v in (fragments or {}).items()]
    writes.append((page_key, value, ttl))
    parts = parts_record(g.get("context"), fragment_keys())
    if parts is not None:
        writes.append((parts_key(page_key), parts, ttl))
    behind(response, client, writes)


def behind(
    response: Response, client: redis.Redis, writes: list[tuple[str, str | bytes, int]]
) -> None:
    """Write `writes` (key, value, TTL in seconds) in one round trip (set_many) once the
    response has gone out (the WSGI server closes it after sending the body), so the request
    itself waits only for its reads. Only cache entries go this way, never an event or a
    session change: a write lost here (a worker killed, a Redis hiccup) costs the next page a
    rebuild, since pages are stamped and fragments keyed by what they depend on."""
    if writes:
        response.call_on_close(partial(_write, getattr(client, "raw", client), writes))


def _write(client: redis.Redis, writes: list[tuple[str, str | bytes, int]]) -> None:
    try:
        set_many(client, writes)
    except redis.RedisError as exc:  # the next request builds the page again
        log.info("page cache write skipped: %s", exc)


def parts_record(ctx, keys: list[str]) -> str | None:
    """ "<session version>\n<key>\n...": the fragment keys, with {sv} where this visitor's
    session version stands in a personal fragment's key (its scope is v:<visitor>:s:<version>),
    so the session read can ask for them under the version a click moved on to."""
    if ctx is None or not keys:
        return None
    version = str(ctx.session.version)
    tag = visitor_tag(ctx.visitor_id)
    mine = f":v:{tag}:s:{version}:"
    template = f":v:{tag}:s:{{sv}}:"
    lines = dict.fromkeys(k.replace(mine, template) for k in keys)
    if any("\n" in k for k in lines):
        return None
    return "\n".join((version, *lines))
