"""bench/throughput.py pooled(): a load measured in slices (--slices) reads as one load."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _throughput():
    spec = importlib.util.spec_from_file_location("bench_throughput", ROOT / "bench/throughput.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load(requests, seconds, cpu, hits, memos, p50, p99, errors=0):
    return {
        "requests": requests,
        "server_cpu_ms_per_request": round(sum(cpu) * 1000 / requests, 3),
        "redis_cpu_ms_per_request": round(cpu[1] * 1000 / requests, 3),
        "page_cache_hits": hits,
        "page_memo_hits": memos,
        "rps": round(requests / seconds, 1),
        "socket_errors": errors,
        "non_2xx_3xx": 0,
        "p50_ms": p50,
        "p99_ms": p99,
        "seconds": seconds,
        "_cpu": cpu,
    }


def test_slices_pool_into_one_load():
    pooled = _throughput().pooled
    a = load(1000, 2.0, (1.5, 0.1), 0.2, 0.6, 10.0, 40.0, errors=1)
    b = load(3000, 2.0, (2.5, 0.3), 0.1, 0.7, 20.0, 30.0)
    got = pooled([a, b])
    assert got["requests"] == 4000 and got["seconds"] == 4.0 and got["slices"] == 2
    assert got["rps"] == 1000.0  # 4,000 requests over 4 s, not the mean of 500 and 1,500
    assert got["server_cpu_ms_per_request"] == round(4.4 * 1000 / 4000, 3)
    assert got["redis_cpu_ms_per_request"] == 0.1
    assert got["page_cache_hits"] == 0.125 and got["page_memo_hits"] == 0.675  # by requests
    assert got["p50_ms"] == 17.5 and got["p99_ms"] == 40.0  # weighted p50, the worst p99
    assert got["socket_errors"] == 1
    assert "_cpu" not in got


def test_one_slice_is_the_load_as_measured():
    pooled = _throughput().pooled
    a = load(1000, 2.0, (1.5, 0.1), 0.2, 0.6, 10.0, 40.0)
    got = pooled([a])
    assert got == {k: v for k, v in a.items() if k != "_cpu"}
