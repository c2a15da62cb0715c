"""Prometheus metrics: what the shop counts and times, and GET /metrics.

Under gunicorn every worker is its own process, so each keeps its counters in files under
PROMETHEUS_MULTIPROC_DIR (prometheus_client's multiprocess mode; storefront/server.py makes a
clean directory per run before the workers fork and marks a dead worker's live gauges gone), and
whichever worker answers a scrape adds up every worker's files. Without that variable (tests,
`flask run`) the metrics live in this process's memory and a scrape reads them directly.

The metric objects are built on first use, not at import: prometheus_client decides between
memory and files when a metric is created, and the server sets the directory only just before
it builds the app (after this module may have been imported).

Every label takes its value from a fixed list (page types, phases, status codes, kinds of error),
never from a URL, a query or a visitor id, so the number of series is bounded. docs/operations.md
lists every metric with its labels.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import time
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Flask, Response, abort, current_app, g, request

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
PAGE_TYPES = ("home", "category", "product", "search", "cart", "other")  # layouts.PAGE_TYPES + 1
PHASES = (
    "context",
    "page-hit",
    "page-memo",
    "rules",
    "cache",
    "recs",
    "pipeline",
    "render",
    "other",
)
CHANNELS = ("html", "api")
EVENT_STATUSES = ("202", "400", "401", "409", "413", "429", "503", "other")
REDIS_SERVERS = {"session store": "sessions", "cache": "cache"}  # breaker name -> label
REDIS_KINDS = ("connection", "timeout", "circuit_open")
DB_KINDS = ("disconnect", "operational", "integrity", "other")
# seconds: from a cached page's fraction of a millisecond to a cold page on a big catalog
BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
INF = float("inf")
_HTML_PAGES = {
    "shop.home": "home",
    "shop.category": "category",
    "shop.product": "product",
    "shop.search": "search",
    "shop.cart": "cart",
    "shop.checkout": "cart",
}

# (attribute, metric name, help, labels): docs/operations.md lists the same
HISTOGRAMS = (
    (
        "page_seconds",
        "storefront_page_seconds",
        "Time to answer a shopper page (HTML or JSON API), by page type",
        ("page", "channel"),
    ),
    (
        "phase_seconds",
        "storefront_page_phase_seconds",
        "Time a shopper page spent in one phase (the Server-Timing header's phases)",
        ("page", "phase"),
    ),
)
COUNTERS = (
    (
        "page_responses",
        "storefront_page_responses",
        "Shopper pages answered, by page type, channel and status class",
        ("page", "channel", "status"),
    ),
    (
        "page_cache",
        "storefront_page_cache",
        "Whole-page cache lookups (page_cache.py), by page type and result (hit, miss)",
        ("page", "result"),
    ),
    (
        "fragment_cache",
        "storefront_fragment_cache",
        "Slot candidate lookups in the fragment cache, by page type and result (hit, miss)",
        ("page", "result"),
    ),
    (
        "event_batches",
        "storefront_event_batches",
        "POST /events batches by answer: 202 accepted, else the refusal's status",
        ("status",),
    ),
    (
        "events",
        "storefront_events",
        "Events in accepted batches: recorded (new) or duplicate (a retry, counted once)",
        ("result",),
    ),
    (
        "redis_errors",
        "storefront_redis_errors",
        "Redis calls that failed (connection, timeout) or were refused by an open breaker",
        ("server", "kind"),
    ),
    ("db_errors", "storefront_db_errors", "Database errors seen by SQLAlchemy, by kind", ("kind",)),
)

bp = Blueprint("metrics", __name__)


def multiprocess_dir() -> str | None:
    """The multiprocess directory, when this process writes its metrics to files."""
    return os.environ.get(MULTIPROC_ENV) or None


class _Metrics:
    """Every metric object, built once per process (see the module's docstring)."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, values

        if multiprocess_dir() and not getattr(values.ValueClass, "_multiprocess", False):
            # prometheus_client was imported before the directory was set: choose again
            values.ValueClass = values.get_value_class()
        # in multiprocess mode the metrics must stay out of any registry (the scrape reads the
        # files); in one process they live in a registry of our own, not the global default
        self.registry = None if multiprocess_dir() else CollectorRegistry(auto_describe=True)
        r = self.registry
        for attr, name, doc, labels in HISTOGRAMS:
            setattr(self, attr, Histogram(name, doc, labels, buckets=BUCKETS, registry=r))
        for attr, name, doc, labels in COUNTERS:
            setattr(self, attr, Counter(name, doc, labels, registry=r))
        self.model_info = Gauge(
            "storefront_model_info",
            "1 for the model version a worker serves ('none': popularity), 0 for one it served",
            ("version",),
            registry=r,
            multiprocess_mode="livemax",
        )
        self.model_version: str | None = None  # what this process last reported
        # each metric's child per label values, looked up once: labels() costs some 10 µs and
        # a page observes eight or so; the label values come from fixed lists (bounded)
        self._children: dict[tuple, Any] = {}
        self._pages: dict[tuple[str, str], _PageChildren] = {}

    def child(self, attr: str, *labels: str) -> Any:
        """getattr(self, attr).labels(*labels), kept after the first call."""
        k = (attr, labels)
        found = self._children.get(k)
        if found is None:
            found = self._children[k] = getattr(self, attr).labels(*labels)
        return found

    def page(self, page: str, channel: str) -> _PageChildren:
        """The children a page of this type and channel observes, bound once (bounded: page
        types and channels come from fixed lists)."""
        found = self._pages.get((page, channel))
        if found is None:
            found = self._pages[(page, channel)] = _PageChildren(self, page, channel)
        return found

    def collectors(self) -> list:
        return [getattr(self, attr) for attr, *_ in (*HISTOGRAMS, *COUNTERS)] + [self.model_info]


def observer(child: Any) -> Callable[[float], None]:
    """`child.observe` of a Histogram child, for the pages' hot path: the same samples (the sum,
    then the first bucket whose bound is >= the amount, found by bisection) without the
    per-call checks and the Python loop over the buckets. prometheus_client's own observe for
    anything else (another version's layout, a NaN, which falls in no bucket there)."""
    try:
        bounds, buckets, add = list(child._upper_bounds), list(child._buckets), child._sum.inc
    except AttributeError:
        return child.observe
    if len(bounds) != len(buckets) or not bounds or bounds[-1] != INF:
        return child.observe
    bumps = [bucket.inc for bucket in buckets]

    def observe(amount: float) -> None:
        if amount != amount:  # NaN
            child.observe(amount)
            return
        add(amount)
        bumps[bisect_left(bounds, amount)](1)

    return observe


def incrementer(child: Any) -> Callable[[], None]:
    """`child.inc()` of a Counter child by one, without its per-call checks (its value's own
    locked inc); prometheus_client's inc where the layout differs."""
    value = getattr(child, "_value", None)
    if value is None or not callable(getattr(value, "inc", None)):
        return child.inc
    bump = value.inc
    return lambda: bump(1)


class _PageChildren:
    """One page type and channel's children, each looked up on its first use only (a series
    appears in the scrape once observed, as with labels() on each page), and bound to their
    cheaper observe and inc (observer(), incrementer())."""

    def __init__(self, m: _Metrics, page: str, channel: str) -> None:
        self.m, self.page, self.channel = m, page, channel
        self.seconds = observer(m.child("page_seconds", page, channel))
        self.phases: dict[str, Any] = {}  # phase name as timed -> its child's observe
        self.responses: dict[int, Any] = {}  # status -> its status class's child's inc
        self.cache: dict[str, Any] = {}  # page-cache result (hit, memo, miss) -> its child's inc

    def phase(self, name: str) -> Callable[[float], None]:
        found = self.phases.get(name)
        if found is None:
            child = self.m.child("phase_seconds", self.page, _phase(name))
            found = self.phases[name] = observer(child)
        return found

    def status(self, status: int) -> Callable[[], None]:
        found = self.responses.get(status)
        if found is None:
            labels = (self.page, self.channel, f"{status // 100}xx")
            found = self.responses[status] = incrementer(self.m.child("page_responses", *labels))
        return found

    def cache_result(self, result: str) -> Callable[[], None]:
        """result: "hit" (the visitor's own copy), "memo" (a stateless page from the worker's
        memo, page_memo.py) or "miss" (built)."""
        found = self.cache.get(result)
        if found is None:
            found = self.cache[result] = incrementer(self.m.child("page_cache", self.page, result))
        return found


_metrics: _Metrics | None = None
_metrics_pid: int | None = None


def metrics() -> _Metrics:
    """This process's metric objects (built on first use)."""
    global _metrics, _metrics_pid
    if _metrics is None:
        _metrics = _Metrics()
    if _metrics_pid != os.getpid():  # a forked worker reports its model itself
        _metrics.model_version, _metrics_pid = None, os.getpid()
    return _metrics


def page_type(endpoint: str | None, view_args: dict | None, args: Any = None) -> tuple[str, str]:
    """(page type, channel) of a request's endpoint; page types from a fixed list."""
    endpoint = endpoint or ""
    if endpoint.startswith("api."):
        page = (view_args or {}).get("page") or (args.get("page_type") if args else None)
        return (page if page in PAGE_TYPES else "other"), "api"
    return _HTML_PAGES.get(endpoint, "other"), "html"


def _phase(name: str) -> str:
    return name if name in PHASES else "other"


def observe_page(
    page: str, channel: str, status: int, seconds: float, phases: dict[str, float]
) -> None:
    """One shopper page: its total time, each phase's time (milliseconds, as Server-Timing
    has them), and its status class."""
    _observe_page(metrics().page(page, channel), status, seconds, phases)


def _observe_page(
    children: _PageChildren, status: int, seconds: float, phases: dict[str, float]
) -> None:
    children.seconds(seconds)
    for name, ms in phases.items():
        children.phase(name)(ms / 1000)
    children.status(status)()


def page_cache(page: str, hit: bool) -> None:
    metrics().page(page, "html").cache_result("hit" if hit else "miss")()


def fragments(page: str, hits: Iterable[bool]) -> None:
    """What compose reported: one flag per slot, True when its candidates came from the cache."""
    n_hit = n_miss = 0
    for hit in hits:
        n_hit, n_miss = n_hit + bool(hit), n_miss + (not hit)
    page = page if page in PAGE_TYPES else "other"
    m = metrics()
    if n_hit:
        m.child("fragment_cache", page, "hit").inc(n_hit)
    if n_miss:
        m.child("fragment_cache", page, "miss").inc(n_miss)


def event_batch(status: int, recorded: int = 0, duplicates: int = 0) -> None:
    """One POST /events answer; for an accepted batch, its new and repeated events."""
    code = str(status)
    m = metrics()
    m.event_batches.labels(code if code in EVENT_STATUSES else "other").inc()
    if recorded:
        m.events.labels("recorded").inc(recorded)
    if duplicates:
        m.events.labels("duplicate").inc(duplicates)


def redis_error(server: str, kind: str) -> None:
    """A Redis call failed (`kind` connection or timeout) or was refused (circuit_open);
    `server` is the client's breaker name."""
    metrics().redis_errors.labels(
        REDIS_SERVERS.get(server, "other"), kind if kind in REDIS_KINDS else "connection"
    ).inc()


def db_error(kind: str) -> None:
    metrics().db_errors.labels(kind if kind in DB_KINDS else "other").inc()


def model_served(version: str) -> None:
    """The model version this process serves now (cheap when unchanged: one comparison)."""
    m = metrics()
    if m.model_version == version:
        return
    if m.model_version is not None:
        m.model_info.labels(m.model_version).set(0)
    m.model_info.labels(version).set(1)
    m.model_version = version


def model_age(version: str, path: Any = None) -> float | None:
    """Seconds since the model version was trained: its name is its UTC training time
    (recommender.registry.new_version); else the age of its meta.json; None without a model."""
    if version == "none":
        return None
    try:
        trained = datetime.strptime(version, "%Y%m%dT%H%M%S%fZ").replace(tzinfo=UTC).timestamp()
    except ValueError:
        try:
            trained = os.stat(os.path.join(str(path), "meta.json")).st_mtime
        except (OSError, TypeError):
            return None
    return max(0.0, time.time() - trained)


class _ModelAge:
    """storefront_model_age_seconds, computed when scraped by the worker answering (every
    worker serves the published model within STOREFRONT_MODEL_CHECK_SECONDS)."""

    def __init__(self, age: float | None):
        self.age = age

    def collect(self) -> Iterator:
        from prometheus_client.core import GaugeMetricFamily

        family = GaugeMetricFamily(
            "storefront_model_age_seconds", "Seconds since the served model version was trained"
        )
        if self.age is not None:
            family.add_metric([], self.age)
        yield family


def exposition(age: float | None = None) -> tuple[bytes, str]:
    """The metrics in Prometheus' text format, with its content type: every worker's (summed
    from the multiprocess files) or this process's."""
    from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

    registry = CollectorRegistry(auto_describe=False)
    if multiprocess_dir():
        from prometheus_client.multiprocess import MultiProcessCollector

        metrics()  # this worker's files exist even before its first observation
        MultiProcessCollector(registry)
    else:
        for collector in metrics().collectors():
            registry.register(collector)
    registry.register(_ModelAge(age))
    return generate_latest(registry), CONTENT_TYPE_LATEST


def mark_process_dead(pid: int) -> None:
    """gunicorn's child_exit: a dead worker's live gauges (the model it served) drop out; its
    counters and histograms stay in the sums."""
    if multiprocess_dir():
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)


# --- access ---------------------------------------------------------------------------------


def allowed(remote_addr: str | None, headers: Any, token: str) -> int | None:
    """None when this request may read /metrics, else the status that refuses it: with
    STOREFRONT_METRICS_TOKEN set, `Authorization: Bearer <token>` from anywhere (401
    otherwise); without it, only a direct connection from this host (a request a proxy relayed
    carries Forwarded / X-Forwarded-For and is refused, 403)."""
    if token:
        presented = headers.get("Authorization", "")
        scheme, _, value = presented.partition(" ")
        ok = scheme.lower() == "bearer" and hmac.compare_digest(value.strip(), token)
        return None if ok else 401
    if headers.get("Forwarded") or headers.get("X-Forwarded-For"):
        return 403
    try:
        return None if ipaddress.ip_address(remote_addr or "").is_loopback else 403
    except ValueError:
        return 403


@bp.get("/metrics")
def scrape() -> Response:
    settings = current_app.config["SETTINGS"]
    refused = allowed(request.remote_addr, request.headers, settings.metrics_token)
    if refused == 401:
        description = "Authorization: Bearer STOREFRONT_METRICS_TOKEN required"
        response = current_app.response_class(description + "\n", 401, mimetype="text/plain")
        response.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    if refused:
        abort(403, description="metrics: from this host only, or set STOREFRONT_METRICS_TOKEN")
    age = None
    try:
        snap = current_app.extensions["models"].get()
        model_served(snap.model_version)
        age = model_age(snap.model_version, getattr(snap.model, "path", None))
    except Exception:  # no catalog yet (the database is down): the counters still answer
        pass
    body, content_type = exposition(age)
    response = current_app.response_class(body, 200, content_type=content_type)
    response.headers["Cache-Control"] = "no-store"
    return response


# --- request hooks --------------------------------------------------------------------------


def _start() -> None:
    g._metrics_start = time.perf_counter()


def _observe(response: Response) -> Response:
    """After every request: a shopper page's times and page-cache result, an events batch's
    answer, and the model version this worker served."""
    try:
        _record(response)
    except Exception:  # counting must never break an answer
        current_app.logger.exception("metrics: could not record a request")
    return response


def _record(response: Response) -> None:
    # every request passes here: the request and `g` are bound once (each access through
    # Flask's proxies is a lookup), `g`'s attributes read from its dict
    req = request._get_current_object()
    held = g._get_current_object().__dict__
    endpoint = req.endpoint
    if endpoint == "events.ingest":
        counts = response.get_json(silent=True) if response.status_code == 202 else None
        counts = counts if isinstance(counts, dict) else {}
        event_batch(response.status_code, counts.get("recorded", 0), counts.get("duplicates", 0))
    timings = held.get("timings")
    started = held.get("_metrics_start")
    if timings is not None and started is not None:
        api = endpoint is not None and endpoint.startswith("api.")  # only the API reads args
        page, channel = page_type(endpoint, req.view_args, req.args if api else None)
        phases = timings.phases
        children = metrics().page(page, channel)
        _observe_page(children, response.status_code, time.perf_counter() - started, phases)
        if held.get("page_key") or held.get("page_memo"):  # a page cache was asked
            result = "hit" if "page-hit" in phases else "memo" if "page-memo" in phases else "miss"
            children.cache_result(result)()
    versions = held.get("_versions")  # the request's versions, if it read them (holders.py)
    if versions is not None:
        model_served(versions[1].snapshot.model_version)


def _count_db_errors(engine: Any) -> None:
    from sqlalchemy import event

    def handle_error(ctx) -> None:
        from sqlalchemy.exc import IntegrityError, OperationalError

        exc = ctx.sqlalchemy_exception
        if ctx.is_disconnect:
            db_error("disconnect")
        elif isinstance(exc, OperationalError):
            db_error("operational")
        elif isinstance(exc, IntegrityError):
            db_error("integrity")
        else:
            db_error("other")

    event.listen(engine, "handle_error", handle_error)


def init_app(app: Flask) -> None:
    """GET /metrics and the hooks that time requests. Call before the shop's blueprints are
    registered: the start time is taken before the shop reads the visitor's context, and the
    observation runs after every other after-request hook (Flask runs them in reverse)."""
    app.before_request(_start)
    app.after_request(_observe)
    _count_db_errors(app.extensions["db"])
    app.register_blueprint(bp)
