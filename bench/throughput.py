"""Throughput under gunicorn with wrk: personalized pages vs static pages of the same stack.

One gunicorn server runs the shop's app with two extra routes (bench/static_app.py): one
renders the home page's template with fixed variables (a static render, what a shop without
personalization does per request), one returns a fixed home page's HTML as a ready string.
wrk drives it on loopback with personalized requests (many distinct visitors with signed
cookies, some with a history; mixed countries, devices and page types) and with each static
route, alternating, in the same run, for each worker configuration asked for: each round's
three loads run in --slices alternating slices (10 of 2 s each by default), pooled per load,
so that a drift of the machine's own speed hits all three alike (2026-12-07: with one 20 s
load each, the same static render moved from 1,114 to 1,932 requests/s between the rounds of
one run, and that drift went straight into a round's ratio). It prints
requests/s, latency p50/p99 and errors, and the ratio of personalized to each static load:
stdout is one JSON document; each config's result also goes to stderr as it is measured.

    .venv/bin/python bench/throughput.py [--seconds 20] [--visitors 1000] [--configs 2x4,3x2,4x1]
        [--user-agents 2] [--referrers] [--first-cookie-only] [--history-every 3] [--slices 10]

A config WxT is W workers with T threads each (gthread; T=1 is the sync worker); Wxgevent is W
gevent workers (`storefront serve`'s default worker class); each threaded or gevent worker
accepts at most its share of wrk's connections (serve(): else one worker could take them all
for a round). Each
visitor keeps one country and device (and User-Agent: --user-agents sets how many distinct
strings there are, 2 by default) and sends back every cookie the shop set, as a browser does
(the visitor's and the Flask session's; --first-cookie-only sends the visitor's alone, as the
bench did before 2026-12-07); `page_cache_hits` is the share of personalized
responses served whole from the page cache (their Server-Timing says `page-hit`),
`page_memo_hits` the share served from a worker's memo of stateless visitors' pages
(`page-memo`, storefront/page_memo.py).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from soak import demo_home, free_port, lua_list, start_redis, wait_healthy  # noqa: E402

from storefront.redis_client import CACHE_SERVER, SESSION_SERVER  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent

LUA = r"""
local cookies = {COOKIES}
local paths = {PATHS}
local countries = {"GB", "DE", "FR", "NL", "AU", "US", "IE", "ES"}
local uas = {UAS}
math.randomseed(os.time())
-- a visitor keeps their country and device from page to page; the pages are random
local referer = {REFERER}
request = function()
  local i = math.random(#cookies)
  local headers = {
    ["Cookie"] = cookies[i],
    ["CF-IPCountry"] = countries[(i % #countries) + 1],
    ["User-Agent"] = uas[(i % #uas) + 1]}
  if referer then  -- a click from another page of the shop
    headers["Referer"] = referer .. paths[math.random(#paths)]
  end
  return wrk.format("GET", paths[math.random(#paths)], headers)
end
local threads = {}
setup = function(thread) table.insert(threads, thread) end
hits = 0
memos = 0
response = function(status, headers, body)
  local timing = headers["Server-Timing"]
  if timing then
    if string.find(timing, "page-hit", 1, true) then hits = hits + 1
    elseif string.find(timing, "page-memo", 1, true) then memos = memos + 1 end
  end
end
done = function(summary, latency, requests)
  local e = summary.errors
  local all_hits, all_memos = 0, 0
  for _, t in ipairs(threads) do
    all_hits = all_hits + t:get("hits")
    all_memos = all_memos + t:get("memos")
  end
  io.write(string.format("RESULT %d %d %d %d %d %.0f %.0f %f\n", summary.requests,
    e.connect + e.read + e.write + e.timeout, e.status, all_hits, all_memos, latency:percentile(50),
    latency:percentile(99), summary.duration / 1e6))
end
"""


UAS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
)


def user_agents(n: int) -> list[str]:
    """n User-Agent strings, desktop and phone in turn (visitor i has the i-th, modulo n), as
    real traffic sends them: many browser versions and builds on each kind of device and
    system (Chrome builds on Windows, iOS releases on iPhones). n <= 2: UAS, the bench's own."""
    if n <= 2:
        return list(UAS)
    found = []
    for k in range(n):
        if k % 2 == 0:
            found.append(
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like"
                f" Gecko) Chrome/{110 + k % 21}.0.{5400 + k}.{k % 190} Safari/537.36"
            )
        else:  # Safari, or Chrome's builds (CriOS), on iOS releases
            major, minor = 15 + k % 3, k % 7
            browser = (
                f"Version/{major}.{minor} Mobile/15E148 Safari/604.1"
                if k % 4 == 1
                else f"CriOS/{110 + k % 21}.0.{5400 + k}.{k % 90} Mobile/15E148 Safari/604.1"
            )
            found.append(
                f"Mozilla/5.0 (iPhone; CPU iPhone OS {major}_{minor} like Mac OS X)"
                f" AppleWebKit/605.1.15 (KHTML, like Gecko) {browser}"
            )
    return found


def serve(
    home: Path,
    redis_url: str,
    cache_url: str,
    static_html: Path,
    workers: int,
    threads: int | str,
    port: int,
    log: Path,
    connections: int = 0,
) -> subprocess.Popen:
    """gunicorn on `port`. With `connections` (wrk's), a threaded or gevent worker takes at
    most its share of them (--worker-connections, rounded up): wrk opens its keep-alive
    connections in one burst, and the first worker to wake would otherwise accept them all
    (seen: one worker 0.0 s of CPU through a round, the other 8.6 s, and the round at 1,506
    requests/s against 3,356), so a round's rate would depend on that draw."""
    env = {
        **os.environ,
        "STOREFRONT_HOME": str(home),
        "STOREFRONT_REDIS_URL": redis_url,
        "STOREFRONT_CACHE_REDIS_URL": cache_url,
        "STOREFRONT_LOG_LEVEL": "WARNING",
        "BENCH_STATIC_HTML": str(static_html),
        "STOREFRONT_HOLDOUT_SHARE": "0",
        "PYTHONPATH": str(ROOT),
    }
    cmd = [
        sys.executable,
        "-m",
        "gunicorn",
        "bench.static_app:app",
        "-b",
        f"127.0.0.1:{port}",
        "-w",
        str(workers),
        *(
            ["-k", "gevent"]
            if threads == "gevent"
            else ["--threads", str(threads), "-k", "gthread" if int(threads) > 1 else "sync"]
        ),
        *(
            ["--worker-connections", str(-(-connections // workers))]
            if connections and (threads == "gevent" or int(threads) > 1)
            else []
        ),
        "--no-control-socket",
    ]
    proc = subprocess.Popen(
        cmd,
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return wait_healthy(proc, port, log)


def server_cpu(group: int, pids: tuple[int, ...]) -> tuple[float, float]:
    """CPU seconds (user + system) used so far by the gunicorn server (its process group:
    master and workers) and by the processes `pids` (the Redis servers), from /proc."""
    web = redis = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:  # gone since the listing
            continue
        # after the name: state, ppid, pgrp, ... utime (the 12th), stime (the 13th)
        if int(fields[2]) == group:
            web += int(fields[11]) + int(fields[12])
        elif int(entry) in pids:
            redis += int(fields[11]) + int(fields[12])
    tick = os.sysconf("SC_CLK_TCK")
    return web / tick, redis / tick


def wrk(
    port: int,
    script: Path,
    seconds: int,
    connections: int,
    servers: tuple[int, tuple[int, ...]] | None = None,
) -> dict:
    """One load; with `servers` (gunicorn's process group, the Redis servers' pids), the CPU
    they used per request (ms): what the machine spends per page, which other work on a shared
    VM changes far less than requests/s."""
    before = server_cpu(*servers) if servers else (0.0, 0.0)
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = next(ln for ln in out.splitlines() if ln.startswith("RESULT"))
    req, sock, status, hits, memos, p50, p99, dur = map(float, line.split()[1:])
    after = server_cpu(*servers) if servers else (0.0, 0.0)
    web, redis = after[0] - before[0], after[1] - before[1]
    return {
        "requests": int(req),
        "server_cpu_ms_per_request": (
            round((web + redis) * 1000 / req, 3) if req and servers else None
        ),
        # of which the two Redis servers' (the rest is gunicorn's: master and workers)
        "redis_cpu_ms_per_request": round(redis * 1000 / req, 3) if req and servers else None,
        "page_cache_hits": round(hits / req, 3) if req else 0.0,
        "page_memo_hits": round(memos / req, 3) if req else 0.0,
        "rps": round(req / dur, 1),
        "socket_errors": int(sock),
        "non_2xx_3xx": int(status),
        "p50_ms": p50 / 1000,
        "p99_ms": p99 / 1000,
        "seconds": round(dur, 3),
        "_cpu": (web, redis),  # summed by pooled(), then dropped
    }


def pooled(loads: list[dict]) -> dict:
    """One load's figures from several slices of it (--slices): requests, errors and CPU
    summed, the rate over the slices' whole time, shares weighted by requests; latency: the
    slices' p50 weighted by requests, their worst p99."""
    if len(loads) == 1:
        return {k: v for k, v in loads[0].items() if k != "_cpu"}
    req = sum(x["requests"] for x in loads)
    dur = sum(x["seconds"] for x in loads)
    web = sum(x["_cpu"][0] for x in loads)
    redis = sum(x["_cpu"][1] for x in loads)
    timed = loads[0]["server_cpu_ms_per_request"] is not None

    def share(name: str) -> float:
        return round(sum(x[name] * x["requests"] for x in loads) / req, 3) if req else 0.0

    return {
        "requests": req,
        "server_cpu_ms_per_request": (
            round((web + redis) * 1000 / req, 3) if req and timed else None
        ),
        "redis_cpu_ms_per_request": round(redis * 1000 / req, 3) if req and timed else None,
        "page_cache_hits": share("page_cache_hits"),
        "page_memo_hits": share("page_memo_hits"),
        "rps": round(req / dur, 1) if dur else 0.0,
        "socket_errors": sum(x["socket_errors"] for x in loads),
        "non_2xx_3xx": sum(x["non_2xx_3xx"] for x in loads),
        "p50_ms": round(share("p50_ms"), 3),
        "p99_ms": max(x["p99_ms"] for x in loads),
        "seconds": round(dur, 3),
        "slices": len(loads),
    }


def visitors(
    port: int, n: int, products: list[str], first_cookie_only: bool = False, every: int = 3
) -> list[str]:
    cookies = []
    for i in range(n):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/cart") as r:
            # every cookie the basket page sets, as a browser keeps them: the visitor's and
            # the Flask session's (its form tokens' secret: without it, each page with a form
            # mints a new secret and signs a new cookie); first_cookie_only: the visitor's
            # alone, as the bench sent before 2026-12-07
            sent = r.headers.get_all("Set-Cookie") or []
            kept = sent[:1] if first_cookie_only else sent
            cookie = "; ".join(c.split(";")[0] for c in kept)
        cookies.append(cookie)
        if every and i % every == 0:  # a third of them have a history (--history-every)
            batch = [
                {
                    "id": f"throughput-{i:06d}-{k}",
                    "type": "view",
                    "product_id": products[(i + k) % len(products)],
                    "ts": int(time.time() * 1000),
                }
                for k in range(3)
            ]
            req = urllib.request.Request(
                f"http://127.0.0.1:{port}/events",
                method="POST",
                data=json.dumps({"events": batch}).encode(),
                headers={"Content-Type": "application/json", "Cookie": cookie},
            )
            with urllib.request.urlopen(req) as r:  # a browser keeps what this sets too
                r.read()
                if not first_cookie_only:  # the new state mark (storefront/page_memo.py)
                    kept = dict(c.split("=", 1) for c in cookie.split("; "))
                    for c in r.headers.get_all("Set-Cookie") or []:
                        name, value = c.split(";")[0].split("=", 1)
                        kept[name] = value
                    cookies[-1] = cookie = "; ".join(f"{k}={v}" for k, v in kept.items())
    return cookies


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=int, default=20)
    ap.add_argument("--visitors", type=int, default=1000)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--configs", default="2x4,3x2,4x1")
    ap.add_argument("--rounds", type=int, default=3, help="alternating personalized/static")
    ap.add_argument(
        "--slices",
        type=int,
        default=10,
        help="split each round's three loads into this many alternating slices of seconds/N"
        " each (personalized, static render, ready string, again and again), pooled per load:"
        " a drift of the machine's speed within the round then hits all three alike. 1 is the"
        " bench's measure before 2026-12-07 (one 20 s load each, up to 40 s apart)",
    )
    ap.add_argument("--home", type=Path)
    ap.add_argument(
        "--referrers",
        action="store_true",
        help="each personalized request carries a Referer of another shop page, as a browser"
        " sends on a click (by default none, as before)",
    )
    ap.add_argument(
        "--history-every",
        type=int,
        default=3,
        help="every Nth visitor has a history (three product views): 3, a third, is the"
        " bench's measure; 1 all of them (mostly pages built for one visitor), 0 none (the"
        " stateless visitors' shared pages alone)",
    )
    ap.add_argument(
        "--first-cookie-only",
        action="store_true",
        help="visitors send only the first cookie the shop set (the visitor's), as the bench"
        " did before 2026-12-07, not the Flask session cookie a browser sends back too",
    )
    ap.add_argument(
        "--user-agents",
        type=int,
        default=2,
        help="distinct User-Agent strings among the visitors (user_agents(): 2, one desktop"
        " and one phone, is the bench's measure; more, as real traffic has)",
    )
    ap.add_argument(
        "--page-cache-ttl",
        type=int,
        default=None,
        help="STOREFRONT_PAGE_CACHE_TTL for the server (0: whole-page cache off)",
    )
    args = ap.parse_args()
    if args.page_cache_ttl is not None:
        os.environ["STOREFRONT_PAGE_CACHE_TTL"] = str(args.page_cache_ttl)
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")
    home = args.home or Path(tempfile.mkdtemp(prefix="sf-tp-"))
    demo_home(home)
    # the session store and the cache, each with the settings the shop ships (redis_client)
    redis_proc, redis_url = start_redis(home, "sessions", SESSION_SERVER)
    cache_proc, cache_url = start_redis(home, "cache", CACHE_SERVER)
    static_html = home / "static-home.html"
    results = []
    try:
        for config in args.configs.split(","):
            w, t_text = config.split("x")
            w, t = int(w), (t_text if t_text == "gevent" else int(t_text))
            port, log = free_port(), home / "tp-server.log"
            static_html.write_text("")
            proc = serve(home, redis_url, cache_url, static_html, w, t, port, log)
            try:
                page = urllib.request.urlopen(f"http://127.0.0.1:{port}/").read().decode()
                products = sorted(set(re.findall(r'data-product-id="([^"]+)"', page)))
                cats = sorted(set(re.findall(r'href="/c/([a-z-]+)"', page)))
                cookies = visitors(
                    port, args.visitors, products, args.first_cookie_only, args.history_every
                )
            finally:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=30)
            static_html.write_text(page)  # a real home page, same size as the personalized one
            proc = serve(home, redis_url, cache_url, static_html, w, t, port, log, args.connections)
            try:
                paths = (
                    ["/"] * 4
                    + [f"/p/{p}" for p in products[:20]]
                    + [f"/c/{c}" for c in cats]
                    + ["/search?q=heart", "/search?q=bag"]
                )
                personal = home / "personal.lua"
                lua = LUA.replace("{UAS}", lua_list(user_agents(args.user_agents)))
                static_lua = lua.replace("{REFERER}", "nil")
                lua = lua.replace(
                    "{REFERER}", json.dumps(f"http://127.0.0.1:{port}") if args.referrers else "nil"
                )
                personal.write_text(
                    lua.replace("{COOKIES}", lua_list(cookies)).replace("{PATHS}", lua_list(paths))
                )
                static = {}
                for label, path in (("render", "/__render"), ("string", "/__static")):
                    static[label] = home / f"static-{label}.lua"
                    static[label].write_text(
                        static_lua.replace("{COOKIES}", lua_list(cookies[:50])).replace(
                            "{PATHS}", lua_list([path])
                        )
                    )
                wrk(port, personal, 3, args.connections)  # warm-up
                wrk(port, static["render"], 2, args.connections)  # each worker captures
                # alternate the loads, so a drift of this machine's speed hits all alike; the
                # round with the median personalized rate is reported (with its statics)
                rounds = []
                servers = (proc.pid, (redis_proc.pid, cache_proc.pid))
                slices = max(1, args.slices)
                seconds = max(1, args.seconds // slices)  # wrk's -d takes whole seconds
                for _ in range(args.rounds):
                    loads: tuple[list, list, list] = ([], [], [])
                    for _ in range(slices):
                        for got, script in zip(
                            loads, (personal, static["render"], static["string"]), strict=True
                        ):
                            got.append(wrk(port, script, seconds, args.connections, servers))
                    rounds.append(tuple(pooled(got) for got in loads))
                p, s_render, s_string = sorted(rounds, key=lambda r: r[0]["rps"])[len(rounds) // 2]
            finally:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=30)
            results.append(
                {
                    "config": config,
                    "personalized": p,
                    "static_render": s_render,
                    "static_string": s_string,
                    "ratio_to_render": round(p["rps"] / s_render["rps"], 3),
                    "ratio_to_string": round(p["rps"] / s_string["rps"], 3),
                    "ratios_to_render_per_round": sorted(
                        round(r[0]["rps"] / r[1]["rps"], 3) for r in rounds
                    ),
                    "ratios_to_string_per_round": sorted(
                        round(r[0]["rps"] / r[2]["rps"], 3) for r in rounds
                    ),
                    "rps_per_round": [
                        [r[0]["rps"], r[1]["rps"], r[2]["rps"]] for r in rounds
                    ],  # personalized, static render, ready string
                    # the servers' CPU per static render over theirs per personalized page:
                    # the throughput ratio a machine with nothing else on it would give
                    "cpu_ratios_to_render_per_round": sorted(
                        round(
                            r[1]["server_cpu_ms_per_request"] / r[0]["server_cpu_ms_per_request"],
                            3,
                        )
                        for r in rounds
                    ),
                    "hit_shares_per_round": [
                        [r[0]["page_cache_hits"], r[0]["page_memo_hits"]] for r in rounds
                    ],  # page-hit, page-memo
                }
            )
            print(json.dumps(results[-1]), file=sys.stderr, flush=True)  # progress; stdout: one doc
    finally:
        for server in (redis_proc, cache_proc):
            server.terminate()
            server.wait(timeout=30)
    print(
        json.dumps(
            {
                "date": datetime.now(UTC).isoformat(timespec="minutes"),
                "machine": f"{platform.machine()}, {os.cpu_count()} cores",
                "command": " ".join(sys.argv),
                "results": results,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
