"""Event to visible: from POST /events of a click to the next page that shows its effect.

Against the shop under gunicorn on loopback: for each of N fresh visitors, time from sending a
click on a product to having the home page whose "because you viewed" rail names it (the click
went through validation, the SQL log, the session and the fragment keys). Prints p50/p95/p99.

    .venv/bin/python bench/event_to_visible.py [--visitors 200]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from markupsafe import escape  # noqa: E402
from soak import demo_home, free_port, start, start_redis  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--visitors", type=int, default=200)
    ap.add_argument("--home", type=Path)
    args = ap.parse_args()
    home = args.home or Path(tempfile.mkdtemp(prefix="sf-e2v-"))
    demo_home(home)
    redis_proc, redis_url = start_redis(home)
    port = free_port()
    proc = start(home, port, 2, 4, home / "e2v-server.log", redis_url)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", "/api/v1/pages/home")
        body = json.loads(conn.getresponse().read())
        products = [(p["id"], p["title"]) for s in body["slots"] for p in s["products"]]
        times, misses = [], 0
        rng = random.Random(7)
        for i in range(args.visitors):
            conn.request("GET", "/cart")
            r = conn.getresponse()
            r.read()
            cookie = r.getheader("Set-Cookie").split(";")[0]
            pid, title = rng.choice(products)
            batch = {
                "events": [
                    {
                        "id": f"e2v-{os.getpid()}-{i:06d}",
                        "type": "click",
                        "product_id": pid,
                        "slot": "trending",
                        "ts": int(time.time() * 1000),
                    }
                ]
            }
            t0 = time.perf_counter()
            conn.request(
                "POST",
                "/events",
                json.dumps(batch),
                {"Content-Type": "application/json", "Cookie": cookie},
            )
            ack = conn.getresponse()
            ack.read()
            conn.request("GET", "/", headers={"Cookie": cookie})
            page = conn.getresponse().read().decode()
            elapsed = (time.perf_counter() - t0) * 1000
            if ack.status == 202 and f"Because you viewed {escape(title)}" in page:
                times.append(elapsed)
            else:
                misses += 1
                if os.environ.get("E2V_DEBUG"):
                    import re

                    print(ack.status, pid, title, re.findall(r'<h2 id="h-[^>]*>([^<]*)', page))
        q = statistics.quantiles(times, n=100)
        print(
            json.dumps(
                {
                    "visitors": args.visitors,
                    "visible_on_next_page": len(times),
                    "not_visible": misses,
                    "p50_ms": round(q[49], 2),
                    "p95_ms": round(q[94], 2),
                    "p99_ms": round(q[98], 2),
                    "max_ms": round(max(times), 2),
                },
                indent=2,
            )
        )
    finally:
        conn.close()
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        redis_proc.terminate()
        redis_proc.wait(timeout=30)


if __name__ == "__main__":
    main()
