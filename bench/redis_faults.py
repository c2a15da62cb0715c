"""Redis faults under steady traffic: the session store killed, then hung, for a while each.

It starts the shop under gunicorn with its own two Redis servers (the session store and the
cache, with the settings the shop ships), drives pages and event batches from several
threads, and meanwhile:

1. kills the session store (SIGKILL) for `--down` seconds, then starts it again on the same
   socket (empty: a crash without persistence);
2. stops it (SIGSTOP: connections accepted, nothing answered) for `--down` seconds, then
   resumes it (SIGCONT).

Per phase it reports requests, 5xx answers, page latency (p50 / p99 / max) and, after each
fault, how long until every worker reports the cache "ok" again (recovery). At the end every
event batch acknowledged with 202 is looked up in the SQL log: none may be missing or counted
twice.

    .venv/bin/python bench/redis_faults.py [--down 20] [--threads 4] [--home DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sqlite3
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from soak import demo_home, free_port, start, start_redis, visitors

from storefront.redis_client import CACHE_SERVER, SESSION_SERVER


class Traffic:
    """Threads that browse and post events until stopped, recording every answer."""

    def __init__(self, port: int, cookies: list[str], products: list[str], threads: int):
        self.port, self.cookies, self.products = port, cookies, products
        self.records: list[tuple[float, str, int, float]] = []  # (start, kind, status, seconds)
        self.acked: list[str] = []
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(i,)) for i in range(threads)]
        self.lock = threading.Lock()

    def _call(self, req: urllib.request.Request) -> int:
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                r.read()
                return r.status
        except urllib.error.HTTPError as exc:
            return exc.code
        except OSError:
            return 0  # no answer at all

    def _run(self, n: int) -> None:
        rng = random.Random(n)
        seq = 0
        while not self.stop.is_set():
            cookie = rng.choice(self.cookies)
            base = f"http://127.0.0.1:{self.port}"
            t = time.perf_counter()
            if rng.random() < 0.3:
                ids = [f"fault-{n}-{seq}-{i}" for i in range(3)]
                seq += 1
                events = [
                    {
                        "id": i,
                        "type": "view",
                        "product_id": rng.choice(self.products),
                        "ts": int(time.time() * 1000),
                    }
                    for i in ids
                ]
                req = urllib.request.Request(
                    f"{base}/events",
                    data=json.dumps({"events": events}).encode(),
                    headers={"Content-Type": "application/json", "Cookie": cookie},
                    method="POST",
                )
                status, kind = self._call(req), "event"
                if status == 202:
                    with self.lock:
                        self.acked.extend(ids)
            else:
                path = rng.choice(["/", f"/p/{rng.choice(self.products)}", "/search?q=mug"])
                req = urllib.request.Request(base + path, headers={"Cookie": cookie})
                status, kind = self._call(req), "page"
            with self.lock:
                self.records.append((t, kind, status, time.perf_counter() - t))

    def __enter__(self) -> Traffic:
        for th in self.threads:
            th.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for th in self.threads:
            th.join()

    def summary(self, start: float, end: float) -> dict:
        rows = [r for r in self.records if start <= r[0] < end]
        pages = sorted(r[3] for r in rows if r[1] == "page")

        def q(p: float) -> float:
            return round(pages[min(len(pages) - 1, int(p * len(pages)))] * 1000, 1)

        return {
            "seconds": round(end - start, 1),
            "requests": len(rows),
            "5xx": sum(1 for r in rows if r[2] >= 500),
            "no_answer": sum(1 for r in rows if r[2] == 0),
            "events_acked": sum(1 for r in rows if r[1] == "event" and r[2] == 202),
            "page_ms": {"p50": q(0.5), "p99": q(0.99), "max": q(1.0)} if pages else {},
            "pages_over_250ms": sum(1 for s in pages if s > 0.25),
        }


def all_workers_ok(port: int, within: float = 30.0) -> float:
    """Seconds until 20 /healthz answers in a row say the session store is "ok"."""
    t = time.perf_counter()
    streak = 0
    while streak < 20:
        if time.perf_counter() - t > within:
            return float("inf")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
                ok = json.loads(r.read()).get("cache") == "ok"
        except OSError:
            ok = False
        streak = streak + 1 if ok else 0
        if not ok:
            time.sleep(0.02)
    return round(time.perf_counter() - t, 2)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--down", type=float, default=20.0, help="seconds of each fault")
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--home", type=Path)
    args = ap.parse_args()
    home = demo_home(args.home or Path(tempfile.mkdtemp(prefix="sf-faults-")))
    sessions, sessions_url = start_redis(home, "sessions", SESSION_SERVER)
    cache, cache_url = start_redis(home, "cache", CACHE_SERVER)
    port = free_port()
    proc = start(home, port, args.workers, 4, home / "faults-server.log", sessions_url, cache_url)
    try:
        cookies = visitors(port, 50)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/pages/home") as r:
            body = json.loads(r.read())
        products = sorted({p["id"] for s in body["slots"] for p in s["products"]})
        report: dict = {}
        with Traffic(port, cookies, products, args.threads) as traffic:
            t0 = time.perf_counter()
            time.sleep(5)
            t1 = time.perf_counter()
            report["before"] = traffic.summary(t0, t1)

            sessions.kill()  # 1. killed
            sessions.wait()
            time.sleep(args.down)
            sessions, _ = start_redis(home, "sessions", SESSION_SERVER)
            t2 = time.perf_counter()
            recovery = all_workers_ok(port)
            report["killed"] = {**traffic.summary(t1, t2), "recovery_s": recovery}

            time.sleep(3)
            t3 = time.perf_counter()
            os.kill(sessions.pid, signal.SIGSTOP)  # 2. hung
            time.sleep(args.down)
            os.kill(sessions.pid, signal.SIGCONT)
            t4 = time.perf_counter()
            recovery = all_workers_ok(port)
            report["hung"] = {**traffic.summary(t3, t4), "recovery_s": recovery}
            time.sleep(3)
            report["after"] = traffic.summary(t4 + recovery, time.perf_counter())
            report["whole_run"] = traffic.summary(t0, time.perf_counter())
        with sqlite3.connect(home / "storefront.db") as db:
            stored: dict[str, int] = {}
            acked = traffic.acked
            for i in range(0, len(acked), 500):
                chunk = acked[i : i + 500]
                marks = ",".join("?" * len(chunk))
                for eid, n in db.execute(
                    f"SELECT id, count(*) FROM events WHERE id IN ({marks}) GROUP BY id", chunk
                ):
                    stored[eid] = n
        report["events"] = {
            "acknowledged": len(acked),
            "missing": sum(1 for e in acked if e not in stored),
            "twice": sum(1 for n in stored.values() if n > 1),
        }
        print(json.dumps(report, indent=2))
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        for p in (sessions, cache):
            if p.poll() is None:
                os.kill(p.pid, signal.SIGCONT)
                p.terminate()
                p.wait(timeout=30)


if __name__ == "__main__":
    main()
