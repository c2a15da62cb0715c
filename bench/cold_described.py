"""LightFM for products nobody has bought: placed from their features after the training
(cold.ColdModel.describe, what a version does for a product listed after it) against trained
with them in the catalog, on a store's home (docs/evaluation.md, "A catalog's unsold products,
and products listed after the training").

    storefront import orders data/online_retail_2010-2011.parquet     # into HOME
    .venv/bin/python bench/cold_described.py --home HOME [--dates 2011-11-01,2011-09-28]

For each date: LightFM fitted on the lines before it (cold.fit_cold, the shop's settings), and
for each customer who then bought a product nobody had bought before the date, NDCG@10 of the
ranking of all such products (as cold.validate scores them): once with those products in
LightFM's catalog ("listed at training"), once without, each then described from its features
("listed after, described"). LightFM trains with 2 threads: figures move by about 0.005.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from recommender import cold
from recommender.metrics import ndcg_at_k


def home_lines(home: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    from storefront import db
    from storefront.training_data import read_orders

    engine = db.make_engine(f"sqlite:///{home / 'storefront.db'}")
    return read_orders(engine)


def measure(lines: pd.DataFrame, products: pd.DataFrame, date: pd.Timestamp) -> dict:
    train, test = lines[lines["ts"] < date], lines[lines["ts"] >= date]
    bought = set(train["product_id"].astype(str))
    unsold = products[~products["id"].isin(bought)].reset_index(drop=True)
    known = train[train["customer_id"].notna()]
    history = known.groupby(known["customer_id"].astype(str))["product_id"]
    later = test[test["customer_id"].notna()]
    who = later["customer_id"].astype(str)
    truths = later.groupby(who)["product_id"].agg(lambda s: frozenset(s.astype(str)))
    countries = later.sort_values("ts").groupby(who)["country"].first()
    out: dict = {"date": f"{date:%Y-%m-%d}", "never_bought": len(unsold)}
    for mode in ("listed at training", "listed after, described"):
        started = time.perf_counter()
        at_training = mode == "listed at training"
        frame = products if at_training else products[products["id"].isin(bought)]
        model, ids, _ = cold.fit_cold(train, frame)
        index = {p: k for k, p in enumerate(ids)}
        if at_training:
            at = [index[p] for p in unsold["id"]]
            vectors, bias, cold_ids = model.item_vectors[at], model.item_bias[at], unsold["id"]
        else:
            rows, vectors, bias = model.describe(unsold)
            cold_ids = unsold["id"].iloc[rows]
            out["described"] = len(rows)
        cold_ids = cold_ids.to_numpy(dtype=str)
        owned = {c: [index[p] for p in set(s.astype(str)) if p in index] for c, s in history}
        scores = []
        for customer, truth in truths.items():
            wanted = truth - bought
            vector = model.taste(
                owned.get(customer, []), cold.context_tokens(countries.get(customer))
            )
            if not wanted or vector is None:
                continue
            top = np.argsort(-(vectors @ vector + bias), kind="stable")[:10]
            scores.append(ndcg_at_k(list(cold_ids[top]), wanted))
        out[mode] = {
            "ndcg@10": round(float(np.mean(scores)), 4) if scores else None,
            "customers": len(scores),
            "seconds": round(time.perf_counter() - started, 1),
        }
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--home", type=Path, required=True, help="a store's home (its SQLite)")
    ap.add_argument("--dates", default="2011-11-01,2011-09-28")
    args = ap.parse_args()
    lines, products = home_lines(args.home)
    lines["ts"] = pd.to_datetime(lines["ts"])
    products = products.drop_duplicates("id").assign(id=lambda f: f["id"].astype(str))
    for date in args.dates.split(","):
        print(measure(lines, products, pd.Timestamp(date.strip())), flush=True)


if __name__ == "__main__":
    main()
