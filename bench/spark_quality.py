"""Spark ALS against implicit's ALS on the project's evaluation (recommender/evaluate.py: the
temporal split, its groups and metrics), on a store's home (the bundled data imported there).

    storefront import orders data/online_retail_2010-2011.parquet     # into HOME
    .venv/bin/python bench/spark_quality.py --home HOME [--master local[2]] [--json OUT]

Both see only the lines before the split date. implicit runs with the shop's parameters (what
`storefront train` uses); Spark's rank, regParam and alpha are chosen as `storefront train
--engine spark` chooses them (spark_als.SparkALS.choose: a validation split inside the training
window), so the test period stays unseen by both. Prints NDCG@10 per group and protocol, and
Spark's ratio to implicit (docs/scaling.md, "Training on Spark").
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import pandas as pd

from recommender.evaluate import model_lists, score_groups
from recommender.lineup import ShopParams, make_model
from recommender.spark_als import LOCAL, SparkALS, SparkALSRecommender, SparkParams
from recommender.split import make_split


def home_lines(home: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    from storefront import db
    from storefront.training_data import read_orders

    engine = db.make_engine(f"sqlite:///{home / 'storefront.db'}")
    return read_orders(engine)


def score(model, split) -> dict:
    out = {}
    for protocol, new_only in (("all_purchases", False), ("new_only", True)):
        groups = score_groups(split, model_lists(model, split, new_only), new_only)
        out[protocol] = {g: round(m["ndcg@10"], 4) for g, m in groups.items() if "ndcg@10" in m}
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--master", default=LOCAL)
    ap.add_argument("--home", type=Path, required=True, help="a store's home (its SQLite)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    lines, products = home_lines(args.home)
    lines["ts"] = pd.to_datetime(lines["ts"])
    split = make_split(lines, products[["id", "title", "category"]], None)
    shop = ShopParams()
    print(f"split {split.date:%Y-%m-%d}: {split.data.matrix.shape} nnz {split.data.matrix.nnz:,}")
    result: dict = {"split_date": f"{split.date:%Y-%m-%d}", "shape": list(split.data.matrix.shape)}
    t = time.perf_counter()
    als = make_model("als", shop).fit(split.data.matrix, split.side)
    result["implicit"] = {"seconds": round(time.perf_counter() - t, 1), **score(als, split)}
    print("implicit", result["implicit"], flush=True)
    start = SparkParams(max_iter=shop.als.iterations, seed=shop.als.random_state)
    with SparkALS(args.master, start, progress=print) as spark:
        t = time.perf_counter()
        choice = spark.choose(split.train_lines, products)
        chose = time.perf_counter() - t
        t = time.perf_counter()
        model = SparkALSRecommender(spark, None).fit(split.data.matrix, split.side)
        result["spark"] = {
            "params": choice.params.as_dict(),
            "tried": choice.tried,
            "choose_seconds": round(chose, 1),
            "seconds": round(time.perf_counter() - t, 1),
            **score(model, split),
        }
    print("spark", result["spark"], flush=True)
    result["ratio"] = {
        p: {
            g: round(result["spark"][p][g] / result["implicit"][p][g], 3)
            for g in result["implicit"][p]
            if result["implicit"][p][g]
        }
        for p in ("all_purchases", "new_only")
    }
    print("spark / implicit", json.dumps(result["ratio"]))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
