"""CPU per page of bench/throughput.py's personalized mix, in process, against a static render.

The same mix as throughput.py (visitors with signed cookies, a third with three product views;
home, 20 product pages, the categories and two searches; countries and devices per visitor),
driven through the Flask test client of bench/static_app.py's app, with the session store and
the cache on two redis-servers of their own (the shipped default). CPU time of this process
only (`time.process_time`), so other work on the machine counts far less than in wall time;
the Redis servers' own CPU is not in it.

    .venv/bin/python bench/profile_mix.py --tree . --home H [--pages 600] [--mode time]
        [--who all|history|stateless]

--mode time: CPU per built page (a visitor's page not cached yet, as most of throughput.py's
  are) and per static render (/__render), and their ratio; the Server-Timing phases (wall ms).
--mode warm: every page built once more, then warm pages (served whole from the page cache)
  and static renders, one of each in turn.
--mode prof: cProfile of the built pages (CPU clock), saved to --out and printed by
  cumulative time.
--mode warmprof: the same for warm pages (every page built once first), then for as many
  static renders, so the two profiles can be set side by side.
--mode callgrind: for a run under `valgrind --tool=callgrind` (instruction counts, which the
  machine's load does not change): every page built once inside itertools.filterfalse (most
  are a visitor's first copy of that page, as in --mode time), then the same pages warm inside
  itertools.starmap and as many static renders inside itertools.accumulate, so that
  `callgrind_annotate --inclusive=yes` gives each loop's instructions as the inclusive cost of
  `filterfalse_next`, `starmap_next` and `accumulate_next` (none is called by a request;
  accumulate's first item is the body's first page, not a render: one render fewer).
--tree: the source tree to import (A/B of two checkouts with one script); the home must
  have a published model (`storefront demo`).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import random
import re
import sys
import tempfile
import time
from pathlib import Path

UAS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
)
COUNTRIES = ("GB", "DE", "FR", "NL", "AU", "US", "IE", "ES")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tree", type=Path, default=Path(__file__).resolve().parent.parent)
    ap.add_argument("--home", type=Path, required=True)
    ap.add_argument("--pages", type=int, default=600, help="a quarter of them warm up")
    ap.add_argument("--visitors", type=int, default=200)
    ap.add_argument(
        "--mode", choices=("time", "warm", "prof", "warmprof", "callgrind"), default="time"
    )
    ap.add_argument("--out", type=Path, default=Path("profile_mix.prof"))
    ap.add_argument(
        "--who",
        choices=("all", "history", "stateless"),
        default="all",
        help="whose pages: every visitor's (the mix), or only those with a history (most of"
        " their pages are built) or only those without (their pages come from the memo)",
    )
    args = ap.parse_args()
    tree = args.tree.resolve()
    sys.path[:0] = [str(tree), str(tree / "bench")]
    scratch = Path(tempfile.mkdtemp(prefix="sf-mix-"))
    static_html = scratch / "static.html"
    static_html.write_text("")
    os.environ.update(
        STOREFRONT_HOME=str(args.home),
        STOREFRONT_LOG_LEVEL="WARNING",
        STOREFRONT_HOLDOUT_SHARE="0",
        BENCH_STATIC_HTML=str(static_html),
    )
    from soak import start_redis

    from storefront.redis_client import CACHE_SERVER, SESSION_SERVER

    servers = []
    try:
        for name, config in (("sessions", SESSION_SERVER), ("cache", CACHE_SERVER)):
            proc, url = start_redis(scratch, name, config)
            servers.append(proc)
            env = "STOREFRONT_REDIS_URL" if name == "sessions" else "STOREFRONT_CACHE_REDIS_URL"
            os.environ[env] = url
        run(args, tree)
    finally:
        for proc in servers:
            proc.terminate()


def run(args: argparse.Namespace, tree: Path) -> None:
    from static_app import app

    anonymous = app.test_client()
    page = anonymous.get("/").get_data(as_text=True)
    products = sorted(set(re.findall(r'data-product-id="([^"]+)"', page)))
    cats = sorted(set(re.findall(r'href="/c/([a-z-]+)"', page)))
    clients = []
    for i in range(args.visitors):
        client = app.test_client()
        client.get("/cart")
        if i % 3 == 0:  # a third of them have a history
            now = int(time.time() * 1000)
            views = [
                {
                    "id": f"mix-{i:06d}-{k}",  # an event id has 8 characters at least
                    "type": "view",
                    "product_id": products[(i + k) % len(products)],
                    "ts": now,
                }
                for k in range(3)
            ]
            answer = client.post("/events", json={"events": views})
            assert answer.status_code == 202, answer.get_data(as_text=True)  # else no history
        clients.append(client)
    paths = (
        ["/"] * 4
        + [f"/p/{p}" for p in products[:20]]
        + [f"/c/{c}" for c in cats]
        + ["/search?q=heart", "/search?q=bag"]
    )
    rnd = random.Random(7)
    # --who: whose pages (a third of the visitors have a history: every third from the first)
    who = {
        "all": range(len(clients)),
        "history": range(0, len(clients), 3),
        "stateless": [i for i in range(len(clients)) if i % 3],
    }[args.who]
    requests = [(rnd.choice(who), rnd.choice(paths)) for _ in range(args.pages)]
    phases: dict[str, float] = {}

    def get(i: int, path: str):
        headers = {"CF-IPCountry": COUNTRIES[i % len(COUNTRIES)], "User-Agent": UAS[i % 2]}
        # buffered: the response is closed once read, as a WSGI server closes it after
        # sending it, which runs the writes a page puts behind it (page_cache.behind)
        response = clients[i].get(path, headers=headers, buffered=True)
        assert response.status_code == 200, (path, response.status_code)
        return response

    memos = [0]  # pages served from the worker's memo of stateless pages (page-memo)

    def go(batch) -> int:
        """The pages of `batch`; returns how many were warm: page-hit or page-memo."""
        hits = 0
        for i, path in batch:
            timing = get(i, path).headers.get("Server-Timing", "")
            memo = "page-memo" in timing
            memos[0] += memo
            hits += "page-hit" in timing or memo
            for part in timing.split(","):
                if ";dur=" in part:
                    name, ms = part.strip().split(";dur=")
                    phases[name] = phases.get(name, 0.0) + float(ms)
        return hits

    def static_renders(batch) -> None:
        for _ in batch:
            anonymous.get("/__render", buffered=True)

    go(requests[: len(requests) // 4])  # warm-up: shared fragments, the worker's memos
    for _ in range(30):
        anonymous.get("/__render", buffered=True)
    body = requests[len(requests) // 4 :]
    phases.clear()
    memos[0] = 0
    out: dict = {"tree": str(tree), "pages": len(body)}
    if args.mode == "prof":
        profile = cProfile.Profile(time.process_time)
        profile.enable()
        out["page_cache_hits"] = go(body)
        profile.disable()
        profile.dump_stats(args.out)
        pstats.Stats(profile).sort_stats("cumulative").print_stats(60)
    elif args.mode == "warmprof":
        go(body)  # every page of the body built and kept
        for label, call in (("warm", lambda: go(body)), ("static", lambda: static_renders(body))):
            profile = cProfile.Profile(time.process_time)
            profile.enable()
            call()
            profile.disable()
            profile.dump_stats(f"{args.out}.{label}")
            print(f"=== {label}")
            pstats.Stats(profile).sort_stats("cumulative").print_stats(70)
    elif args.mode == "callgrind":
        import itertools

        built = itertools.filterfalse(lambda page: go([page]), body)  # built and kept
        first_built = sum(1 for _ in built)  # pages the first loop built (not warm)
        first_memo, memos[0] = memos[0], 0
        hits = sum(itertools.starmap(lambda i, path: go([(i, path)]), body))
        renders = itertools.accumulate(body, lambda _, page: anonymous.get("/__render"))
        for _ in renders:
            pass
        out |= {
            "first_loop_built": first_built,
            "first_loop_memo_hits": first_memo,
            "warm_page_cache_hits": hits,
            "warm_loop_memo_hits": memos[0],
        }
    elif args.mode == "time":
        started = time.process_time()
        out["page_cache_hits"] = go(body)
        page_cpu = time.process_time() - started
        out["page_memo_hits"] = memos[0]
        started = time.process_time()
        for _ in body:
            anonymous.get("/__render", buffered=True)
        render_cpu = time.process_time() - started
        out |= {
            "page_cpu_ms": round(page_cpu * 1000 / len(body), 3),
            "static_render_cpu_ms": round(render_cpu * 1000 / len(body), 3),
            "static_over_page": round(render_cpu / page_cpu, 3),
            "phases_wall_ms": {k: round(v / len(body), 3) for k, v in phases.items()},
        }
    else:
        go(body)  # every page of the body built and kept
        warm = static = 0.0
        hits = 0
        for i, path in body:
            started = time.process_time()
            timing = get(i, path).headers.get("Server-Timing", "")
            hits += "page-hit" in timing
            memos[0] += "page-memo" in timing
            warm += time.process_time() - started
            started = time.process_time()
            anonymous.get("/__render", buffered=True)
            static += time.process_time() - started
        out |= {
            "warm_cpu_ms": round(warm * 1000 / len(body), 3),
            "static_render_cpu_ms": round(static * 1000 / len(body), 3),
            "warm_over_static": round(warm / static, 3),
            "warm_page_cache_hits": hits,
            "page_memo_hits": memos[0],
        }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
