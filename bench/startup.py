"""Start-up cost: from `storefront serve` to the first served page, and the memory it holds.

For each worker count asked for, starts `storefront serve` on the demo store (its own embedded
Redis), times the spawn to the first `/healthz` and to the first home page, sends every page
type to every worker a few times (so each has loaded the model and touched its arrays), and
reads the memory of the master, each worker and the embedded redis-server with psutil: RSS,
USS (only this process's pages) and PSS (shared pages divided among the processes sharing
them). "Each further worker" is the PSS added by going from W to W+1 workers, which is what a
worker really costs when the model's arrays are memory-mapped and shared through the page cache.

    .venv/bin/python bench/startup.py [--workers 1,2,4] [--home DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from soak import demo_home, free_port  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PAGES = ["/", "/c/christmas", "/c/kitchen-dining", "/search?q=heart", "/cart"]
MB = 1024 * 1024


def get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            r.read()
            return r.status
    except OSError:
        return 0


def memory(proc: psutil.Process) -> dict:
    info = proc.memory_full_info()
    return {"rss_mb": info.rss / MB, "uss_mb": info.uss / MB, "pss_mb": info.pss / MB}


def measure(home: Path, workers: int) -> dict:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("STOREFRONT_")}
    env.update(STOREFRONT_HOME=str(home), STOREFRONT_LOG_LEVEL="WARNING")
    base = f"http://127.0.0.1:{port}"
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "storefront.cli", "serve", "--port", str(port)]
        + ["--workers", str(workers)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        while get(base + "/healthz") != 200:
            if proc.poll() is not None or time.perf_counter() - started > 120:
                raise SystemExit(f"storefront serve did not come up ({workers} workers)")
            time.sleep(0.02)
        healthy = time.perf_counter() - started
        status = get(base + "/")
        first_page = time.perf_counter() - started
        if status != 200:
            raise SystemExit(f"first page: HTTP {status}")
        product = None
        for _ in range(workers * 6):  # every worker sees every page type (gthread: a few times)
            for path in PAGES:
                get(base + path)
            if product is None:
                with urllib.request.urlopen(base + "/c/christmas") as r:
                    html = r.read().decode()
                start = html.find('data-product-id="') + len('data-product-id="')
                product = html[start : html.find('"', start)]
            get(f"{base}/p/{product}")
        master = psutil.Process(proc.pid)
        children = master.children(recursive=False)
        redis_procs = [c for c in children if "redis" in " ".join(c.cmdline())]
        worker_procs = [c for c in children if c not in redis_procs]
        return {
            "workers": workers,
            "to_healthz_s": round(healthy, 2),
            "to_first_page_s": round(first_page, 2),
            "master": memory(master),
            "workers_mem": [memory(w) for w in worker_procs],
            "redis": [memory(r) for r in redis_procs],
        }
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workers", default="1,2,4")
    ap.add_argument("--home", type=Path)
    args = ap.parse_args()
    home = args.home or Path(tempfile.mkdtemp(prefix="sf-start-"))
    demo_home(home)
    runs = [measure(home, int(w)) for w in args.workers.split(",")]
    print(
        "| workers | serve → /healthz s | serve → first page s | master PSS MB | worker PSS MB "
        "(each) | worker USS MB (each) | all shop processes PSS MB |"
    )
    print("|--:|--:|--:|--:|--:|--:|--:|")
    for r in runs:
        total = r["master"]["pss_mb"] + sum(w["pss_mb"] for w in r["workers_mem"])
        print(
            f"| {r['workers']} | {r['to_healthz_s']:.2f} | {r['to_first_page_s']:.2f} | "
            f"{r['master']['pss_mb']:.0f} | "
            + ", ".join(f"{w['pss_mb']:.0f}" for w in r["workers_mem"])
            + " | "
            + ", ".join(f"{w['uss_mb']:.0f}" for w in r["workers_mem"])
            + f" | {total:.0f} |"
        )
    totals = {
        r["workers"]: r["master"]["pss_mb"] + sum(w["pss_mb"] for w in r["workers_mem"])
        for r in runs
    }
    counts = sorted(totals)
    for a, b in zip(counts, counts[1:], strict=False):
        print(f"\nfrom {a} to {b} workers: +{(totals[b] - totals[a]) / (b - a):.0f} MB PSS each")
    print(
        json.dumps(
            {
                "date": datetime.now(UTC).isoformat(timespec="minutes"),
                "machine": f"{platform.machine()}, {os.cpu_count()} cores",
                "command": " ".join(sys.argv),
                "runs": runs,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
