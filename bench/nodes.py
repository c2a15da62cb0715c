"""Throughput of 1, 2 and 3 shop nodes behind HAProxy, on this machine, with wrk.

Everything on 127.0.0.1, as tests/multinode/test_nodes.py starts it (tests/multinode/fleet.py):
a 6-process Redis Cluster (3 primaries, 3 replicas), a PostgreSQL database of its own on
127.0.0.1:5432 (dropped after), the generated grocery store imported and trained, then for each
node count N: N `storefront serve` processes (their own homes; `--workers W` each) and HAProxy
from deploy/haproxy.cfg in front. wrk drives HAProxy with many visitors (signed cookies, a third
with a history) over the home, product, category and cart pages. Prints one JSON line per N
and, with --markdown, the table for docs/scaling.md ("Nodes").

    .venv/bin/python bench/nodes.py [--nodes 1,2,3] [--workers 1] [--seconds 20]
                                    [--connections 16] [--visitors 300] [--markdown]

On a machine of few cores every node competes for the same CPUs (and with wrk, HAProxy, Redis
and PostgreSQL): more nodes then add no throughput; the figures say what this machine shows.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import run_cli  # noqa: E402
from tests.helpers import grocery_orders  # noqa: E402
from tests.multinode.cluster_support import start_cluster  # noqa: E402
from tests.multinode.fleet import (  # noqa: E402
    Balancer,
    Node,
    check_tools,
    create_database,
    drop_database,
    free_port,
    node_env,
)
from tests.stores.grocery import write_store  # noqa: E402

REDIS_PORTS = list(range(7440, 7446))

LUA = r"""
local cookies = {COOKIES}
local paths = {PATHS}
math.randomseed(os.time())
request = function()
  local cookie = cookies[math.random(#cookies)]
  return wrk.format("GET", paths[math.random(#paths)], {["Cookie"] = cookie})
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %d %d %.0f %.0f %f\n", summary.requests,
    e.connect + e.read + e.write + e.timeout, e.status, latency:percentile(50),
    latency:percentile(99), summary.duration / 1e6))
end
"""


def lua_list(items: list[str]) -> str:
    return "{" + ",".join(json.dumps(i) for i in items) + "}"


def make_visitors(base: str, n: int, products: list[str]) -> list[str]:
    cookies = []
    for i in range(n):
        with urllib.request.urlopen(f"{base}/cart", timeout=30) as r:
            cookie = r.headers["Set-Cookie"].split(";")[0]
        cookies.append(cookie)
        if i % 3 == 0:
            batch = [
                {
                    "id": f"nodes-{i:06d}-{k}",
                    "type": "view",
                    "product_id": products[(i * 7 + k) % len(products)],
                    "ts": int(time.time() * 1000),
                }
                for k in range(3)
            ]
            req = urllib.request.Request(
                f"{base}/events",
                data=json.dumps({"events": batch}).encode(),
                headers={"Content-Type": "application/json", "Cookie": cookie},
            )
            urllib.request.urlopen(req, timeout=30).read()
    return cookies


def wrk(base: str, script: Path, seconds: int, connections: int) -> dict:
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s"]
        + ["-s", str(script), base],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = next(ln for ln in out.splitlines() if ln.startswith("RESULT"))
    req, sock, status, p50, p99, dur = map(float, line.split()[1:])
    return {
        "requests": int(req),
        "rps": round(req / dur, 1),
        "socket_errors": int(sock),
        "non_2xx_3xx": int(status),
        "p50_ms": round(p50 / 1000, 1),
        "p99_ms": round(p99 / 1000, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", default="1,2,3")
    parser.add_argument("--workers", type=int, default=1, help="gunicorn workers per node")
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--visitors", type=int, default=300)
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")
    check_tools()
    counts = [int(n) for n in args.nodes.split(",")]
    work = Path(tempfile.mkdtemp(prefix="sf-nodes-bench-"))
    name = f"sf_nodes_bench_{os.getpid()}"
    url = create_database(name)
    cluster = start_cluster(work / "redis", REDIS_PORTS)
    results = []
    try:
        seed_home = work / "seed"
        env = node_env(seed_home, url, cluster.url)
        paths = write_store(work / "export", customers=300)
        orders, map_args, frame = grocery_orders(paths["orders"])
        run_cli(seed_home, "import", "orders", str(orders), *map_args, env=env)
        run_cli(seed_home, "train", env=env)
        products = sorted(set(frame["sku"]))
        rnd = random.Random(7)
        categories = []
        for n in counts:
            nodes = [
                Node(f"node{i}", free_port(), work / f"n{n}-node{i}", {}) for i in range(1, n + 1)
            ]
            for node in nodes:
                node.env = node_env(node.home, url, cluster.url)
                node.start(workers=args.workers)
            lb = Balancer(work / f"haproxy-{n}", free_port(), nodes)
            lb.start()
            try:
                if not categories:
                    with urllib.request.urlopen(lb.url + "/", timeout=30) as r:
                        html = r.read().decode()
                    categories = sorted(set(re_categories(html)))[:20]
                cookies = make_visitors(lb.url, args.visitors, products)
                paths_ = ["/", "/cart"] + [f"/p/{p}" for p in rnd.sample(products, 40)]
                paths_ += [f"/c/{c}" for c in categories]
                script = work / f"load-{n}.lua"
                script.write_text(
                    LUA.replace("{COOKIES}", lua_list(cookies)).replace("{PATHS}", lua_list(paths_))
                )
                wrk(lb.url, script, 3, args.connections)  # warm-up: models mapped, caches
                result = {"nodes": n, "workers_per_node": args.workers}
                result.update(wrk(lb.url, script, args.seconds, args.connections))
                results.append(result)
                print(json.dumps(result), flush=True)
            finally:
                lb.stop()
                for node in nodes:
                    node.stop()
    finally:
        cluster.stop()
        drop_database(name)
        shutil.rmtree(work, ignore_errors=True)
    if args.markdown:
        print(markdown(results, args))


def re_categories(html: str) -> list[str]:
    return re.findall(r'href="/c/([^"?#]+)"', html)


def markdown(results: list[dict], args) -> str:
    base = results[0]["rps"] if results else 0
    lines = [
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.node()}: "
        f"{os.cpu_count()} CPUs, {platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}.",
        "",
        f"    .venv/bin/python bench/nodes.py --nodes {args.nodes} --workers {args.workers} "
        f"--seconds {args.seconds} --connections {args.connections} --visitors {args.visitors}"
        " --markdown",
        "",
        "| nodes | requests/s | vs 1 node | p50 ms | p99 ms | errors | non-2xx/3xx |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in results:
        ratio = f"{r['rps'] / base:.2f}x" if base else "-"
        lines.append(
            f"| {r['nodes']} | {r['rps']} | {ratio} | {r['p50_ms']} | {r['p99_ms']} "
            f"| {r['socket_errors']} | {r['non_2xx_3xx']} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
