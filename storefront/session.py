"""Per-visitor session state in Redis: recently viewed, cart, a version, and visitor facts.

The version is bumped on every change and is part of every personal fragment's cache key, so a
click invalidates exactly that visitor's personal slots and nothing else.

With the cache on a server of its own, every change that bumps the version (SessionStore.commit)
also writes it to the cache server (SESSION_MIRROR), so that a page's read sends the session
script and the page script at once (one round trip of latency) instead of one after the other.
The copy is only a hint: the page script says which version it keyed the page's fragments by,
and when that is not the session's (a copy missing, evicted or behind), the page script runs
again with the session's version, one more round trip, never a wrong page.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from itertools import chain

import redis

from storefront.core.context import LAPSED_AFTER as LAPSED_AFTER  # re-exported
from storefront.core.context import SessionState
from storefront.core.keytags import visitor_tag
from storefront.core.ports import Clock, SystemClock
from storefront.core.visit import PREFIX as VISIT_PREFIX
from storefront.core.visit import VISIT_IDLE, Visit, to_write
from storefront.redis_client import (
    BOUGHT,
    CART,
    EXPOSURE,
    PREFS,
    SESSION_MIRROR,
    SESSION_VERSION,
    TRAITS,
    VIEWS,
    VISITOR,
    is_cluster,
    key,
    parts_key,
    run_script,
    run_scripts,
    send_many,
    visitor_keys,
)

log = logging.getLogger(__name__)

MAX_VIEWS = 30
MAX_BOUGHT = 50  # products bought this session that are kept (newest first)
TOUCH_EVERY = 300  # refresh last-seen at most every five minutes (saves a write per page)
# seconds a cookie-less visitor's record lives unless they come back: one visit (the visit's
# channel and recency are in it, so a first page read for twenty minutes still holds them)
PROVISIONAL_TTL = VISIT_IDLE
# a ledger of at most this many fields comes with the read of a page to be built, so the
# strategies' exposure back-off reads it without a round trip each (ledger.RedisLedger); a
# bigger one (a heavy shopper's, up to exposure.MAX_FIELDS) is read per strategy, by HMGET
LEDGER_ALONG = 512
LEDGER_SEP = "\x1f"  # between the ledger's fields and values as the session script packs them
_VERSION_KEYS = key(SESSION_VERSION) + ":"  # a visitor's version, and its mirror's key
_MIRROR_KEYS = key(SESSION_MIRROR) + ":"
# the session script's KEYS[1..8] (_READ), in order
_SESSION_KEYS = (VIEWS, CART, SESSION_VERSION, VISITOR, TRAITS, PREFS, EXPOSURE, BOUGHT)
_MIRROR = (SESSION_MIRROR,)


# The page and its fragments, read with the session on whichever server holds the cache.
# KEYS[p]: the page (page_cache.py); KEYS[p + 1]: its parts record (page_cache.store): the
# session version it was built at, then the keys of its fragments, one a line, with {sv} where
# the session version goes. A page built at another session version is stale (a click since):
# its fragments come instead, under this version's keys; so do they when the page is gone but
# its parts record is not. Returns page, fragment keys, fragment values (false: none). With
# `only` (a Redis Cluster: the visitor's hash tag) just the keys holding it come along: a script
# may touch only its own slot; the shared fragments are then read by the page (one MGET).
_PAGE = """
local function page_and_fragments(p, version, only)
  local page, keys, values, parts = false, false, false, false
  if #KEYS > p then parts = redis.call('GET', KEYS[p + 1]) end
  local built, rest = false, ''
  if parts then
    local nl = string.find(parts, '\\n', 1, true)
    if nl then built, rest = string.sub(parts, 1, nl - 1), string.sub(parts, nl + 1) end
  end
  if not built or built == version then page = redis.call('GET', KEYS[p]) end
  if built and not page then
    keys = {}
    for k in string.gmatch(rest, '[^\\n]+') do
      local s, e = string.find(k, '{sv}', 1, true)
      if s then k = string.sub(k, 1, s - 1) .. version .. string.sub(k, e + 1) end
      if only == '' or string.find(k, only, 1, true) then keys[#keys + 1] = k end
    end
    if #keys > 0 then values = redis.call('MGET', unpack(keys)) else keys = false end
  end
  return page, keys, values
end
"""

# Every read a page starts with, in one script: views, cart, version, facts, traits, prefs,
# the exposure ledger when it is wanted and small (packed in one string: PackedLedger), what
# was bought this session and, when more keys are given (the cache is this server), the page or
# its fragments (_PAGE). KEYS[7] is the ledger, KEYS[8] the bought list; ARGV[2] says when the
# ledger is wanted: "1" always, "p" when no page came back (the page will be built, its
# strategies read the ledger), "0" never; ARGV[3] is the most fields it may have to come along;
# ARGV[4] the most bought products; ARGV[5] the `only` of _PAGE ("" on one server). A missing
# key reads as an empty list or nil.
_READ = (
    _PAGE
    + """
local version = redis.call('GET', KEYS[3])
local page, keys, values = false, false, false
if #KEYS > 8 then page, keys, values = page_and_fragments(9, version or '0', ARGV[5]) end
local ledger = false
if ARGV[2] == '1' or (ARGV[2] == 'p' and not page) then
  if redis.call('HLEN', KEYS[7]) <= tonumber(ARGV[3]) then
    ledger = table.concat(redis.call('HGETALL', KEYS[7]), '\\31')
  end
end
return {
  redis.call('LRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1),
  redis.call('HGETALL', KEYS[2]),
  version,
  redis.call('HGETALL', KEYS[4]),
  redis.call('HGETALL', KEYS[5]),
  redis.call('HGETALL', KEYS[6]),
  page,
  keys,
  values,
  ledger,
  redis.call('LRANGE', KEYS[8], 0, tonumber(ARGV[4]) - 1),
}
"""
)

# The same on a cache server of its own. KEYS: the page, its parts record, the session
# version's mirror (SESSION_MIRROR). ARGV[1]: the session's version, or "" to take the mirror's
# ("0" when there is none, as the session script reads a missing version), sent at the same
# time as the session script; ARGV[2]: the `only` of _PAGE; ARGV[3]: with a version given, the
# TTL to write it into the mirror with ("": no write), so a missing or stale mirror heals on the
# page that found it out. Returns page, fragment keys, fragment values, the version used.
_READ_PAGE = (
    _PAGE
    + """
local version = ARGV[1]
if version == '' then
  version = redis.call('GET', KEYS[3]) or '0'
elseif ARGV[3] ~= '' then
  redis.call('SET', KEYS[3], version, 'EX', ARGV[3])
end
local page, keys, values = page_and_fragments(1, version, ARGV[2])
return {page, keys, values, version}
"""
)


def _fragments(keys, values) -> dict[str, str | None] | None:
    """The fragments a read brought back, by key (None: the read brought none); read
    undecoded with the page (run_script's `raw`), decoded here."""
    if not keys:
        return None
    return dict(zip(_text(keys), _text(values) or [None] * len(keys), strict=True))


def _text(value):
    """A part of a script's reply read undecoded (bytes, a list of them, None for nil) as
    text. The page itself stays bytes from Redis to the response (page_cache.serve): no
    decode, no string work on it and no encode for the socket (docs/benchmarks.md, "the warm
    page as bytes": about 220k instructions a warm page); the short strings beside it are
    decoded here."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode()
    return [v if v is None else v.decode() for v in value]


class PackedLedger(Mapping):
    """The exposure ledger as the session script packs it: HGETALL's fields and values joined
    by \\x1f in ONE string, split into a dict only when a strategy first reads it. A warm page
    (and on two servers every page brings the ledger along) never pays for the parse: for a
    ledger of 500 fields, about 50 µs of client CPU per read against 170-250 µs as HGETALL
    replies (docs/benchmarks.md)."""

    __slots__ = ("_raw", "_map")

    def __init__(self, raw: str):
        self._raw = raw
        self._map: dict[str, str] | None = None

    def _fields(self) -> dict[str, str]:
        if self._map is None:
            flat = self._raw.split(LEDGER_SEP) if self._raw else []
            self._map = _pairs(flat)
        return self._map

    @property
    def packed(self) -> str:
        """The ledger as the script packed it (its size, without a parse)."""
        return self._raw

    def as_dict(self) -> dict[str, str]:
        """Every field as a plain dict (split once; the caller must not change it): a lookup
        of many fields in a row goes at dict speed, not through a method each."""
        return self._fields()

    def __getitem__(self, name: str) -> str:
        return self._fields()[name]

    def __contains__(self, name: object) -> bool:
        return name in self._fields()

    def __iter__(self):
        return iter(self._fields())

    def __len__(self) -> int:
        return len(self._fields())


def _pairs(flat: list) -> dict:
    """HGETALL's flat [field, value, ...] reply as a dict."""
    return dict(zip(flat[::2], flat[1::2], strict=True))


def _state(
    visitor_id: str, reply: list, cached: list | None = None, raw: bool = False
) -> SessionState:
    """The session script's reply (_READ) as the session's state; `cached`: the page script's
    reply (_READ_PAGE, read undecoded), when the page came from a cache server of its own;
    `raw`: the session script's reply was read undecoded (one server, a page asked for)."""
    views, cart, version, facts, traits_raw, prefs, page, f_keys, f_values, expo, bought = reply
    if cached is not None:
        page, f_keys, f_values = cached[0], cached[1], cached[2]
    elif raw:  # one server: the session read undecoded for the page that came with it
        views, cart, version, facts = _text(views), _text(cart), _text(version), _text(facts)
        traits_raw, prefs, expo, bought = (
            _text(traits_raw),
            _text(prefs),
            _text(expo),
            _text(bought),
        )
    facts, cart = _pairs(facts), _pairs(cart)
    return SessionState(
        visitor_id=visitor_id,
        views=tuple(views),
        cart={pid: int(q) for pid, q in cart.items() if int(q) > 0},
        bought=tuple(bought),
        version=int(version or 0),
        customer_id=facts.get("customer") or None,
        first_seen=float(facts["first_seen"]) if "first_seen" in facts else None,
        last_seen=float(facts["last_seen"]) if "last_seen" in facts else None,
        traits_raw=_pairs(traits_raw),
        prefs=_pairs(prefs),
        cached_page=page,
        cached_fragments=_fragments(f_keys, f_values),
        exposures=None if expo is None else PackedLedger(expo),
        provisional="provisional" in facts,
        retired="retired" in facts,
        visit_fields={k: v for k, v in facts.items() if k.startswith(VISIT_PREFIX)},
    )


class SessionStore:
    """The SessionReader port's Redis adapter (core/ports.py), and the session's writes."""

    def __init__(
        self,
        client: redis.Redis,
        ttl: int,
        cache: redis.Redis | None = None,
        clock: Clock | None = None,
        visit_idle: int = VISIT_IDLE,
    ):
        self.r = client
        self.ttl = ttl
        self.provisional_ttl = max(PROVISIONAL_TTL, visit_idle)
        self.clock = clock or SystemClock()
        self.cache = client if cache is None else cache  # where whole pages live
        # the session version mirrored on the cache server (commit, _read_both): two servers,
        # neither a Redis Cluster (whose client picks a node per key: its reads stay in turn)
        self.mirrored = self.cache is not client and not (is_cluster(client) or is_cluster(cache))
        self._read = client.register_script(_READ)
        self._read_page = self.cache.register_script(_READ_PAGE)

    def read(self, visitor_id: str, page_key: str | None = None, ledger: str = "0") -> SessionState:
        """The session in one round trip; with `page_key`, the cached page rides along, or,
        when a click has made it stale, the fragments it was built from, under the keys the
        session's version gives them now (page_cache.store records them). When pages live in
        a cache server of their own, the page script goes out with the session script, keyed
        by the version mirrored there (_read_both): still one round trip of latency, and one
        more when the mirror is missing or behind. With `page_key`, the visitor's exposure
        ledger comes along too when it is small: on one server when no page came back (the page
        will be built), on two always (the session server cannot know); `ledger` ("0", "1",
        "p") asks for it explicitly.

        One server-side script rather than a pipeline of seven reads: the reply comes back as
        one command, which halves the client's cost of packing and parsing on every page."""
        if page_key is not None and self.cache is not self.r:
            return self._read_both(visitor_id, page_key)
        keys = self._session_keys(visitor_id)
        raw = page_key is not None  # the page stays bytes (_text)
        if raw:
            keys += [page_key, parts_key(page_key)]
            ledger = "p"
        args = [MAX_VIEWS, ledger, LEDGER_ALONG, MAX_BOUGHT, self._only(self.r, visitor_id)]
        try:
            reply = run_script(self._read, keys, args, raw)
        except redis.RedisError:
            return SessionState(visitor_id, available=False)
        return _state(visitor_id, reply, raw=raw)

    def _read_both(self, visitor_id: str, page_key: str) -> SessionState:
        """The session from its server and the page (or its fragments) from the cache server,
        both scripts sent before either reply is read; the page script keys the fragments by
        the mirrored version and says which it used. Used only when it is the session's: else
        (a mirror missing or behind) the page script runs again with the session's version,
        as before the mirror, and writes it into the mirror. A Redis Cluster on either side
        reads one after the other. A cache server that fails leaves the session (no page); a
        session server that fails reads as unavailable, as on one server."""
        session_call = (
            self._read,
            self._session_keys(visitor_id),
            [MAX_VIEWS, "1", LEDGER_ALONG, MAX_BOUGHT, self._only(self.r, visitor_id)],
        )
        page_keys = self._page_keys(page_key, visitor_id)
        only = self._only(self.cache, visitor_id)
        if self.mirrored:
            session_reply, page_reply = run_scripts(
                session_call, (self._read_page, page_keys, ["", only, ""], True)
            )
        else:
            try:
                session_reply = run_script(*session_call)
            except redis.RedisError as exc:
                session_reply = exc
            page_reply = None
        if isinstance(session_reply, redis.RedisError):
            return SessionState(visitor_id, available=False)
        version = str(int(session_reply[2] or 0))  # as _state reads it
        if page_reply is None or (
            not isinstance(page_reply, redis.RedisError) and page_reply[3] != version.encode()
        ):
            heal = str(self.ttl) if self.mirrored else ""
            try:
                page_reply = run_script(self._read_page, page_keys, [version, only, heal], True)
            except redis.RedisError as exc:
                page_reply = exc
        if isinstance(page_reply, redis.RedisError):
            page_reply = None  # the session without a page
        return _state(visitor_id, session_reply, page_reply)

    def read_page(self, state: SessionState, page_key: str) -> SessionState:
        """`state` (a session known without a read: a note, page_memo.py) with this request's
        page copy, or the fragments it was built from, under the keys `state`'s version gives
        them: the page script alone, on the cache server (one round trip, no session read).
        A cache server that fails leaves the state without a page."""
        keys = self._page_keys(page_key, state.visitor_id)
        args = [str(state.version), self._only(self.cache, state.visitor_id), ""]
        try:
            reply = run_script(self._read_page, keys, args, True)
        except redis.RedisError:
            return state
        return replace(state, cached_page=reply[0], cached_fragments=_fragments(reply[1], reply[2]))

    @staticmethod
    def _session_keys(visitor_id: str) -> list[str]:
        return visitor_keys(visitor_id, _SESSION_KEYS)

    @staticmethod
    def _page_keys(page_key: str, visitor_id: str) -> list[str]:
        """The page script's keys: the page copy, its parts record, the mirrored version."""
        return [page_key, parts_key(page_key), *visitor_keys(visitor_id, _MIRROR)]

    @staticmethod
    def _only(client: redis.Redis, visitor_id: str) -> str:
        """_PAGE's `only`: on a Redis Cluster the visitor's hash tag, else "" (every key)."""
        return visitor_tag(visitor_id) if is_cluster(client) else ""

    def touch(
        self,
        state: SessionState,
        now: float | None = None,
        new: bool = False,
        visit: Visit | None = None,
    ) -> dict[str, str]:
        """Record that the visitor was here (first/last seen), at most every few minutes, and
        the visit this page belongs to (core/visit.py: all of it when the page began it, else
        its last-seen time at most once a minute), in the same record and under its TTL.

        A `new` visitor (no valid cookie: a first page, a bot, a health check) is recorded only
        provisionally, for one visit (PROVISIONAL_TTL): a request that never comes back with
        the cookie leaves nothing lasting. Their first page with the cookie makes the record
        theirs for the session TTL. Returns the facts written ({}: none), first_seen among
        them (written only where the record had none)."""
        if state.retired:  # its record is only the retirement mark, which must keep its TTL
            return {}
        now = self.clock.now() if now is None else now
        k = key(VISITOR, state.visitor_id)
        facts: dict[str, str] = {}
        ttl = self.ttl
        if new:
            if state.first_seen is not None:  # an id with a record already: never shorten it
                return {}
            facts, ttl = {"last_seen": f"{now:.0f}", "provisional": "1"}, self.provisional_ttl
        elif state.provisional or state.last_seen is None or now - state.last_seen >= TOUCH_EVERY:
            facts = {"last_seen": f"{now:.0f}"}
        if visit is not None:
            facts.update(to_write(visit, now))
        if not facts:  # most pages: nothing to write
            return {}
        writes = [
            ("HSETNX", k, "first_seen", f"{now:.0f}"),
            ("HSET", k, *chain.from_iterable(facts.items())),
        ]
        if not new:
            writes.append(("HDEL", k, "provisional"))
        writes.append(("EXPIRE", k, ttl))
        try:  # a pipeline's commands in one round trip, without its machinery (send_many)
            send_many(self.r, writes)
        except redis.RedisError:
            return {}
        return {"first_seen": f"{now:.0f}", **facts}

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
        elif kind == "purchase":  # history at once: the next page folds it in
            bk = key(BOUGHT, visitor_id)
            pipe.lrem(bk, 0, product_id)
            pipe.lpush(bk, product_id)
            pipe.ltrim(bk, 0, MAX_BOUGHT - 1)
            pipe.expire(bk, self.ttl)
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
        self.commit(pipe)

    def bump(self, pipe: redis.client.Pipeline, visitor_id: str) -> None:
        """Queue the version's bump onto `pipe`; run it with commit(), which mirrors it."""
        vk = key(SESSION_VERSION, visitor_id)
        pipe.incr(vk)
        pipe.expire(vk, self.ttl)

    def commit(self, pipe: redis.client.Pipeline) -> list:
        """Execute `pipe` (the session store's) and, with the cache on a server of its own,
        write each session version it bumped to the cache server (SESSION_MIRROR, TTL the
        session's), before the caller answers: the visitor's next page then reads its page
        and fragments in the same round trip as its session (read). Every write path that
        bumps the version runs its pipeline through here. A mirror write that fails is only
        logged: the next page finds the mirror behind and reads again (one round trip more)."""
        bumped = (
            [
                (i, args[1])
                for i, (args, _) in enumerate(pipe.command_stack)
                if args[0] in ("INCR", "INCRBY") and str(args[1]).startswith(_VERSION_KEYS)
            ]
            if self.mirrored
            else []
        )
        results = pipe.execute()
        if bumped:
            versions = {k: results[i] for i, k in bumped}  # the last bump of each visitor
            try:
                mirror = self.cache.pipeline(transaction=False)
                for k, version in versions.items():
                    mirror.set(_MIRROR_KEYS + k[len(_VERSION_KEYS) :], version, ex=self.ttl)
                mirror.execute()
            except redis.RedisError as exc:
                log.info("session version mirror not written: %s", exc)
        return results

    def set_cart(self, visitor_id: str, product_id: str, quantity: int) -> None:
        ck = key(CART, visitor_id)
        pipe = self.r.pipeline(transaction=True)
        if quantity > 0:
            pipe.hset(ck, product_id, quantity)
        else:
            pipe.hdel(ck, product_id)
        pipe.expire(ck, self.ttl)
        self.bump(pipe, visitor_id)
        self.commit(pipe)
