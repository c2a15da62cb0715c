"""Scale: a generated shop of 1M products and 1M visitors with a Zipf interaction log.

What it measures, each in one run and printed as a Markdown report:

1. Training: implicit's ALS (CPU) on the users x items confidence matrix, wall time; then the
   pipeline's steps that grow with the catalog: item neighbours (HNSW at this size, with the
   recall it costs) and item-kNN.
2. Scoring "for you" at this size, the way recommender/serving.py does it (the user's vector
   against every item factor, then the top k of what they do not own): p50/p99 per request,
   brute force, against an approximate nearest-neighbour index (faiss HNSW on inner product),
   with the index's build time and its recall@10 measured against the brute-force answer.
3. Memory per worker: N processes memory-map the same saved factor arrays (as shop workers
   do) and each answers queries; PSS (shared pages split between the processes sharing them)
   per process and what each further worker adds.
4. The in-memory catalog of 1M products (storefront.catalog.Catalog, columnar): build time,
   memory, lookup and search times, and the private memory of two workers forked from it.

What it does not do yet: serve whole pages from a 1M-product shop (no generator writes the
shop's database, and the serving model's id dictionaries and per-request blend over every
product still need the changes listed in docs/benchmarks.md).

    .venv/bin/python bench/scale.py [--items 1000000] [--users 1000000] [--interactions 10000000]

Training runs in this process, which then only starts helper processes with fork+exec
(subprocess), never a bare fork: implicit's OpenMP threads do not survive a fork.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

MB = 1024 * 1024
K = 10


def draws(
    users: int,
    items: int,
    interactions: int,
    seed: int = 7,
    groups: int = 1000,
    taste: float = 0.7,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(user, item) purchase draws, sorted by user, and each item's group.

    Zipf item popularity (exponent 1.05 over popularity ranks, ranks shuffled over ids),
    lognormal activity per user. Tastes: items fall into `groups` (like categories), each user
    has one favourite group, and a share `taste` of their draws come from it (still Zipf within
    the group). Without this, who buys what is independent of who they are, item factors are
    noise and "similar items" has no true answer to approximate."""
    rng = np.random.default_rng(seed)
    weight = 1.0 / np.arange(1, items + 1) ** 1.05
    weight = weight[rng.permutation(items)]
    weight /= weight.sum()
    activity = rng.lognormal(mean=0.0, sigma=1.2, size=users)
    per_user = np.maximum(1, np.round(activity / activity.sum() * interactions)).astype(np.int64)
    rows = np.repeat(np.arange(users, dtype=np.int32), per_user)
    cols = rng.choice(items, size=len(rows), p=weight).astype(np.int32)
    # the favourite-group draws: Zipf within the group, by inverse transform on its weights
    group = rng.integers(0, groups, size=items)
    order = np.argsort(group, kind="stable")
    cum = np.cumsum(weight[order])
    bounds = np.searchsorted(group[order], np.arange(groups + 1))
    low = np.where(bounds[:-1] > 0, cum[np.maximum(bounds[:-1] - 1, 0)], 0.0)
    high = cum[np.maximum(bounds[1:] - 1, 0)]
    favourite = rng.integers(0, groups, size=users)
    picked = rng.random(len(rows)) < taste
    g = favourite[rows[picked]]
    point = low[g] + rng.random(len(g)) * (high[g] - low[g])
    cols[picked] = order[np.minimum(np.searchsorted(cum, point), items - 1)]
    return rows, cols, group


def generate(users: int, items: int, interactions: int, seed: int = 7) -> sp.csr_matrix:
    """The draws as a confidence matrix: repeated (user, item) pairs add up like repeat
    orders, in the shop's confidence shape (recommender/dataset.py)."""
    rows, cols, _ = draws(users, items, interactions, seed)
    data = np.ones(len(rows), dtype=np.float32)
    m = sp.csr_matrix((data, (rows, cols)), shape=(users, items))
    m.sum_duplicates()
    m.data = 1.0 + 10.0 * np.log1p(m.data)
    return m


def train(
    matrix: sp.csr_matrix, factors: int, iterations: int
) -> tuple[np.ndarray, np.ndarray, float]:
    from implicit.cpu.als import AlternatingLeastSquares

    model = AlternatingLeastSquares(
        factors=factors, iterations=iterations, regularization=0.05, random_state=7
    )
    t = time.perf_counter()
    model.fit(matrix, show_progress=False)
    return model.user_factors, model.item_factors, time.perf_counter() - t


def pipeline_steps(matrix: sp.csr_matrix, item_factors: np.ndarray) -> dict:
    """The training pipeline's steps after ALS that grow with the catalog, as `storefront
    train` runs them: cosine neighbours of the item factors (recommender/neighbours.py: HNSW
    above 100,000 items when faiss is installed, with its recall measured on a sample) and
    item-kNN over co-purchases (recommender/knn.py)."""
    from recommender.knn import KNNParams, fit_similarity, neighbour_arrays
    from recommender.neighbours import neighbours_with_report
    from recommender.train import NEIGHBOURS

    _, _, report = neighbours_with_report(item_factors, NEIGHBOURS)
    knn = KNNParams()
    t = time.perf_counter()
    similarity = fit_similarity(matrix, knn)
    fit_s = time.perf_counter() - t
    t = time.perf_counter()
    neighbour_arrays(similarity, knn.neighbours)
    return {
        "item_neighbours": report.as_dict(),
        "item_knn_fit_s": round(fit_s, 1),
        "item_knn_arrays_s": round(time.perf_counter() - t, 1),
    }


def top_k(scores: np.ndarray, owned: np.ndarray, k: int) -> np.ndarray:
    scores[owned] = -np.inf
    part = np.argpartition(-scores, k)[:k]
    return part[np.argsort(-scores[part])]


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def brute_force(uf, itf, matrix, sample) -> tuple[list[float], dict[int, np.ndarray]]:
    times, answers = [], {}
    for u in sample:
        t = time.perf_counter()
        scores = itf @ uf[u]
        owned = matrix.indices[matrix.indptr[u] : matrix.indptr[u + 1]]
        answers[u] = top_k(scores, owned, K)
        times.append((time.perf_counter() - t) * 1000)
    return times, answers


def ann(uf, itf, matrix, sample, truth, ef: int) -> dict:
    import faiss

    faiss.omp_set_num_threads(1)  # one request, one thread: as a worker serves it
    t = time.perf_counter()
    index = faiss.IndexHNSWFlat(itf.shape[1], 32, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = 80
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    index.add(np.ascontiguousarray(itf, dtype=np.float32))
    faiss.omp_set_num_threads(1)
    build_s = time.perf_counter() - t
    out = {"build_s": round(build_s, 1), "by_ef": []}
    for e in (ef // 2, ef, ef * 2):
        index.hnsw.efSearch = e
        times, hits = [], 0
        for u in sample:
            owned = matrix.indices[matrix.indptr[u] : matrix.indptr[u + 1]]
            t = time.perf_counter()
            _, found = index.search(uf[u : u + 1].astype(np.float32), K + len(owned))
            owned_set = set(owned.tolist())
            got = [i for i in found[0].tolist() if i >= 0 and i not in owned_set][:K]
            times.append((time.perf_counter() - t) * 1000)
            hits += len(set(got) & set(truth[u].tolist()))
        out["by_ef"].append(
            {
                "ef_search": e,
                "p50_ms": round(pct(times, 50), 3),
                "p99_ms": round(pct(times, 99), 3),
                "recall_at_10": round(hits / (K * len(sample)), 4),
            }
        )
    return out


WORKER = r"""
import sys, time, numpy as np, psutil
path, n = sys.argv[1], int(sys.argv[2])
itf = np.load(path + "/item_factors.npy", mmap_mode="r")
uf = np.load(path + "/user_factors.npy", mmap_mode="r")
rng = np.random.default_rng()
for u in rng.integers(0, uf.shape[0], size=n):  # score against every item: every page touched
    s = itf @ uf[u]
    np.argpartition(-s, 10)[:10]
print("ready", flush=True)
sys.stdin.readline()
"""


def worker_memory(path: Path, counts: list[int], queries: int) -> list[dict]:
    import psutil

    out = []
    for n in counts:
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", WORKER, str(path), str(queries)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in range(n)
        ]
        try:
            for p in procs:
                assert p.stdout.readline().strip() == "ready"
            mem = [psutil.Process(p.pid).memory_full_info() for p in procs]
            out.append(
                {
                    "workers": n,
                    "pss_mb": [round(m.pss / MB, 1) for m in mem],
                    "uss_mb": [round(m.uss / MB, 1) for m in mem],
                    "total_pss_mb": round(sum(m.pss for m in mem) / MB, 1),
                }
            )
        finally:
            for p in procs:
                p.stdin.close()
                p.wait(timeout=30)
    return out


CATALOG = r"""
import ctypes, gc, json, os, random, sys, time
import psutil
sys.path.insert(0, sys.argv[2])
from datetime import datetime, timedelta
from storefront.catalog import Catalog, CategoryInfo
from storefront.categories import CATEGORIES
n = int(sys.argv[1])
words = ["HEART", "CANDLE", "LUNCH", "BAG", "VINTAGE", "RED", "WHITE", "SET", "OF", "TEA",
         "CHRISTMAS", "GLASS", "WOODEN", "STAR", "PINK", "BLUE", "METAL", "SIGN", "BOX", "MUG"]
me = psutil.Process()
rng = random.Random(7)
before = me.memory_info().rss
t = time.perf_counter()
start = datetime(2010, 12, 1)
ids = [f"P{i:07d}" for i in range(n)]
catalog = Catalog.from_columns(
    ids,
    [" ".join(rng.choice(words) for _ in range(4)) + f" {i}" for i in range(n)],
    [CATEGORIES[i % len(CATEGORIES)].slug for i in range(n)],
    [round(rng.uniform(0.5, 20), 2) for _ in range(n)],
    [start + timedelta(days=i % 365) for i in range(n)],
    [rng.randint(0, 5000) for _ in range(n)],
    [CategoryInfo(c.slug, c.name, n // len(CATEGORIES)) for c in CATEGORIES],
)
seconds = time.perf_counter() - t
gc.collect()
ctypes.CDLL("libc.so.6").malloc_trim(0)  # give back what the input lists used
held = (me.memory_info().rss - before) / 2**20


def work():
    # what pages ask of the catalog: products by id, a category page, searches
    r = random.Random(os.getpid())
    t = time.perf_counter()
    for _ in range(2000):
        catalog.get(ids[r.randrange(n)])
    get_us = (time.perf_counter() - t) / 2000 * 1e6
    slug = CATEGORIES[0].slug
    page = catalog.by_category[slug][24:48]
    t = time.perf_counter()
    for q in ("heart", "red candle", "vintage glass sta", "christmas box 12"):
        catalog.search(q)
    search_ms = (time.perf_counter() - t) / 4 * 1000
    return get_us, search_ms, len(page)


gc.freeze()  # as storefront serve does before forking workers
children = []
for _ in range(2):
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        get_us, search_ms, _ = work()
        uss = psutil.Process().memory_full_info().uss / 2**20
        os.write(write, json.dumps([get_us, search_ms, uss]).encode())
        os._exit(0)
    os.close(write)
    children.append((pid, read))
results = []
for pid, read in children:
    results.append(json.loads(os.read(read, 4096)))
    os.waitpid(pid, 0)
print(json.dumps({"build_s": seconds, "rss_mb": held, "workers": results}))
"""


def catalog_cost(n: int) -> dict:
    """Build a catalog of n products in a fresh process; fork two workers from it (as gunicorn
    does after preload) that look products up and search, and report what each holds privately
    (USS): the catalog's arrays stay shared."""
    out = json.loads(
        subprocess.run(
            [sys.executable, "-c", CATALOG, str(n), str(ROOT)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    return {
        "products": n,
        "build_s": round(out["build_s"], 1),
        "rss_mb": round(out["rss_mb"]),
        "get_us": [round(w[0], 1) for w in out["workers"]],
        "search_ms": [round(w[1], 2) for w in out["workers"]],
        "worker_private_mb": [round(w[2], 1) for w in out["workers"]],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--items", type=int, default=1_000_000)
    ap.add_argument("--users", type=int, default=1_000_000)
    ap.add_argument("--interactions", type=int, default=10_000_000)
    ap.add_argument("--factors", type=int, default=64)
    ap.add_argument("--iterations", type=int, default=10)
    ap.add_argument("--queries", type=int, default=500)
    ap.add_argument("--ef", type=int, default=64)
    ap.add_argument("--workers", default="1,2,4")
    ap.add_argument("--catalog-only", action="store_true", help="only part 4, the catalog")
    ap.add_argument(
        "--training-only", action="store_true", help="only part 1: training and its neighbours"
    )
    args = ap.parse_args()
    if args.catalog_only:
        print(json.dumps({"catalog": catalog_cost(args.items)}, indent=1))
        return
    report: dict = {
        "date": datetime.now(UTC).isoformat(timespec="minutes"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "command": " ".join([os.path.relpath(sys.executable), *sys.argv]),
    }
    t = time.perf_counter()
    matrix = generate(args.users, args.items, args.interactions)
    report["data"] = {
        "users": args.users,
        "items": args.items,
        "nonzeros": int(matrix.nnz),
        "generate_s": round(time.perf_counter() - t, 1),
        "top_1pct_items_share": round(
            float(
                np.sort(np.asarray(matrix.astype(bool).sum(axis=0)).ravel())[::-1][
                    : args.items // 100
                ].sum()
                / matrix.nnz
            ),
            3,
        ),
    }
    print(json.dumps(report["data"]), file=sys.stderr, flush=True)
    uf, itf, seconds = train(matrix, args.factors, args.iterations)
    report["train"] = {
        "factors": args.factors,
        "iterations": args.iterations,
        "seconds": round(seconds, 1),
    }
    print(json.dumps(report["train"]), file=sys.stderr, flush=True)
    report["training_pipeline"] = pipeline_steps(matrix, itf)
    print(json.dumps(report["training_pipeline"]), file=sys.stderr, flush=True)
    if args.training_only:
        print(json.dumps(report, indent=1))
        return
    rng = np.random.default_rng(11)
    active = np.flatnonzero(np.diff(matrix.indptr) > 0)
    sample = rng.choice(active, size=min(args.queries, len(active)), replace=False)
    times, truth = brute_force(uf, itf, matrix, sample)
    report["brute_force"] = {"p50_ms": round(pct(times, 50), 3), "p99_ms": round(pct(times, 99), 3)}
    try:
        report["ann"] = ann(uf, itf, matrix, sample, truth, args.ef)
    except ImportError:
        report["ann"] = "faiss is not installed: pip install faiss-cpu"
    with tempfile.TemporaryDirectory(prefix="sf-scale-") as tmp:
        np.save(Path(tmp) / "item_factors.npy", itf)
        np.save(Path(tmp) / "user_factors.npy", uf)
        report["factor_files_mb"] = round((itf.nbytes + uf.nbytes) / MB)
        report["workers"] = worker_memory(Path(tmp), [int(w) for w in args.workers.split(",")], 50)
    report["catalog"] = catalog_cost(args.items)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
