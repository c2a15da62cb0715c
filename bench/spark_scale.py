"""From what size of log Spark pays: one ALS fit's wall time with implicit (this process),
Spark in local mode and Spark on a standalone cluster (one master, two workers on 127.0.0.1,
started here), on growing synthetic logs.

    .venv/bin/python bench/spark_scale.py [--sizes 20000,200000,1000000] [--json OUT]
        [--no-standalone] [--iterations 15] [--rank 64]

A log of n interactions: n / 25 customers, n / 50 products (at least 200), each customer's
count from a geometric law and products by a Zipf-like popularity (a + 1)^-1.1, confidences
as dataset.confidence gives them. Each engine fits the same matrix with the same rank and
iterations (ALS only: what training does around it is the same for both engines). Spark's
start (the JVM and session, once per run) is reported apart from the fits. Honest about the
machine: it prints the CPU count and the load average at the start and the end.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from recommender.dataset import confidence  # noqa: E402
from recommender.models import ALSParams, fit_als  # noqa: E402
from recommender.spark_als import SparkALS, SparkParams  # noqa: E402


def synthetic(n: int, seed: int = 0) -> sp.csr_matrix:
    rng = np.random.default_rng(seed)
    users, items = max(n // 25, 50), max(n // 50, 200)
    pop = (np.arange(items) + 1.0) ** -1.1
    pop /= pop.sum()
    rows = rng.integers(0, users, size=n)
    cols = rng.choice(items, size=n, p=pop)
    counts = sp.csr_matrix((np.ones(n, dtype=np.float32), (rows, cols)), shape=(users, items))
    counts.sum_duplicates()
    counts.data = confidence(counts.data)
    return counts


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="20000,200000,1000000")
    ap.add_argument("--iterations", type=int, default=15)
    ap.add_argument("--rank", type=int, default=64)
    ap.add_argument("--no-standalone", action="store_true")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    out: dict = {
        "cpus": os.cpu_count(),
        "load_start": os.getloadavg(),
        "rank": args.rank,
        "iterations": args.iterations,
        "runs": [],
    }
    mats = {n: synthetic(n) for n in sizes}
    fit_als(synthetic(1000), ALSParams(factors=8, iterations=1))  # implicit's import, not timed
    for n, m in mats.items():
        t = time.perf_counter()
        fit_als(m, ALSParams(factors=args.rank, iterations=args.iterations))
        row = {"size": n, "shape": list(m.shape), "nnz": int(m.nnz)}
        row["implicit"] = round(time.perf_counter() - t, 2)
        out["runs"].append(row)
        print(row, flush=True)
    params = SparkParams(rank=args.rank, max_iter=args.iterations)
    modes = [("spark_local", "local[2]")]
    if not args.no_standalone:
        modes.append(("spark_standalone", None))
    for name, master in modes:
        if master is None:
            from tests.spark_cluster import standalone

            ctx = standalone(Path(tempfile.mkdtemp(prefix="spark-scale-")), workers=2)
            cluster = ctx.__enter__()
            master = cluster["url"]
            os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
        else:
            ctx = None
        try:
            t = time.perf_counter()
            spark = SparkALS(master, params, app_name=f"spark-scale-{name}")
            spark.session()
            out[f"{name}_start"] = round(time.perf_counter() - t, 2)
            for row in out["runs"]:
                t = time.perf_counter()
                spark.fit(mats[row["size"]], params)
                row[name] = round(time.perf_counter() - t, 2)
                print(name, row, flush=True)
            spark.close()
        finally:
            if ctx is not None:
                ctx.__exit__(None, None, None)
    out["load_end"] = os.getloadavg()
    if args.json:  # the figures docs/scaling.md quotes
        args.json.write_text(json.dumps(out, indent=2))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
