"""Pages from a generated shop of 1M products and 1M customers, through the shop's own commands.

1. Writes an order export in the bundled data's format (InvoiceNo, StockCode, Description,
   Quantity, InvoiceDate, UnitPrice, CustomerID, Country): Zipf popularity with tastes, the
   draws of bench/scale.py's generator, grouped into orders over a year; every product is sold
   at least once, so all of them are in the catalog.
2. `storefront import orders` and `storefront train`, each in its own process, timed.
3. `storefront serve` (gunicorn, preloaded, 2 workers x 4 threads) with its own Redis. Signed-in
   customers then ask for cold pages: before each request every fragment and whole-page copy
   is unlinked, so every strategy runs and every slot renders. p50/p99 per page type.
4. Memory after the pages and a concurrent load that reaches every worker: PSS and USS of the
   master and of each worker (psutil), and the whole server's PSS. The server is started again
   with each further count of `--workers`; what one more worker costs is the growth of the
   whole server's PSS per worker added (PSS splits shared pages between their users, so the
   sum is what the machine holds).

    .venv/bin/python bench/scale_shop.py [--products 1000000] [--customers 1000000]
        [--draws 8000000] [--requests 200] [--home DIR] [--workers 2 1 4]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scale import draws  # noqa: E402
from soak import STOREFRONT, free_port, start_redis  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
MB = 1024 * 1024
ADJECTIVES = [
    "VINTAGE",
    "RETRO",
    "WOODEN",
    "GLASS",
    "ENAMEL",
    "PAPER",
    "METAL",
    "CERAMIC",
    "FELT",
    "WICKER",
    "ZINC",
    "LACE",
    "SWEETHEART",
    "REGENCY",
    "PARISIENNE",
    "ROSE",
]
COLOURS = ["RED", "PINK", "BLUE", "WHITE", "GREEN", "IVORY", "BLACK", "GOLD", "SILVER", "CREAM"]
NOUNS = [
    "CANDLE HOLDER",
    "MUG",
    "LUNCH BAG",
    "CUSHION COVER",
    "LANTERN",
    "NAPKINS",
    "TEA SET",
    "GARDEN SIGN",
    "CHRISTMAS BAUBLE",
    "PHOTO FRAME",
    "CAKE STAND",
    "DOORSTOP",
    "NECKLACE",
    "HAIR CLIP",
    "WALL CLOCK",
    "STORAGE TIN",
    "PARTY BUNTING",
    "JIGSAW",
    "NOTEBOOK",
    "WATER BOTTLE",
    "BAKING SET",
    "HOOK",
    "COAT RACK",
    "TRINKET BOX",
    "GIFT WRAP",
]
COUNTRIES = ["United Kingdom"] * 18 + ["Germany", "France"]


def export(path: Path, products: int, customers: int, n_draws: int) -> dict:
    """The order export: one line per draw, a customer's draws grouped into orders of about
    eight lines on random days of the year; unsold products get one anonymous line each."""
    rng = np.random.default_rng(5)
    rows, cols, group = draws(customers, products, n_draws)
    order_of = np.zeros(len(rows), dtype=np.int64)
    start = np.r_[0, np.flatnonzero(np.diff(rows)) + 1]  # rows are sorted by customer
    position = np.arange(len(rows)) - np.repeat(start, np.diff(np.r_[start, len(rows)]))
    order_of = rows.astype(np.int64) * 1000 + position // 8
    orders, order_index = np.unique(order_of, return_inverse=True)
    day = rng.integers(0, 373, size=len(orders))
    minute = rng.integers(8 * 60, 18 * 60, size=len(orders))
    ts = np.datetime64("2010-12-01") + day.astype("timedelta64[D]")
    ts = ts.astype("datetime64[m]") + minute.astype("timedelta64[m]")
    unsold = np.setdiff1d(np.arange(products), cols)
    all_cols = np.r_[cols, unsold]
    title_of = np.array(
        [
            f"{ADJECTIVES[g % len(ADJECTIVES)]} {COLOURS[(i * 7) % len(COLOURS)]} "
            f"{NOUNS[g % len(NOUNS)]}"
            for i, g in enumerate(group)
        ]
    )
    price_of = np.round(rng.lognormal(1.0, 0.7, size=products), 2)
    country_of = np.array(COUNTRIES)[rng.integers(0, len(COUNTRIES), size=customers)]
    n_unsold = len(unsold)
    frame = pd.DataFrame(
        {
            "InvoiceNo": np.r_[
                order_index + 500000, np.arange(n_unsold) + 500000 + len(orders)
            ].astype(str),
            "StockCode": np.char.add("P", np.char.zfill(all_cols.astype(str), 7)),
            "Description": title_of[all_cols],
            "Quantity": rng.integers(1, 13, size=len(all_cols)),
            "InvoiceDate": np.r_[ts[order_index], np.full(n_unsold, ts.min())],
            "UnitPrice": price_of[all_cols],
            "CustomerID": pd.array(
                np.r_[rows.astype(np.float64) + 100000, np.full(n_unsold, np.nan)], dtype="Int64"
            ),
            "Country": np.r_[country_of[rows], np.full(n_unsold, "United Kingdom")],
        }
    )
    frame.to_parquet(path, index=False)
    return {"lines": len(frame), "orders": int(len(orders)), "unsold_products": int(n_unsold)}


def storefront(home: Path, *args: str) -> float:
    t = time.perf_counter()
    subprocess.run(
        [*STOREFRONT, *args],
        cwd=ROOT,
        check=True,
        env={**os.environ, "STOREFRONT_HOME": str(home), "OPENBLAS_NUM_THREADS": "1"},
    )
    return time.perf_counter() - t


def serve(
    home: Path, redis_url: str, port: int, log: Path, workers: int = 2
) -> tuple[subprocess.Popen, float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STOREFRONT_")}
    env.update(
        STOREFRONT_HOME=str(home),
        STOREFRONT_REDIS_URL=redis_url,
        STOREFRONT_LOG_LEVEL="WARNING",
        STOREFRONT_HOLDOUT_SHARE="0",
        STOREFRONT_EVENTS_PER_MINUTE="100000",
    )
    t = time.perf_counter()
    proc = subprocess.Popen(
        [*STOREFRONT, "serve", "--port", str(port), "--workers", str(workers), "--threads", "4"],
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    for _ in range(1200):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                return proc, time.perf_counter() - t
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.25)
    raise SystemExit("server did not start:\n" + log.read_text()[-3000:])


def signed_in_visitor(port: int, admin, customer_id: str) -> str:
    """A browser's cookie, its visitor signed in as the customer (what sign-in writes)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/cart") as r:
        cookie = r.headers["Set-Cookie"].split(";")[0]
    visitor = cookie.split("=", 1)[1].rsplit(".", 1)[0]
    admin.hset(f"sf:visitor:{{v:{visitor}}}", "customer", customer_id)
    admin.expire(f"sf:visitor:{{v:{visitor}}}", 3600)
    return cookie


def cold_get(port: int, admin, path: str, cookie: str) -> tuple[float, int, str]:
    for pattern in ("sf:frag:*", "sf:page:*"):
        keys = list(admin.scan_iter(match=pattern, count=1000))
        if keys:
            admin.unlink(*keys)
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Cookie": cookie})
    t = time.perf_counter()
    with urllib.request.urlopen(req, timeout=30) as r:
        body = r.read()
        timing = r.headers.get("Server-Timing", "")
    return (time.perf_counter() - t) * 1000, len(body), timing


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def private_dirty_mb(pid: int) -> int:
    """Memory only this process has written: its own heap and copied-on-write pages. USS also
    counts clean pages of the memory-mapped model that no other process happens to have read
    yet (page cache, shared as soon as another worker reads them); this does not."""
    with open(f"/proc/{pid}/smaps_rollup") as f:
        kb = sum(int(line.split()[1]) for line in f if line.startswith("Private_Dirty:"))
    return round(kb / 1024)


def sample(data: Path, requests: int) -> tuple[list[str], list[str]]:
    """The customers who sign in and the products asked for: the same for every server run."""
    lines = pd.read_parquet(data, columns=["StockCode", "CustomerID"])
    rng = np.random.default_rng(9)
    known = lines["CustomerID"].dropna().unique()
    customers = [str(c) for c in rng.choice(known, size=requests, replace=False)]
    stock = lines["StockCode"].unique()
    return customers, [str(p) for p in rng.choice(stock, size=requests, replace=False)]


def run_server(
    home: Path,
    redis_url: str,
    workers: int,
    picked: tuple[list[str], list[str]],
    report: dict,
    timed: bool,
) -> None:
    """Serve with `workers` workers; time cold pages (if `timed`), then load every worker
    and record the memory of each process. `picked`: sample()'s customers and products."""
    import re

    import redis

    customers, product_ids = picked
    requests = len(customers)
    port = free_port()
    proc, healthy_s = serve(home, redis_url, port, home / "server.log", workers)
    report.setdefault("serve_to_healthy_s", {})[workers] = round(healthy_s, 1)
    try:
        admin = redis.Redis.from_url(redis_url, decode_responses=True)
        cookies = [signed_in_visitor(port, admin, c) for c in customers]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/") as r:
            home_html = r.read().decode()
        categories = sorted(set(re.findall(r'href="/c/([a-z-]+)"', home_html))) or ["other"]
        # every query a different one: the catalog memoises searches, and a cold page should
        # pay for its search too (two words, each matching tens of thousands of titles)
        words = [(c, n.split()[0]) for n in NOUNS for c in COLOURS]
        searches = [f"{c}+{n}".lower() for c, n in (words * 2)[:requests]]
        pages = {
            "home": ["/"] * requests,
            "category": [f"/c/{categories[i % len(categories)]}" for i in range(requests)],
            "product": [f"/p/{p}" for p in product_ids],
            "search": [f"/search?q={searches[i % len(searches)]}" for i in range(requests)],
        }
        if timed:
            for i in range(3):  # each worker touches every page type once before timing
                for paths in pages.values():
                    cold_get(port, admin, paths[i], cookies[i])
            report["workers"] = workers
            report["pages"] = {}
            for name, paths in pages.items():
                times, sizes = [], []
                for path, cookie in zip(paths, cookies, strict=True):
                    ms, size, _ = cold_get(port, admin, path, cookie)
                    times.append(ms)
                    sizes.append(size)
                report["pages"][name] = {
                    "n": len(times),
                    "p50_ms": round(pct(times, 50), 1),
                    "p99_ms": round(pct(times, 99), 1),
                    "max_ms": round(max(times), 1),
                    "html_bytes": int(statistics.median(sizes)),
                }
                print(name, json.dumps(report["pages"][name]), file=sys.stderr, flush=True)

        def fetch(job: tuple[str, str]) -> None:
            req = urllib.request.Request(f"http://127.0.0.1:{port}{job[0]}")
            req.add_header("Cookie", job[1])
            with urllib.request.urlopen(req, timeout=60) as r:
                r.read()

        jobs = [(p, c) for paths in pages.values() for p, c in zip(paths, cookies, strict=True)]
        with ThreadPoolExecutor(max_workers=4 * workers) as pool:  # every worker, every page
            list(pool.map(fetch, jobs))
        master = psutil.Process(proc.pid)
        memory = []
        for p in [master, *master.children()]:
            info = p.memory_full_info()
            memory.append(
                {
                    "process": "master" if p.pid == proc.pid else "worker",
                    "pss": round(info.pss / MB),
                    "uss": round(info.uss / MB),
                    "rss": round(info.rss / MB),
                    "private_dirty": private_dirty_mb(p.pid),
                }
            )
        total = sum(m["pss"] for m in memory)
        report.setdefault("memory_by_workers", {})[workers] = {
            "pss_total": total,
            "processes": memory,
        }
        print(workers, "workers: PSS", total, "MB", json.dumps(memory), file=sys.stderr, flush=True)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--products", type=int, default=1_000_000)
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--draws", type=int, default=8_000_000)
    ap.add_argument("--requests", type=int, default=200, help="cold pages per page type")
    ap.add_argument("--home", type=Path)
    ap.add_argument(
        "--workers", type=int, nargs="+", default=[2, 1, 4], help="pages timed on the first"
    )
    args = ap.parse_args()

    home = args.home or Path(tempfile.mkdtemp(prefix="sf-scale-shop-"))
    home.mkdir(parents=True, exist_ok=True)
    report: dict = {
        "date": datetime.now(UTC).isoformat(timespec="minutes"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "command": " ".join([os.path.relpath(sys.executable), *sys.argv]),
    }
    data = home / "orders.parquet"
    if not (home / "models" / "CURRENT").exists():
        t = time.perf_counter()
        report["export"] = export(data, args.products, args.customers, args.draws)
        report["export"]["seconds"] = round(time.perf_counter() - t, 1)
        print(json.dumps(report["export"]), file=sys.stderr, flush=True)
        report["import_s"] = round(storefront(home, "import", "orders", str(data)), 1)
        report["train_s"] = round(storefront(home, "train"), 1)
        print(json.dumps(report), file=sys.stderr, flush=True)
    picked = sample(data, args.requests)
    redis_proc, redis_url = start_redis(home)
    try:
        for n, workers in enumerate(args.workers):
            run_server(home, redis_url, workers, picked, report, timed=n == 0)
    finally:
        redis_proc.terminate()
        redis_proc.wait(timeout=30)
    counts = sorted(report["memory_by_workers"])
    if len(counts) > 1:
        lo, hi = counts[0], counts[-1]
        total = report["memory_by_workers"]
        report["pss_per_further_worker_mb"] = round(
            (total[hi]["pss_total"] - total[lo]["pss_total"]) / (hi - lo), 1
        )
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
