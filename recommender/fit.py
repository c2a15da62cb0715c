"""Per-store fitting: everything the served rails take from data, learned on the store's own data.

`storefront train` calls `fit_store` with the lines it trains on. It splits them once more, on a
validation date inside the training window (split.default_split_date of those lines: their last
tenth), trains ALS and item neighbours on the part before it, and chooses on what customers
bought after it:

- the blend's weights (all purchases, and new products only): a logistic regression over the
  blend's features (blend.fit_weights), scored out of fold (fitted on one half of the validation
  customers, scored on the other, and back), then refitted on all of them;
- the guard: where the blend does not beat its best single candidate (blend.CANDIDATES: buy
  again, ALS, popularity...) on validation by more than the standard error of its per-customer
  gain, that candidate is served instead, and a note says so;
- EASE's ridge penalty (of ease.L2_GRID), for the version's EASE and the blend's features;
- the list a first-time visitor gets (all-time best sellers, this month's with or without guest
  orders, or by country): the one with the best NDCG@10 for the validation's new customers;
- what a visitor with only a session gets (session_fit.py): the blend, or a single candidate,
  with the session's products left out, kept or first, on the split's new_session group;
- whether LightFM (cold.py) serves products nobody has bought yet and visitors with nothing
  but context: only where it beats what serves them today on the validation split;
- the store's repeat share (how much of a later order re-orders) and the exploration share (how
  much of what customers buy next comes from categories they never bought from before).

A store too small to validate on gets safe defaults (the hand blend, the all-time list, the
operator's exploration share) and a note saying so. Nothing here depends on any one store.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace

import numpy as np
import pandas as pd

from recommender import cold, popularity, session_fit
from recommender.base import top_n
from recommender.blend import (
    CANDIDATES,
    FEATURES,
    NEW_CANDIDATES,
    NEW_FEATURES,
    BlendParams,
    Shopper,
    features,
    fit_weights,
    learned,
    log_scale,
    unit,
)
from recommender.ease import DEFAULT_L2, L2_GRID, TooLarge, ease_neighbours
from recommender.knn import KNNParams, fit_similarity, neighbour_arrays
from recommender.metrics import ndcg_at_k
from recommender.models import ALSParams, FittedFactors, fit_als
from recommender.repurchase import repeat_shares
from recommender.split import Split, default_split_date, make_split

# Below this many validation customers a choice is noise: the store gets the safe default.
MIN_CUSTOMERS = 20
# The fit holds some twenty dense (customers x products) arrays: beyond this many cells it
# validates on an even sample of the returning customers, and with fewer than MIN_CUSTOMERS in
# the sample (a catalog of hundreds of thousands of products) the store gets the safe defaults.
MAX_CELLS = 10_000_000
POOL = 150  # besides their own products, each customer's top products the blend learns on
FIRST_VISIT = ("overall", "recent", "recent_customers", "by_country")
SAFE_FIRST_VISIT = "overall"  # all-time best sellers: the steadiest list on little data


@dataclass
class Fitted:
    """What `storefront train` learned for this store, stored in the version's meta.json."""

    weights: dict[str, float] = field(default_factory=dict)
    new_weights: dict[str, float] = field(default_factory=dict)
    serve: str = "hand blend"  # "blend", a candidate of blend.CANDIDATES, or "hand blend"
    serve_new: str = "hand blend"
    first_visit: str = SAFE_FIRST_VISIT
    ease_l2: float | None = None  # EASE's ridge penalty (_ease); None: ease.DEFAULT_L2
    repeat_share: float | None = None
    explore_share: float | None = None  # None: the operator's STOREFRONT_EXPLORE_SHARE
    validation: dict = field(default_factory=dict)
    # LightFM for the cold (cold.validate): figures, decision and a note for "cold_products"
    # and "cold_visitors"; serve is False unless it won on validation
    lightfm: dict = field(default_factory=dict)
    # visitors with only a session (session_fit.py): what serves them, its figures and a note
    session: dict = field(default_factory=lambda: dict(session_fit.DEFAULT))
    notes: list[str] = field(default_factory=list)
    # the LightFM model validated (cold.ColdModel, its product ids) for the version to store
    cold_model: tuple | None = field(default=None, repr=False, compare=False)

    def as_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "cold_model"}


class Validation:
    """The returning customers of a split, with everything but ALS precomputed (dense arrays
    over the split's items: the split's catalog is what sold before it)."""

    def __init__(self, split: Split, limit: int | None = None):
        g = split.groups["returning"]
        keep = np.arange(len(g))
        if limit is not None and limit < len(g):  # an even, deterministic sample
            keep = np.unique(np.linspace(0, len(g) - 1, limit).astype(np.int64))
        self.split = split
        self.rows = g.userids[keep]
        self.truths = [g.truths[k] for k in keep]
        data = split.data
        m = data.matrix[self.rows]
        self.history = m
        self.age = split.side.last_days[self.rows].toarray()
        self._knn: dict[int, np.ndarray] = {}
        self.knn_arrays: tuple[np.ndarray, np.ndarray] | None = None  # the last knn's
        self.ease_arrays: tuple[np.ndarray, np.ndarray] | None = None  # ease's, once run

        def dense(values) -> np.ndarray:
            out = data.matrix.copy()
            out.data = np.asarray(values, dtype=np.float32)
            return out[self.rows].toarray()

        orders, span = dense(data.orders), dense(data.span_days)
        repeat, customer_orders, self.repeat_mean = repeat_shares(split.train_lines, data.user_ids)
        lapse = np.where(orders >= 1, self.age, np.inf).min(axis=1)
        self.shopper = Shopper(
            orders,
            self.age,
            span,
            customer_orders[self.rows][:, None],
            repeat[self.rows][:, None],
            np.where(np.isfinite(lapse), lapse, 0.0)[:, None],
        )
        buyers, trending = popularity.item_counts(split.train_lines, data.item_ids, split.date)
        self.popularity, self.trending = log_scale(buyers), log_scale(trending)
        self.owned = orders >= 1
        self.labels = np.zeros(m.shape, dtype=bool)
        for k, truth in enumerate(self.truths):
            self.labels[k, [i for i in truth if i < m.shape[1]]] = True
        self.new_truths = [
            frozenset(t - set(np.flatnonzero(self.owned[k]).tolist()))
            for k, t in enumerate(self.truths)
        ]

    def __len__(self) -> int:
        return len(self.rows)

    def knn(self, params: KNNParams) -> np.ndarray:
        """Each validation customer's item-kNN scores (sum of their products' neighbours)."""
        if params.neighbours not in self._knn:
            sim = fit_similarity(self.split.data.matrix, params)
            ids, scores = neighbour_arrays(sim, params.neighbours)
            self.knn_arrays = (ids, scores)
            self._knn[params.neighbours] = session_fit.neighbour_table(self.history, ids, scores)
        return self._knn[params.neighbours]

    def ease(self, k: int, l2: float = DEFAULT_L2) -> np.ndarray | None:
        """Each validation customer's EASE scores from the k-neighbour arrays a version keeps
        (None where the catalog is too big for EASE)."""
        try:
            ids, scores = ease_neighbours(self.split.data.matrix, k, l2)
        except TooLarge:
            return None
        self.ease_arrays = (ids, scores)
        return session_fit.neighbour_table(self.history > 0, ids, scores)

    def features(
        self, als: np.ndarray, knn: np.ndarray, ease: np.ndarray | None = None
    ) -> dict[str, np.ndarray]:
        return features(als, knn, self.shopper, self.popularity, self.trending, ease)

    def ndcg(
        self, scores: np.ndarray, new_only: bool = False, rows: np.ndarray | None = None
    ) -> float:
        """Mean NDCG@10 over the customers (or `rows` of them); new_only: owned products are
        left out of the ranking and the truth."""
        return float(np.mean(self.ndcg_each(scores, new_only, rows)))

    def ndcg_each(
        self, scores: np.ndarray, new_only: bool = False, rows: np.ndarray | None = None
    ) -> np.ndarray:
        """NDCG@10 of each customer (or of `rows` of them), as `ndcg` averages it."""
        rows = np.arange(len(self)) if rows is None else rows
        s = np.array(scores[rows], dtype=np.float32)
        if new_only:
            s[self.owned[rows]] = -np.inf
        ids, _ = top_n(s, 10)
        truths = self.new_truths if new_only else self.truths
        return np.array([ndcg_at_k(r, truths[k]) for r, k in zip(ids, rows, strict=True)])

    def pool(self, feats: dict[str, np.ndarray]) -> np.ndarray:
        """What the blend learns on: each customer's own products and their top POOL by ALS
        and neighbours (the rest never reach a rail)."""
        pool = self.owned.copy()
        top, _ = top_n((feats["als"] + 0.5 * feats["knn_new"]).astype(np.float32), POOL)
        pool[np.arange(len(pool))[:, None], top] = True
        return pool

    def learn(
        self, feats: dict[str, np.ndarray], base: BlendParams, rows: np.ndarray | None = None
    ) -> BlendParams:
        """The blend's weights learned from these customers (or `rows` of them): all purchases
        over the pool, new products only over the pool's products not owned."""
        pool = self.pool(feats)
        if rows is not None:
            keep = np.zeros(len(pool), dtype=bool)
            keep[rows] = True
            pool &= keep[:, None]

        def fit(mask: np.ndarray, names: tuple[str, ...]) -> dict[str, float]:
            x = np.stack([np.asarray(feats[name])[mask] for name in names], axis=1)
            return fit_weights(x, self.labels[mask], names)

        return replace(
            base, weights=fit(pool, FEATURES), new_weights=fit(pool & ~self.owned, NEW_FEATURES)
        )


def guard(
    scores: dict[str, float], blend_name: str = "blend", per: dict[str, np.ndarray] | None = None
) -> tuple[str, str]:
    """What to serve given validation NDCG@10 of the blend and of each single candidate: the
    blend where it beats every candidate, else the best candidate. Returns (name, a note).

    per: each one's NDCG@10 per validation customer (the same customers). With them the blend
    must beat the best candidate by more than the standard error of its mean per-customer gain
    (session_fit.gain_and_noise): a blend of sixteen fitted weights that wins by less than the
    noise of this many customers is a coin flip, and the single candidate is the simpler bet."""
    mine = scores[blend_name]
    best = max((k for k in scores if k != blend_name), key=lambda k: scores[k], default=None)
    if best is None:
        return blend_name, ""
    if per is None:
        if mine > scores[best]:
            return blend_name, ""
        margin = ""
    else:
        gain, noise = session_fit.gain_and_noise(per[blend_name], per[best])
        if gain > noise:
            return blend_name, ""
        margin = f" by more than the noise (gain {gain:+.4f}, its standard error {noise:.4f})"
    return best, (
        f"the blend ({mine:.4f}) does not beat {best} ({scores[best]:.4f}) on validation"
        f"{margin}: serving {best}"
    )


def _lists_for_new(split: Split, trending_days: int) -> dict[str, Callable[[str | None], list]]:
    """Each first-visit list as the training part of the split would have it: a function of
    the visitor's country returning product ids, best first."""
    lines, end = split.train_lines, split.date
    overall = [p for p, _ in popularity.overall(lines)]
    recent = [p for p, _ in popularity.recent(lines, end, trending_days)]
    known = [p for p, _ in popularity.recent(lines, end, trending_days, customers_only=True)]
    country = popularity.by_country(lines, end, popularity.COUNTRY_HALF_LIFE_DAYS)

    def by_country(c: str | None) -> list:
        own = [p for p, _ in country.get(c, [])] if c else []
        return own + [p for p in overall if p not in set(own)]

    return {
        "overall": lambda _c: overall,
        "recent": lambda _c: recent + [p for p in overall if p not in set(recent)],
        "recent_customers": lambda _c: known + [p for p in overall if p not in set(known)],
        "by_country": by_country,
    }


def _first_visit(split: Split, trending_days: int) -> dict[str, float]:
    """NDCG@10 of each first-visit list for the split's new customers (country only)."""
    g = split.groups["new"]
    index = {str(p): i for i, p in enumerate(split.data.item_ids)}
    out = {}
    for name, make in _lists_for_new(split, trending_days).items():
        cache: dict[str | None, list[int]] = {}
        total = 0.0
        for country, truth in zip(g.countries, g.truths, strict=True):
            if country not in cache:
                cache[country] = [index[p] for p in make(country)[:10] if p in index]
            total += ndcg_at_k(cache[country], truth)
        out[name] = round(total / max(len(g), 1), 4)
    return out


def _explore_share(val: Validation, categories: np.ndarray | None) -> float | None:
    """Of what returning customers bought after the validation date, the share from categories
    they had never bought from: how much discovery this store's customers do themselves."""
    if categories is None:
        return None
    new = total = 0
    for k, truth in enumerate(val.truths):
        usual = set(categories[np.flatnonzero(val.owned[k])].tolist())
        known = [i for i in truth if i < len(categories)]
        new += sum(categories[i] not in usual for i in known)
        total += len(known)
    return round(new / total, 4) if total else None


def _with_columns(lines: pd.DataFrame) -> pd.DataFrame:
    """make_split's columns: quantity and price default where a frame lacks them."""
    out = lines.copy()
    for col, value in (("quantity", 1), ("price", 0.0), ("country", None)):
        if col not in out:
            out[col] = value
    return out


def validation_split(
    lines: pd.DataFrame, products: pd.DataFrame | None
) -> tuple[pd.DataFrame, pd.DataFrame, Split]:
    """The store's validation split inside the training window (split.default_split_date of
    these lines): (the lines with make_split's columns, the products, or ids alone where the
    catalog has no categories, the split). ValueError where the lines are too few to split."""
    lines = _with_columns(lines)
    lines["ts"] = pd.to_datetime(lines["ts"])
    if products is None or "category" not in products:
        ids = lines["product_id"].astype(str).unique()
        products = pd.DataFrame({"id": ids, "title": "", "category": "other"})
    val_date = default_split_date(lines["ts"])
    return lines, products, make_split(lines, products[["id", "title", "category"]], val_date)


def fit_store(
    lines: pd.DataFrame,
    products: pd.DataFrame | None,
    als_params: ALSParams,
    knn_params: KNNParams,
    base: BlendParams | None = None,
    trending_days: int = 30,
    progress: Callable[[str], None] | None = None,
    lightfm: bool = True,
    factorize: Callable[..., FittedFactors] = fit_als,
) -> Fitted:
    """Fit this store's blend, guard, first-visit list and shares on a validation split inside
    `lines` (the training window). products: id, title, category, and brand and price where the
    catalog has them (None: ids only). lightfm=False: no LightFM for the cold (not served).
    factorize: the ALS fit (models.fit_als, or a spark_als.SparkALS)."""
    say = progress or (lambda _msg: None)
    base = base or BlendParams()
    out = Fitted()
    lines = _with_columns(lines)
    if lines.empty:  # a shop trained on imported interactions alone has no orders to replay
        out.notes.append("no order lines to validate on: safe defaults")
        return out
    try:
        lines, products, split = validation_split(lines, products)
    except ValueError as exc:
        out.notes.append(f"too small to validate on ({exc}): safe defaults, no LightFM")
        return out
    val_date = split.date
    out.validation = {
        "date": f"{val_date:%Y-%m-%d}",
        "returning_customers": len(split.groups["returning"]),
        "new_customers": len(split.groups["new"]),
    }
    say(
        f"fitting this store's blend and fallbacks on a validation split at {val_date:%Y-%m-%d} "
        f"({len(split.groups['returning']):,} returning, {len(split.groups['new']):,} new "
        "customers after it)"
    )
    if len(split.groups["new"]) >= MIN_CUSTOMERS:
        scores = _first_visit(split, trending_days)
        out.first_visit = max(FIRST_VISIT, key=lambda k: scores[k])
        out.validation["first_visit_ndcg@10"] = scores
    else:
        out.notes.append(
            f"{len(split.groups['new'])} new customers to validate on (< {MIN_CUSTOMERS}): "
            f"first-time visitors get the safe default ({SAFE_FIRST_VISIT})"
        )
    if lightfm:
        _fit_cold(lines, products, split, val_date, trending_days, out, say)
    if len(split.groups["returning"]) < MIN_CUSTOMERS:
        out.notes.append(
            f"{len(split.groups['returning'])} returning customers to validate on "
            f"(< {MIN_CUSTOMERS}): the hand blend and the operator's exploration share"
        )
        return out
    limit = MAX_CELLS // max(split.n_items, 1)
    if limit < MIN_CUSTOMERS:
        out.notes.append(
            f"{split.n_items:,} products are too many to validate the blend on densely: "
            "the hand blend and the operator's exploration share (safe defaults)"
        )
        return out
    val = Validation(split, limit)
    if len(val) < len(split.groups["returning"]):
        out.notes.append(
            f"validated on {len(val):,} of {len(split.groups['returning']):,} returning "
            f"customers (an even sample: {split.n_items:,} products)"
        )
    out.validation["validated_customers"] = len(val)
    out.repeat_share = round(float(val.repeat_mean), 4)
    owned_next = sum(len(t) - len(n) for t, n in zip(val.truths, val.new_truths, strict=True))
    out.validation["bought_again_share"] = round(owned_next / max(val.labels.sum(), 1), 4)
    out.explore_share = _explore_share(val, split.products["category"].to_numpy())
    factors = factorize(split.data.matrix, als_params)
    als = factors.user_factors[val.rows] @ factors.item_factors.T
    feats = val.features(als, val.knn(knn_params), _ease(val, knn_params.neighbours, out))
    _choose(val, feats, base, out)
    _fit_session(split, val, factors.item_factors, als_params, out)
    return out


def _ease(val: Validation, k: int, out: Fitted) -> np.ndarray | None:
    """EASE's ridge penalty for this store: of ease.L2_GRID, the one whose EASE (as the version
    keeps it: ease_neighbours) ranks the validation customers' next new products best (NDCG@10,
    popularity breaking ties, as the "ease" candidate serves). The version's EASE arrays, the
    blend's EASE features and the session fit use it. Returns its scores (None: no EASE)."""
    best: tuple | None = None
    figures = {}
    for l2 in L2_GRID:
        scores = val.ease(k, l2)
        if scores is None:  # a catalog too big for EASE
            return None
        ndcg = val.ndcg(unit(scores) + np.float32(0.001) * val.popularity, new_only=True)
        figures[f"{l2:g}"] = round(ndcg, 4)
        if best is None or ndcg > best[1]:
            best = (l2, ndcg, scores, val.ease_arrays)
    out.ease_l2, _, scores, val.ease_arrays = best
    out.validation["ease_l2_ndcg@10"] = figures
    out.notes.append(
        f"EASE's ridge penalty: {out.ease_l2:g} (validation NDCG@10, new products only: "
        + ", ".join(f"{l2} {ndcg:.4f}" for l2, ndcg in figures.items())
        + ")"
    )
    return scores


def _fit_session(
    split: Split, val: Validation, item_factors: np.ndarray, als_params: ALSParams, out: Fitted
) -> None:
    """What serves visitors with only a session (session_fit.choose), on the split's
    new_session group; too few of them (or too many cells): the default, with a note."""
    group = split.groups.get("new_session")
    n = 0 if group is None else len(group)
    why = (
        f"{n} new customers with a second order to validate on (< {MIN_CUSTOMERS})"
        if n < MIN_CUSTOMERS
        else f"{n:,} x {split.n_items:,} too many cells to validate densely"
        if val.knn_arrays is None or n * split.n_items > MAX_CELLS
        else ""
    )
    if why:
        out.notes.append(f"{why}: visitors with only a session get the blend (the default)")
        return
    feats = session_fit.session_features(
        group,
        item_factors,
        als_params.regularization,
        als_params.alpha,
        val.knn_arrays,
        val.ease_arrays,
        val.popularity,
        val.trending,
    )
    out.session = session_fit.choose(group, feats, out.weights, out.new_weights)
    out.validation["session_customers"] = n
    out.notes.append(out.session["note"])


def _fit_cold(
    lines: pd.DataFrame,
    products: pd.DataFrame,
    split: Split,
    val_date: pd.Timestamp,
    trending_days: int,
    out: Fitted,
    say: Callable[[str], None],
) -> None:
    """LightFM against the fitted first-visit list and the catalog's own order of products
    nobody has bought (cold.validate); its figures, decisions and notes go into `out`."""
    say("fitting LightFM for products nobody has bought yet and first-time visitors")
    fallback = _lists_for_new(split, trending_days)[out.first_visit]
    out.lightfm, out.cold_model = cold.validate(lines, products, val_date, fallback, progress=say)
    for part in ("cold_products", "cold_visitors"):
        out.notes.append(f"LightFM for {part.replace('_', ' ')}: {out.lightfm[part]['note']}")


def _choose(val: Validation, feats: dict, base: BlendParams, out: Fitted) -> None:
    """The blend's weights, scored out of fold against each single candidate; the guard."""
    halves = (np.arange(len(val))[::2], np.arange(len(val))[1::2])
    oof = np.zeros(feats["als"].shape, dtype=np.float32)
    oof_new = np.zeros_like(oof)
    for fit_on, score_on in (halves, halves[::-1]):
        part = val.learn(feats, base, fit_on)
        oof[score_on] = learned(feats, part.weights)[score_on]
        oof_new[score_on] = learned(feats, part.new_weights)[score_on]
    whole = val.learn(feats, base)
    for protocol, candidates, scores_blend, weights, new_only in (
        ("all_purchases", CANDIDATES, oof, whole.weights, False),
        ("new_only", NEW_CANDIDATES, oof_new, whole.new_weights, True),
    ):
        per = {"blend": val.ndcg_each(scores_blend, new_only)}
        for name, w in candidates.items():
            per[name] = val.ndcg_each(learned(feats, w), new_only)
        ndcg = {name: round(float(each.mean()), 4) for name, each in per.items()}
        chosen, note = guard(ndcg, per=per)
        out.validation[f"{protocol}_ndcg@10"] = ndcg
        if note:
            out.notes.append(f"{protocol.replace('_', ' ')}: {note}")
        serving = weights if chosen == "blend" else dict(candidates[chosen])
        if new_only:
            out.serve_new, out.new_weights = chosen, serving
        else:
            out.serve, out.weights = chosen, serving
