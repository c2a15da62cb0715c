"""The training pipeline: order lines (+ events) -> matrix -> ALS, item-kNN -> neighbours and
popularity -> a version, with its parameters, data window, metrics and library versions.

Always run as its own process (`storefront train`), never inside a server that forks afterwards:
implicit's OpenMP thread pool does not survive fork.
"""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata as importlib_metadata
from pathlib import Path

import numpy as np
import pandas as pd

from recommender import imported, popularity, registry, segments, taste_index
from recommender.blend import BlendParams
from recommender.dataset import build_interactions
from recommender.ease import BLEND_MAX_ITEMS, DEFAULT_L2, ease_neighbours
from recommender.fit import Fitted, fit_store
from recommender.knn import KNNParams, fit_similarity, neighbour_arrays
from recommender.models import ALSParams, FittedFactors, fit_als
from recommender.neighbours import neighbours_with_report
from recommender.price_bands import PriceBands
from recommender.repurchase import product_intervals, repeat_shares
from recommender.serving import CANDIDATES_ABOVE

NEIGHBOURS = 50
TRENDING_HALF_LIFE_DAYS = popularity.COUNTRY_HALF_LIFE_DAYS
TRENDING_BLEND_DAYS = 30  # the blend's "trending" feature: buyers in the data's last 30 days


@dataclass(frozen=True)
class TrainReport:
    version: str
    users: int
    items: int
    interactions: int
    seconds: float
    published: bool


def _lib_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for lib in ("implicit", "rectools-lightfm", "numpy", "scipy", "pandas"):
        try:
            out[lib] = importlib_metadata.version(lib)
        except importlib_metadata.PackageNotFoundError:  # pragma: no cover
            out[lib] = "unknown"
    return out


def _save(path: Path, name: str, array: np.ndarray) -> None:
    np.save(path / f"{name}.npy", np.ascontiguousarray(array), allow_pickle=False)


def train(
    lines: pd.DataFrame,
    catalog_ids: np.ndarray,
    models_dir: Path,
    params: ALSParams | None = None,
    trending_days: int = 30,
    publish: bool = True,
    progress: Callable[[str], None] | None = None,
    *,
    knn: KNNParams | None = None,
    blend: BlendParams | None = None,
    extra: pd.DataFrame | None = None,
    metrics: dict | None = None,
    source: str = "orders",
    products: pd.DataFrame | None = None,
    catalog: pd.DataFrame | None = None,
    fit: bool = True,
    factorize: Callable[..., FittedFactors] = fit_als,
    engine: dict | None = None,
) -> TrainReport:
    """Train on order lines (invoice, product_id, customer_id, ts, country) and write a version.

    `catalog_ids` fixes the item space to the whole catalog. The data's own last timestamp is
    "now" for recency, so the same file always yields the same lists. `extra`: interactions from
    the event log (event_log.interactions), added to the orders as order-equivalents. `metrics`
    (e.g. from a temporal evaluation of these parameters) are recorded in meta.json. `products`
    (id, category) adds the customers' micro-segments (segments.py). Before the model itself,
    fit.fit_store learns this store's blend weights, first-visit list and shares on a validation
    split inside these lines; they are stored in meta.json ("fitted", and the blend's weights).
    `catalog` (id, title, category) gives the fit categories where `products` is not passed;
    fit=False keeps `blend` as given (tests of the serving code). `factorize` fits ALS (the
    validation fit and the final one): implicit's models.fit_als, or spark_als.SparkALS with
    `params` its fold-in equivalents; `engine` (which, and its own parameters) goes to meta.json.
    """
    say = progress or (lambda _msg: None)
    params = params or ALSParams()
    knn = knn or KNNParams()
    blend = blend or BlendParams()
    started = time.perf_counter()
    if lines.empty and (extra is None or extra.empty):
        raise ValueError("no order lines or interactions to train on: import some first")
    lines = lines.copy()
    lines["ts"] = pd.to_datetime(lines["ts"])
    # the data's end: the last order, or the last imported/logged interaction if later (a shop
    # without order history trains on interactions alone)
    ends = [lines["ts"].max()]
    if extra is not None and not extra.empty:
        ends.append(pd.to_datetime(extra["ts"]).max())
    end = max(t for t in ends if pd.notna(t))

    fitted = Fitted()
    if fit:
        fitted = fit_store(
            lines,
            products if products is not None else catalog,
            params,
            knn,
            blend,
            trending_days,
            say,
            factorize=factorize,
        )
        blend = BlendParams(
            **{**blend.as_dict(), "weights": fitted.weights, "new_weights": fitted.new_weights}
        )
        for note in fitted.notes:
            say(f"note: {note}")
        say(
            f"serving {fitted.serve} (new products only: {fitted.serve_new}); first-time "
            f"visitors get the {fitted.first_visit} list"
        )
    events = 0 if extra is None else len(extra)
    say(f"building the interaction matrix from {len(lines):,} order lines, {events:,} event pairs")
    data = build_interactions(
        lines, item_ids=np.asarray(sorted(catalog_ids), dtype=str), extra=extra, end=end
    )
    say(
        f"{len(data.user_ids):,} customers x {len(data.item_ids):,} products, "
        f"{data.matrix.nnz:,} interactions"
    )
    factors = factorize(data.matrix, params, progress=say)
    say("computing item neighbours")
    nb_ids, nb_scores, nb_report = neighbours_with_report(factors.item_factors, NEIGHBOURS)
    if nb_report.method != "exact":
        say(f"item neighbours by {nb_report.method}: recall@{nb_report.k} {nb_report.recall_at_k}")
    taste = None
    if len(data.item_ids) > CANDIDATES_ABOVE:  # serving's ALS candidates come from an index
        taste = taste_index.TasteIndex.build(factors.item_factors)
    knn_ids, knn_scores = neighbour_arrays(fit_similarity(data.matrix, knn, say), knn.neighbours)
    ease = None
    if len(data.item_ids) <= BLEND_MAX_ITEMS:  # the blend's EASE features (ease.py)
        say(f"EASE over {len(data.item_ids):,} products")
        ease = ease_neighbours(data.matrix, knn.neighbours, fitted.ease_l2 or DEFAULT_L2)
    say("computing popularity, trending by country and seasonal lists")
    # a shop without orders yet: its interactions stand in for them in the popularity lists
    popular = imported.as_lines(extra) if lines.empty and extra is not None else lines
    lists = {
        "overall": popularity.overall(popular),
        "recent": popularity.recent(popular, end, trending_days),
        "recent_customers": popularity.recent(popular, end, trending_days, customers_only=True),
        "by_country": popularity.by_country(popular, end, TRENDING_HALF_LIFE_DAYS),
        "by_month": popularity.by_month(popular),
    }
    say("learning each customer's repeat share for the blend")
    repeat, customer_orders, _ = repeat_shares(lines, data.user_ids)
    buyers, trending = popularity.item_counts(popular, data.item_ids, end, TRENDING_BLEND_DAYS)

    version = registry.new_version()
    models_dir.mkdir(parents=True, exist_ok=True)
    tmp = models_dir / f".tmp-{version}"
    tmp.mkdir()
    _save(tmp, "user_ids", data.user_ids)
    _save(tmp, "item_ids", data.item_ids)
    _save(tmp, "user_factors", factors.user_factors)
    _save(tmp, "item_factors", factors.item_factors)
    _save(tmp, "yty", factors.item_factors.T @ factors.item_factors)
    _save(tmp, "ui_indptr", data.matrix.indptr.astype(np.int64))
    _save(tmp, "ui_indices", data.matrix.indices.astype(np.int32))
    _save(tmp, "ui_data", data.matrix.data.astype(np.float32))
    _save(tmp, "neighbour_ids", nb_ids)
    _save(tmp, "neighbour_scores", nb_scores)
    _save(tmp, "knn_ids", knn_ids)
    _save(tmp, "knn_scores", knn_scores)
    if ease is not None:
        _save(tmp, "ease_ids", ease[0])
        _save(tmp, "ease_scores", ease[1])
    _save(tmp, "ui_age", np.asarray(data.age_days, dtype=np.float32))
    if data.span_days is not None:  # for "buy again": how often each customer re-orders
        _save(tmp, "ui_span", np.asarray(data.span_days, dtype=np.float32))
        _save(tmp, "ui_orders", np.asarray(data.orders, dtype=np.float32))
        # "due again" after a purchase: each product's re-order interval in this store
        intervals, rebuyers, item_buyers = product_intervals(
            data.matrix.indptr, data.matrix.indices, data.orders, data.span_days, len(data.item_ids)
        )
        _save(tmp, "item_interval", intervals)
        _save(tmp, "item_rebuyers", rebuyers)
        _save(tmp, "item_customers", item_buyers)
    # the learned blend (blend.py): per customer and per item, memory-mapped like the rest
    _save(tmp, "user_repeat", repeat)
    _save(tmp, "user_orders", customer_orders)
    _save(tmp, "item_buyers", buyers)
    _save(tmp, "item_trending", trending)
    if taste is not None:
        taste.save(tmp)
    served = [p for p, v in fitted.lightfm.items() if isinstance(v, dict) and v.get("serve")]
    if served and fitted.cold_model is not None:  # LightFM won on validation: that model
        model, ids = fitted.cold_model
        model.reindex(ids, data.item_ids).save(tmp)
        say(f"LightFM for {' and '.join(served)} stored with the version")
    (tmp / "popularity.json").write_text(json.dumps(lists))
    # the store's price bands, from its own prices (segments describe customers by them)
    priced = len(lines) and "price" in lines
    bands = PriceBands.fit(lines.groupby("product_id")["price"].median()) if priced else None
    if products is not None:  # micro-segments need categories (and quantities, prices)
        say("finding customer segments")
        segs, member = segments.build(lines, products, bands=bands)
        segments.save(tmp, segs, member, data.user_ids)
    seconds = time.perf_counter() - started
    meta = {
        "version": version,
        "algorithm": "als",
        "engine": engine or {"name": "implicit"},
        "params": params.as_dict(),
        "knn": knn.as_dict(),
        "blend": blend.as_dict(),
        "fitted": fitted.as_dict(),
        "price_bands": (bands or PriceBands()).as_dict(),
        "neighbours": nb_report.as_dict(),
        "source": source,
        "window": {"start": str(lines["ts"].min()), "end": str(end)},
        "trending_days": trending_days,
        "counts": {
            "order_lines": int(len(lines)),
            "users": int(len(data.user_ids)),
            "items": int(len(data.item_ids)),
            "interactions": int(data.matrix.nnz),
            "event_pairs": int(events),
        },
        "metrics": metrics or {},
        "train_seconds": round(seconds, 3),
        "libraries": _lib_versions(),
    }
    (tmp / registry.META).write_text(json.dumps(meta, indent=2))
    os.replace(tmp, models_dir / version)
    if publish:
        registry.publish(models_dir, version)
    say(f"model {version} written in {seconds:.1f}s" + (" and published" if publish else ""))
    return TrainReport(
        version, len(data.user_ids), len(data.item_ids), int(data.matrix.nnz), seconds, publish
    )
