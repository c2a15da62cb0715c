"""`storefront evaluate`: every model, and the rail the shop serves, on a temporal split.

Protocol (docs/evaluation.md): split.py trains on the lines before the split date only; the
test truth is everything each customer bought from the split on. Groups:

- returning: customers with orders before the split; each model scores from their history.
- new: customers whose first order is after the split, on their first visit: the model knows
  their country (from the order, as geo would tell the shop) and nothing else, so they get what
  each model does for strangers (popularity, LightFM's user features, or the model's fallback).
- new_session: new customers with a second order: their first order is folded in as the
  session, and the truth is what they bought in later orders.
- all: returning + new (every customer who bought after the split).

Two protocols. "All purchases" (`groups`): past purchases are not filtered out, since these
shops re-order and the rail does not hide them. "New products only" (`new_only`): what a customer
already owned (bought before the split, or in the first order folded in for new_session) is
excluded from both the ranking and the truth, so a model scores only on discovery.
Run in its own process (the CLI): models train here, and implicit's OpenMP must not be forked.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import pandas as pd

from recommender.base import Recommender
from recommender.ease import TooLarge
from recommender.lineup import MODEL_NAMES, ShopParams, make_model
from recommender.metrics import summarise
from recommender.progress import bar
from recommender.split import Group, Split, make_split

__all__ = ["MODEL_NAMES", "ShopParams", "make_model", "run"]

GROUPS = ("all", "returning", "new", "new_session")
# The served "for you" rail's targets (issue #15): on every store, at least popularity and the
# best bare model in each group of at least MIN_GROUP customers, under both protocols; on the
# bundled data, returning customers, BUY_AGAIN_TARGET x buy again (all purchases) and
# EASE_TARGET x EASE (new products only). Ratios are reported for any store.
MIN_GROUP = 50
BUY_AGAIN_TARGET = 1.10
EASE_TARGET = 1.0


Lists = dict[str, tuple[np.ndarray, np.ndarray]]  # group -> (top-10 lists, top-20 lists)


def new_truths(group: Group) -> list[frozenset[int]]:
    """The truth of the "new products only" protocol: what each customer bought that they did
    not own already (their row of user_items: training history, or a folded-in first order)."""
    m = group.user_items
    return [
        frozenset(truth - set(m.indices[m.indptr[k] : m.indptr[k + 1]].tolist()))
        for k, truth in enumerate(group.truths)
    ]


def score_groups(split: Split, lists: Lists, new_only: bool = False) -> dict[str, dict]:
    """Metrics per group from each group's ranked item-index lists, plus "all". new_only:
    against the "new products only" truth (the lists must already leave owned products out)."""
    truth = {name: new_truths(g) if new_only else g.truths for name, g in split.groups.items()}
    out: dict[str, dict] = {}
    for name, (l10, l20) in lists.items():
        out[name] = summarise(l10, l20, truth[name], split.n_items, split.information)
    parts = [g for g in ("returning", "new") if g in lists]
    l10 = [row for g in parts for row in lists[g][0]]
    l20 = [row for g in parts for row in lists[g][1]]
    truths = [t for g in parts for t in truth[g]]
    out["all"] = summarise(l10, l20, truths, split.n_items, split.information)
    return {g: out[g] for g in GROUPS if g in out}


def model_lists(model: Recommender, split: Split, new_only: bool = False) -> Lists:
    """Each group's top 20 from a fitted model; new_only leaves out what each customer owns."""
    lists: Lists = {}
    for name, g in split.groups.items():
        if len(g) == 0:
            empty = np.zeros((0, 20), dtype=np.int32)
            lists[name] = (empty[:, :10], empty)
            continue
        ids, _ = model.recommend(
            g.userids,
            g.user_items,
            n=20,
            filter_already_liked_items=new_only,
            user_features=g.user_features,
        )
        lists[name] = (ids[:, :10], ids)
    return lists


def evaluate_models(
    split: Split,
    names: tuple[str, ...] = MODEL_NAMES,
    shop: ShopParams | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, dict]:
    """Fit each named model on the training side of the split and score every group."""
    say = progress or (lambda _msg: None)
    results: dict[str, dict] = {}
    for name in bar(names, "evaluate: models", unit="model"):
        model = make_model(name, shop)
        started = time.perf_counter()
        say(f"fitting {name}")
        try:
            model.fit(split.data.matrix, split.side, progress=say)
        except TooLarge as exc:  # EASE on a catalog too big for it: the rest still run
            say(f"{name} left out: {exc}")
            continue
        fit_seconds = time.perf_counter() - started
        metrics = score_groups(split, model_lists(model, split))
        fresh = score_groups(split, model_lists(model, split, new_only=True), new_only=True)
        say(
            f"{name}: NDCG@10 {metrics['all']['ndcg@10']:.4f} (all purchases), "
            f"{fresh['all']['ndcg@10']:.4f} (new products only), fit {fit_seconds:.1f}s, "
            f"scored in {time.perf_counter() - started - fit_seconds:.1f}s"
        )
        results[name] = {
            "fit_seconds": round(fit_seconds, 3),
            "groups": metrics,
            "new_only": fresh,
        }
    return results


def compare(result: dict) -> dict[str, dict[str, dict]]:
    """Per protocol and group: NDCG@10 of the served rail beside popularity, buy again (all
    purchases only), the best bare model (by name) and EASE, with the customers counted."""
    served = result["served"].get("for_you")
    if not served:
        return {}
    out: dict[str, dict[str, dict]] = {}
    for protocol in ("groups", "new_only"):
        rows: dict[str, dict] = {}
        for group, m in served[protocol].items():
            if not m.get("users"):
                continue
            row: dict = {"customers": m["users"], "served": m["ndcg@10"]}
            bare = {
                name: e[protocol][group]["ndcg@10"]
                for name, e in result["models"].items()
                if "ndcg@10" in e.get(protocol, {}).get(group, {})
            }
            if "popularity" in bare:
                row["popularity"] = bare["popularity"]
            again = result["served"].get("buy_again", {}).get(protocol, {}).get(group)
            if again and "ndcg@10" in again:
                row["buy_again"] = again["ndcg@10"]
            if bare:
                best = max(bare, key=lambda k: bare[k])
                row["best_bare"], row["best_bare_ndcg@10"] = best, bare[best]
            if "ease" in bare:
                row["ease"] = bare["ease"]
            rows[group] = row
        out[protocol] = rows
    return out


def _ratio(mine: float, theirs: float) -> float:
    return round(mine / theirs, 3) if theirs else float("inf")


def targets(comparison: dict[str, dict[str, dict]]) -> dict[str, float | bool]:
    """The served rail against the targets (see MIN_GROUP): ratios, and a pass/fail line each."""
    out: dict[str, float | bool] = {}
    names = {"groups": "all purchases", "new_only": "new products only"}
    returning = comparison.get("groups", {}).get("returning", {})
    if "buy_again" in returning:
        ratio = _ratio(returning["served"], returning["buy_again"])
        out["for_you/buy_again (returning, all purchases)"] = ratio
        out[f"for_you >= {BUY_AGAIN_TARGET}x buy_again (returning, all purchases)"] = (
            ratio >= BUY_AGAIN_TARGET
        )
    returning = comparison.get("new_only", {}).get("returning", {})
    if "ease" in returning:
        ratio = _ratio(returning["served"], returning["ease"])
        out["for_you/ease (returning, new products only)"] = ratio
        out[f"for_you >= {EASE_TARGET}x ease (returning, new products only)"] = ratio >= EASE_TARGET
    for protocol, rows in comparison.items():
        for group, row in rows.items():
            if row["customers"] < MIN_GROUP:
                continue
            where = f"({group}, {names[protocol]})"
            if "popularity" in row:
                out[f"for_you/popularity {where}"] = _ratio(row["served"], row["popularity"])
                out[f"for_you >= popularity {where}"] = row["served"] >= row["popularity"]
            if "best_bare" in row:
                out[f"for_you/{row['best_bare']} (best bare) {where}"] = _ratio(
                    row["served"], row["best_bare_ndcg@10"]
                )
                out[f"for_you >= best bare {where}"] = row["served"] >= row["best_bare_ndcg@10"]
    return out


def run(
    lines: pd.DataFrame,
    products: pd.DataFrame,
    split_date: str | pd.Timestamp | None = None,
    names: tuple[str, ...] = MODEL_NAMES,
    shop: ShopParams | None = None,
    served: bool = True,
    settings=None,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """The whole evaluation: split, models, the served pipeline; a JSON-ready result."""
    say = progress or (lambda _msg: None)
    shop = shop or ShopParams()
    started = time.perf_counter()
    say("splitting the order lines by time")
    split = make_split(lines, products, split_date)
    say(
        f"split at {split.date:%Y-%m-%d}: {len(split.train_lines):,} lines to learn from, "
        f"{split.test_lines:,} customer lines to test on; "
        + ", ".join(f"{name} {len(g):,}" for name, g in split.groups.items())
    )
    result: dict = {
        "split_date": f"{split.date:%Y-%m-%d}",
        "train_window": [f"{split.train_lines['ts'].min()}", f"{split.train_lines['ts'].max()}"],
        "test_window": [f"{split.date}", f"{split.end}"],
        "counts": {
            "train_lines": int(len(split.train_lines)),
            "test_lines": split.test_lines,
            "train_users": int(len(split.data.user_ids)),
            "items": split.n_items,
            "interactions": int(split.data.matrix.nnz),
            **{f"customers_{name}": len(g) for name, g in split.groups.items()},
        },
        "params": shop.as_dict(),
        "models": evaluate_models(split, names, shop, say),
        "served": {},
    }
    if served:
        from storefront.core.replay import evaluate_served  # moved (issue #17); library: see report

        result["served"] = evaluate_served(split, shop, settings, say)
    result["comparison"] = compare(result)
    result["targets"] = targets(result["comparison"])
    result["seconds"] = round(time.perf_counter() - started, 2)
    return result
