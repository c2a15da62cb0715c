"""Per-visitor session state in Redis: recently viewed, cart, a version, and visitor facts.

The version is bumped on every change and is part of every personal fragment's cache key, so a
click invalidates exactly that visitor's personal slots and nothing else.
"""

from __future__ import annotations

from dataclasses import replace

import redis

from storefront.core.context import LAPSED_AFTER as LAPSED_AFTER  # re-exported
from storefront.core.context import SessionState
from storefront.core.ports import Clock, SystemClock
from storefront.redis_client import CART, PREFS, SESSION_VERSION, TRAITS, VIEWS, VISITOR, key

MAX_VIEWS = 30
TOUCH_EVERY = 300  # refresh last-seen at most every five minutes (saves a write per page)
PROVISIONAL_TTL = 600  # seconds a cookie-less visitor's record lives unless they come back


# Every read a page starts with, in one script: views, cart, version, facts, traits, prefs and,
# when a seventh key is given, the cached page. A missing key reads as an empty list or nil.
_READ = """
local page = false
if #KEYS > 6 then page = redis.call('GET', KEYS[7]) end
return {
  redis.call('LRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1),
  redis.call('HGETALL', KEYS[2]),
  redis.call('GET', KEYS[3]),
  redis.call('HGETALL', KEYS[4]),
  redis.call('HGETALL', KEYS[5]),
  redis.call('HGETALL', KEYS[6]),
  page,
}
"""


def _pairs(flat: list) -> dict:
    """HGETALL's flat [field, value, ...] reply as a dict."""
    return dict(zip(flat[::2], flat[1::2], strict=True))


class SessionStore:
    """The SessionReader port's Redis adapter (core/ports.py), and the session's writes."""

    def __init__(
        self,
        client: redis.Redis,
        ttl: int,
        cache: redis.Redis | None = None,
        clock: Clock | None = None,
    ):
        self.r = client
        self.ttl = ttl
        self.clock = clock or SystemClock()
        self.cache = client if cache is None else cache  # where whole pages live
        self._read = client.register_script(_READ)

    def read(self, visitor_id: str, page_key: str | None = None) -> SessionState:
        """The session in one round trip; with `page_key`, the cached page rides along (or,
        when pages live in a cache server of their own, follows in a second one).

        One server-side script rather than a pipeline of seven reads: the reply comes back as
        one command, which halves the client's cost of packing and parsing on every page."""
        if page_key is not None and self.cache is not self.r:
            state = self.read(visitor_id)
            try:
                page = self.cache.get(page_key)
            except redis.RedisError:
                return state
            return replace(state, cached_page=page)
        keys = [
            key(VIEWS, visitor_id),
            key(CART, visitor_id),
            key(SESSION_VERSION, visitor_id),
            key(VISITOR, visitor_id),
            key(TRAITS, visitor_id),
            key(PREFS, visitor_id),
        ]
        if page_key is not None:
            keys.append(page_key)
        try:
            views, cart, version, facts, traits_raw, prefs, *page = self._read(
                keys=keys, args=[MAX_VIEWS]
            )
        except redis.RedisError:
            return SessionState(visitor_id, available=False)
        facts, cart = _pairs(facts), _pairs(cart)
        return SessionState(
            visitor_id=visitor_id,
            views=tuple(views),
            cart={pid: int(q) for pid, q in cart.items() if int(q) > 0},
            version=int(version or 0),
            customer_id=facts.get("customer") or None,
            first_seen=float(facts["first_seen"]) if "first_seen" in facts else None,
            last_seen=float(facts["last_seen"]) if "last_seen" in facts else None,
            traits_raw=_pairs(traits_raw),
            prefs=_pairs(prefs),
            cached_page=page[0] if page else None,
            provisional="provisional" in facts,
            retired="retired" in facts,
        )

    def touch(self, state: SessionState, now: float | None = None, new: bool = False) -> None:
        """Record that the visitor was here (first/last seen), at most every few minutes.

        A `new` visitor (no valid cookie: a first page, a bot, a health check) is recorded only
        provisionally, for PROVISIONAL_TTL: a request that never comes back with the cookie
        leaves nothing lasting. Their first page with the cookie makes the record theirs for
        the session TTL."""
        if state.retired:  # its record is only the retirement mark, which must keep its TTL
            return
        now = self.clock.now() if now is None else now
        k = key(VISITOR, state.visitor_id)
        if new:
            if state.first_seen is not None:  # an id with a record already: never shorten it
                return
            facts, ttl = {"last_seen": f"{now:.0f}", "provisional": "1"}, PROVISIONAL_TTL
        elif state.provisional:
            facts, ttl = {"last_seen": f"{now:.0f}"}, self.ttl
        elif state.last_seen is not None and now - state.last_seen < TOUCH_EVERY:
            return
        else:
            facts, ttl = {"last_seen": f"{now:.0f}"}, self.ttl
        try:
            pipe = self.r.pipeline(transaction=False)
            pipe.hsetnx(k, "first_seen", f"{now:.0f}")
            pipe.hset(k, mapping=facts)
            if not new:
                pipe.hdel(k, "provisional")
            pipe.expire(k, ttl)
            pipe.execute()
        except redis.RedisError:
            pass

    def record(
        self,
        pipe: redis.client.Pipeline,
        visitor_id: str,
        kind: str,
        product_id: str,
        quantity: int = 1,
    ) -> None:
        """Queue the session change an event implies onto `pipe` (executed by the caller)."""
        if kind in ("view", "click"):
            vk = key(VIEWS, visitor_id)
            pipe.lrem(vk, 0, product_id)
            pipe.lpush(vk, product_id)
            pipe.ltrim(vk, 0, MAX_VIEWS - 1)
            pipe.expire(vk, self.ttl)
        elif kind in ("add_to_cart", "remove_from_cart"):
            ck = key(CART, visitor_id)
            delta = quantity if kind == "add_to_cart" else -quantity
            pipe.hincrby(ck, product_id, delta)
            pipe.expire(ck, self.ttl)
        self.bump(pipe, visitor_id)

    def clear_cart(self, visitor_id: str) -> None:
        pipe = self.r.pipeline(transaction=True)
        pipe.delete(key(CART, visitor_id))
        self.bump(pipe, visitor_id)
        pipe.execute()

    def bump(self, pipe: redis.client.Pipeline, visitor_id: str) -> None:
        vk = key(SESSION_VERSION, visitor_id)
        pipe.incr(vk)
        pipe.expire(vk, self.ttl)

    def set_cart(self, visitor_id: str, product_id: str, quantity: int) -> None:
        ck = key(CART, visitor_id)
        pipe = self.r.pipeline(transaction=True)
        if quantity > 0:
            pipe.hset(ck, product_id, quantity)
        else:
            pipe.hdel(ck, product_id)
        pipe.expire(ck, self.ttl)
        self.bump(pipe, visitor_id)
        pipe.execute()
