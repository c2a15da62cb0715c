"""The one module the shop imports: recommend, similar items, session fold-in, popularity lists.

Pure numpy over memory-mapped arrays: safe after fork, shared between workers, and fast enough
for a catalog of thousands to score exhaustively per request; above CANDIDATES_ABOVE products
the blend scores candidates, the top of ALS coming from the version's taste index
(taste_index.py). `recommend_for` is what the "for you" rail serves: the ALS taste (with the
session folded in) blended with item neighbours and the shopper's own orders (blend.py),
weighed by what the customer's history says about how much they re-order; versions trained
before the blend existed serve ALS, and versions trained before the learned blend serve the
hand blend.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from recommender import cold, registry, segments
from recommender.blend import (
    OWN_FEATURES,
    SESSION_CANDIDATES,
    BlendParams,
    Shopper,
    blend,
    features,
    learned,
    log_scale,
    neighbour_scores,
    own_scores,
    session_first,
)
from recommender.dataset import confidence
from recommender.ids import IdIndex
from recommender.models import fold_in, gram
from recommender.repurchase import Owned, Rebuy
from recommender.serving_batch import BatchRecommend
from recommender.signals import SESSION_EMPHASIS, order_equivalents
from recommender.taste_index import TasteIndex


def session_orders(session: Sequence[tuple[str, str]], index: IdIndex) -> dict[int, float]:
    """A session's (product_id, signal) pairs as order equivalents per item row, by the one
    table of event weights (signals.py) that training and traits read too; products this
    version does not know, and signals that weigh nothing, are left out."""
    out: dict[int, float] = {}
    for product_id, signal in session:
        i = index.get(product_id)
        w = order_equivalents(signal)
        if i is not None and w > 0:
            out[i] = out.get(i, 0.0) + w
    return out


# Above this many products the learned blend scores candidates instead of every product: the
# top of ALS, the shopper's own products, their co-purchase neighbours, and what sells most
# and best lately. At 1M products scoring all of them costs ~65 ms a page (docs/benchmarks.md).
CANDIDATES_ABOVE = 100_000
CANDIDATE_TOP = 500  # from ALS, and from each popularity list
SAMPLE = 20_000  # scores looked at to guess where the top k of a big array begins


def largest(scores: np.ndarray, k: int) -> np.ndarray:
    """Rows of the k largest scores, in no order: exactly what argpartition gives (0.4 ms
    against 8-20 ms for 500 of a million scores). A strided sample guesses a threshold that about 2k
    scores pass; only those are partitioned (all of them again if fewer than k passed)."""
    n = len(scores)
    if n <= 10 * SAMPLE or k * 20 >= n:
        return np.argpartition(-scores, k)[:k]
    sample = scores[:: n // SAMPLE]
    rank = max(2 * k * len(sample) // n, 1)
    threshold = np.partition(sample, len(sample) - rank)[len(sample) - rank]
    rows = np.flatnonzero(scores >= threshold)
    if len(rows) < k:
        return np.argpartition(-scores, k)[:k]
    return rows[np.argpartition(-scores[rows], k - 1)[:k]]


def _load(path: Path, name: str) -> np.ndarray:
    """A version's array, memory-mapped (shared by every worker, paged in on demand) but held
    as a plain ndarray view: slicing an np.memmap builds a memmap object each time, about 9 µs,
    and a cold 1M-product page takes some 500 slices."""
    return np.asarray(np.load(path / f"{name}.npy", mmap_mode="r", allow_pickle=False))


def memory_mapped(array: np.ndarray) -> bool:
    """Is this array (or what it views) backed by a mapped file rather than its own memory?"""
    while array is not None:
        if isinstance(array, np.memmap):
            return True
        array = getattr(array, "base", None)
    return False


FIRST_VISIT_CONTEXTS = 4096  # (country, device) pairs whose first-visit list is kept
# a version's answers for one shopper's inputs never change: a worker keeps the latest of them
# (a shopper's pages ask again and again: each category page folds the session in, "for you"
# on a category and on a search page scores the same blend). Bounded: the oldest goes first.
TASTE_MEMO = 4096  # taste vectors (64 floats or so each)
FOR_YOU_MEMO = 2048  # "for you" blends (their rows and scores: about 1 KB each)


class _Memo:
    """A bounded map from a shopper's inputs to what this version answers for them. Shared by
    a worker's threads: two may compute the same answer at once, neither gets a wrong one."""

    def __init__(self, size: int):
        self._size = size
        self._values: dict = {}

    def get(self, key):
        return self._values.get(key)

    def put(self, key, value) -> None:
        values = self._values
        values[key] = value
        while len(values) > self._size:
            try:
                del values[next(iter(values))]
            except (KeyError, StopIteration, RuntimeError):  # another thread got there first
                break


def _memo_key(*parts) -> tuple | None:
    """`parts` as a memo key, None where one is not hashable (then nothing is kept)."""
    try:
        hash(parts)
    except TypeError:
        return None
    return parts


class Model(BatchRecommend):
    """One published model version, read-only, shared by every request of a worker. It keeps
    the one model interface (interface.Recommends, batch first: serving_batch.py) beside the
    per-shopper methods the shop's strategies call."""

    def __init__(self, path: Path):
        self.path = path
        self.meta = json.loads((path / registry.META).read_text())
        self.version: str = self.meta["version"]
        self.params = self.meta["params"]
        self.item_ids = np.load(path / "item_ids.npy", allow_pickle=False)
        self.user_ids = np.load(path / "user_ids.npy", allow_pickle=False)
        self.item_factors = _load(path, "item_factors")
        self.user_factors = _load(path, "user_factors")
        self.yty = np.load(path / "yty.npy", allow_pickle=False)
        self.ui_indptr = _load(path, "ui_indptr")
        self.ui_indices = _load(path, "ui_indices")
        self.ui_data = _load(path, "ui_data")
        self.neighbour_ids = _load(path, "neighbour_ids")
        self.neighbour_scores = _load(path, "neighbour_scores")
        self.popularity = json.loads((path / "popularity.json").read_text())
        # item-kNN neighbours and order ages: absent in versions trained before the blend
        has_knn = (path / "knn_ids.npy").is_file()
        self.knn_ids = _load(path, "knn_ids") if has_knn else None
        self.knn_scores = _load(path, "knn_scores") if has_knn else None
        self.ui_age = _load(path, "ui_age") if (path / "ui_age.npy").is_file() else None
        has_ease = (path / "ease_ids.npy").is_file()  # EASE: small catalogs, newer versions
        self.ease_ids = _load(path, "ease_ids") if has_ease else None
        self.ease_scores = _load(path, "ease_scores") if has_ease else None
        has_spans = (path / "ui_span.npy").is_file()  # "buy again": absent in older versions
        self.ui_span = _load(path, "ui_span") if has_spans else None
        self.ui_orders = _load(path, "ui_orders") if has_spans else None
        has_rebuy = (path / "item_interval.npy").is_file()  # "due again": newer versions only
        self.item_interval = _load(path, "item_interval") if has_rebuy else None
        self.item_rebuyers = _load(path, "item_rebuyers") if has_rebuy else None
        self.item_customers = _load(path, "item_customers") if has_rebuy else None
        self.data_end = pd.Timestamp(self.meta["window"]["end"]) if "window" in self.meta else None
        self.blend = BlendParams(**self.meta["blend"]) if "blend" in self.meta else BlendParams()
        # what `storefront train` fitted on this store (fit.py); older versions: safe defaults
        self.fitted: dict = self.meta.get("fitted", {})
        self.first_visit: str = self.fitted.get("first_visit", "overall")
        self.explore_share: float | None = self.fitted.get("explore_share")
        # a visitor with a session but no purchases here: what training chose (session_fit.py)
        session = self.fitted.get("session", {})
        self.session_weights = SESSION_CANDIDATES.get(session.get("serve", "blend"), {})
        self.session_new_weights = SESSION_CANDIDATES.get(session.get("serve_new", "blend"), {})
        # the session's own products in that rail: "out" (left out), "kept", or "first"
        self.session_products: str = session.get("session_products", "out")
        self.session_keeps_views = self.session_products != "out"
        # the learned blend's per-customer and per-item arrays: absent in older versions
        learnt = (path / "user_repeat.npy").is_file() and self.ui_orders is not None
        self.user_repeat = _load(path, "user_repeat") if learnt else None
        self.user_orders = _load(path, "user_orders") if learnt else None
        self.item_popularity = log_scale(_load(path, "item_buyers")) if learnt else None
        self.item_trending = log_scale(_load(path, "item_trending")) if learnt else None
        self._popular_rows = np.zeros(0, dtype=np.int64)
        # big catalogs: where ALS scores highest, without scoring every product (taste_index.py)
        self.taste = TasteIndex.load(path)
        if learnt and len(self.item_ids) > CANDIDATES_ABOVE:
            k = min(CANDIDATE_TOP, len(self.item_ids) - 1)
            self._popular_rows = np.union1d(
                np.argpartition(-self.item_popularity, k)[:k],
                np.argpartition(-self.item_trending, k)[:k],
            )
        if not learnt or "weights" not in self.meta.get("blend", {}):
            self.blend = BlendParams(**{**self.blend.as_dict(), "weights": {}, "new_weights": {}})
        # LightFM for the cold (cold.py), where this store's validation chose it
        lightfm = self.fitted.get("lightfm", {})
        self.cold = cold.ColdModel.load(path)
        self.cold_visitors = self.cold is not None and bool(
            lightfm.get("cold_visitors", {}).get("serve")
        )
        self.cold_products = self.cold is not None and bool(
            lightfm.get("cold_products", {}).get("serve")
        )
        # LightFM won for cold products: the catalog's products this version has no row for
        # can be described from their features (with_products), where the version keeps them
        self.describes_products = self.cold_products and self.cold.describes
        self._late_ids = np.zeros(0, dtype=str)  # those products (with_products), and LightFM
        self._late: cold.ColdModel | None = None  # over them
        self._never_bought = np.zeros(0, dtype=np.int64)
        if self.cold_products:
            if (path / "item_buyers.npy").is_file():
                bought = np.asarray(_load(path, "item_buyers")) > 0
            else:
                bought = np.bincount(self.ui_indices, minlength=len(self.item_ids)) > 0
            self._never_bought = np.flatnonzero(~bought)
            # nothing unsold in the catalog (a shop whose catalog came from its orders): off
            self.cold_products = len(self._never_bought) > 0
            # their rows of LightFM's arrays, gathered once rather than per request
            self._unsold = self.cold.subset(self._never_bought) if self.cold_products else None
        # the first-visit list per (country, device): the same for everyone in that context
        self._first_visit: dict[tuple[str | None, str | None], list[tuple[str, float]]] = {}
        self._tastes = _Memo(TASTE_MEMO)  # user_vector's answers
        self._for_you = _Memo(FOR_YOU_MEMO)  # recommend_for's answers
        self._item_index = IdIndex(self.item_ids)  # sorted arrays, not dicts: ids.py
        # fold-in's yty + regularization * I, the same for every shopper of this version
        self._gram = gram(self.yty, float(self.params["regularization"]))
        self._user_index = IdIndex(self.user_ids)
        self.segments, self._user_segment = segments.load(path)  # empty in older versions
        self._segment_by_id = {seg.id: seg for seg in self.segments}

    @classmethod
    def load_current(cls, models_dir: Path) -> Model | None:
        version = registry.current(models_dir)
        return cls(models_dir / version) if version else None

    # --- ids -------------------------------------------------------------------------------
    def item_index(self, product_id: str) -> int | None:
        return self._item_index.get(product_id)

    def item_indices(self, product_ids) -> np.ndarray:
        """item_index of each product id at once (an array of them), -1 for an unknown one."""
        return self._item_index.rows_of(product_ids)

    def knows_user(self, customer_id: str | None) -> bool:
        return customer_id is not None and customer_id in self._user_index

    def segment_of(self, customer_id: str | None) -> segments.Segment | None:
        """The micro-segment the customer's buying put them in (segments.py), if any."""
        u = self._user_index.get(customer_id) if customer_id else None
        if u is None or self._user_segment is None:
            return None
        n = int(self._user_segment[u])
        return self.segments[n] if 0 <= n < len(self.segments) else None

    def segment(self, segment_id: str) -> segments.Segment | None:
        return self._segment_by_id.get(segment_id)

    def history(self, customer_id: str | None) -> list[str]:
        """Products the customer bought in the training data."""
        u = self._user_index.get(customer_id) if customer_id else None
        if u is None:
            return []
        cols = self.ui_indices[self.ui_indptr[u] : self.ui_indptr[u + 1]]
        return self.item_ids[cols].tolist()  # str each, by array: a history holds hundreds

    def owned(self, customer_id: str | None) -> list[Owned]:
        """What the customer bought, with how often, how long ago, and over what span."""
        u = self._user_index.get(customer_id) if customer_id else None
        if u is None or self.ui_span is None or self.ui_age is None:
            return []
        lo, hi = int(self.ui_indptr[u]), int(self.ui_indptr[u + 1])
        cols = self.ui_indices[lo:hi]
        orders, ages, spans = self.ui_orders[lo:hi], self.ui_age[lo:hi], self.ui_span[lo:hi]
        keep = np.asarray(orders) >= 1  # by array, not one numpy scalar at a time
        names = self.item_ids[cols[keep]].tolist()
        values = [np.asarray(v)[keep].astype(np.float64).tolist() for v in (orders, ages, spans)]
        return [Owned(*row) for row in zip(names, *values, strict=True)]

    def rebuy(self, product_id: str) -> Rebuy | None:
        """How this store's customers re-order the product (fitted at training:
        repurchase.product_intervals), or None: too few re-ordered it, or an older version."""
        i = self._item_index.get(product_id)
        if i is None or self.item_interval is None:
            return None
        interval = float(self.item_interval[i])
        if not np.isfinite(interval):
            return None
        return Rebuy(interval, int(self.item_rebuyers[i]), int(self.item_customers[i]))

    def trending(self, product_id: str) -> float:
        """How well a product sold in the training window's last days (0..1; 0 if unknown)."""
        i = self._item_index.get(product_id)
        if i is None or self.item_trending is None:
            return 0.0
        return float(self.item_trending[i])

    def repeat_share(self, customer_id: str | None) -> float | None:
        """The customer's learned repeat share (repurchase.repeat_shares), if known."""
        u = self._user_index.get(customer_id) if customer_id else None
        if u is None or self.user_repeat is None:
            return None
        return float(self.user_repeat[u])

    def bought_on(self, owned: Owned) -> pd.Timestamp | None:
        """When the customer last bought it (the data's end minus its age)."""
        if self.data_end is None:
            return None
        return self.data_end - pd.Timedelta(days=owned.age_days)

    # --- taste vectors ---------------------------------------------------------------------
    def user_vector(
        self, customer_id: str | None, session: Sequence[tuple[str, str]] = ()
    ) -> np.ndarray | None:
        """The shopper's taste now: trained history plus this session's signals, folded in.

        session: (product_id, signal) pairs, newest first. With no session signal a known
        customer gets their trained vector; with neither, None (use popularity). The vector
        is read-only (kept for this shopper's next page: TASTE_MEMO).
        """
        key = _memo_key(customer_id, tuple(session))
        vector = self._tastes.get(key) if key is not None else None
        if vector is None:
            vector = self._user_vector(customer_id, session)
            if vector is not None and key is not None:
                vector.flags.writeable = False
                self._tastes.put(key, vector)
        return vector

    def _user_vector(
        self, customer_id: str | None, session: Sequence[tuple[str, str]]
    ) -> np.ndarray | None:
        u = self._user_index.get(customer_id) if customer_id else None
        recent = session_orders(session, self._item_index)
        if not recent:
            return np.asarray(self.user_factors[u]) if u is not None else None
        # the trained products and confidences as arrays (a CSR row holds each product once),
        # the session's products added to theirs or appended after, in the session's order
        if u is not None:
            lo, hi = int(self.ui_indptr[u]), int(self.ui_indptr[u + 1])
            cols = np.asarray(self.ui_indices[lo:hi], dtype=np.int64)
            confs = np.asarray(self.ui_data[lo:hi], dtype=np.float64)
        else:
            cols, confs = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
        more: list[int] = []
        boosts: list[float] = []
        for i, orders in recent.items():
            # recent interest is strong evidence: its orders' confidence, emphasised
            boost = float(confidence(np.array([orders]))[0]) * SESSION_EMPHASIS
            at = np.flatnonzero(cols == i)
            if len(at):
                confs[at[0]] += boost
            else:
                more.append(i)
                boosts.append(boost)
        items = np.concatenate([cols, np.asarray(more, dtype=np.int64)])
        confs = np.concatenate([confs, np.asarray(boosts, dtype=np.float64)])
        return fold_in(
            self.item_factors,
            self.yty,
            items,
            confs,
            float(self.params["regularization"]),
            float(self.params["alpha"]),
            self._gram,
        )

    # --- scoring ---------------------------------------------------------------------------
    def recommend_vector(
        self, vector: np.ndarray, n: int, exclude: Iterable[str] = ()
    ) -> list[tuple[str, float]]:
        """Top-n products for a taste vector (plain ALS), skipping excluded product ids."""
        return self._top(np.asarray(self.item_factors @ vector), n, exclude)

    def recommend_for(
        self,
        customer_id: str | None,
        session: Sequence[tuple[str, str]] = (),
        n: int = 10,
        exclude: Iterable[str] = (),
        new_only: bool = False,
    ) -> list[tuple[str, float]]:
        """What "for you" serves: the blend of ALS taste (session folded in), neighbours of
        everything the shopper bought or touched this session, and their own re-orders.

        new_only: never a product the customer has ordered (the "new products only" protocol,
        and a rail beside "buy again"). Empty when there is nothing to go on (an unknown visitor
        with no session). Kept for the same inputs' next ask (FOR_YOU_MEMO)."""
        exclude = exclude if isinstance(exclude, (set, frozenset)) else set(exclude)
        key = _memo_key(customer_id, tuple(session), n, frozenset(exclude), new_only)
        kept = self._for_you.get(key) if key is not None else None
        if kept is not None:
            rows, scores = kept
            return list(zip(self.item_ids[rows].tolist(), scores.tolist(), strict=True))
        found = self._recommend_for(customer_id, session, n, exclude, new_only)
        if key is not None:  # as rows and scores (about 1 KB), not a hundred strings
            rows = self._item_index.rows_of([pid for pid, _ in found]).astype(np.int32)
            self._for_you.put(key, (rows, np.array([s for _, s in found], dtype=np.float64)))
        return found

    def _recommend_for(
        self,
        customer_id: str | None,
        session: Sequence[tuple[str, str]],
        n: int,
        exclude: set[str] | frozenset[str],
        new_only: bool,
    ) -> list[tuple[str, float]]:
        vector = self.user_vector(customer_id, session)
        if vector is None:
            return []
        weights = (self.blend.new_weights if new_only else {}) or self.blend.weights
        if self.knn_ids is None:
            return self._top(np.asarray(self.item_factors @ vector), n, exclude)
        u = self._user_index.get(customer_id) if customer_id else None
        if u is None and weights:  # only a session: the rail training chose for such visitors
            weights = (self.session_new_weights if new_only else self.session_weights) or weights
        n_items = len(self.item_ids)
        conf = np.zeros(0, dtype=np.float32)
        cols = np.zeros(0, dtype=np.int64)
        if u is not None:
            lo, hi = int(self.ui_indptr[u]), int(self.ui_indptr[u + 1])
            cols = np.asarray(self.ui_indices[lo:hi], dtype=np.int64)
            conf = np.asarray(self.ui_data[lo:hi])
        touched, touch_weights = self._touched(cols, conf, session)
        big = bool(weights) and n_items > CANDIDATES_ABOVE  # score candidates only
        if big and self.taste is not None:  # ALS and kNN at the candidates only
            top, _ = self.taste.top(vector, CANDIDATE_TOP)
            rows = self._candidates(top, cols, touched)
            als = np.asarray(self.item_factors[rows] @ vector)
            knn = neighbour_scores(
                touched, touch_weights, self.knn_ids, self.knn_scores, n_items, rows
            )
            ease = self._ease(touched, n_items, rows)
            scores = learned(
                self._features(u, cols, als, knn, rows, ease, weights), weights, len(rows)
            )
        else:
            als = np.asarray(self.item_factors @ vector)
            knn = neighbour_scores(touched, touch_weights, self.knn_ids, self.knn_scores, n_items)
            ease = self._ease(touched, n_items)
            rows = None
            if big:  # a version without a taste index (trained before it existed)
                k = min(CANDIDATE_TOP, n_items - 1)
                top = np.r_[largest(als, k), np.argmax(als), np.argmin(als)]
                rows = self._candidates(top, cols, touched)
                ease = None if ease is None else ease[rows]
                feats = self._features(u, cols, als[rows], knn[rows], rows, ease, weights)
                scores = learned(feats, weights, len(rows))
            elif weights:
                scores = learned(
                    self._features(u, cols, als, knn, None, ease, weights), weights, n_items
                )
            else:
                own = np.zeros(n_items, dtype=np.float32)
                if u is not None:
                    age = np.asarray(self.ui_age[lo:hi]) if self.ui_age is not None else None
                    own[cols] = own_scores(conf, age, self.blend.own_half_life_days)
                scores = blend(als, knn, own, self.blend)
        if u is None and not new_only and self.session_products == "first" and len(touched):
            at = touched if rows is None else np.searchsorted(rows, touched)
            scores = np.array(scores, dtype=np.float32)
            scores[at] = session_first(scores, at)[at]  # what they looked at leads
        if new_only and u is not None and self.ui_orders is not None:
            bought = cols[np.asarray(self.ui_orders[lo:hi]) >= 1]
            if rows is None:
                scores[bought] = -np.inf
            else:
                scores[np.searchsorted(rows, bought)] = -np.inf  # owned ones are candidates
        return self._top(scores, n, exclude, rows)

    def _touched(
        self, cols: np.ndarray, conf: np.ndarray, session: Sequence[tuple[str, str]]
    ) -> tuple[np.ndarray, np.ndarray]:
        """The products whose neighbours count for the shopper, and how much: what they bought
        (its confidence) plus what this session touched (its order equivalents' confidence)."""
        weights = dict(zip(cols.tolist(), conf.tolist(), strict=True))
        for i, orders in session_orders(session, self._item_index).items():
            weights[i] = weights.get(i, 0.0) + float(confidence(np.array([orders]))[0])
        touched = np.fromiter(weights.keys(), dtype=np.int64, count=len(weights))
        return touched, np.fromiter(weights.values(), dtype=np.float32, count=len(weights))

    def _ease(
        self, touched: np.ndarray, n_items: int, rows: np.ndarray | None = None
    ) -> np.ndarray | None:
        """EASE scores from what the shopper bought or touched (each counts once, as EASE's
        binary matrix does): over every product, or at `rows`; None without EASE arrays."""
        if self.ease_ids is None:
            return None
        ones = np.ones(len(touched), dtype=np.float32)
        return neighbour_scores(touched, ones, self.ease_ids, self.ease_scores, n_items, rows)

    def _candidates(self, top: np.ndarray, cols: np.ndarray, touched: np.ndarray) -> np.ndarray:
        """Rows worth scoring in a big catalog (sorted): `top`, the top of ALS and the rows of
        its largest and most negative scores; the shopper's own products; every product with
        a kNN score (the rest score 0); and what sells most and best lately. So scaling each
        feature to a maximum of 1 (blend.unit) over them gives the same values as over every
        product (test_a_big_catalog_scores_candidates_with_the_same_scores)."""
        neighbours = np.asarray(self.knn_ids[touched]).ravel() if len(touched) else []
        parts = [top, cols, touched, neighbours, self._popular_rows]
        if self.ease_ids is not None and len(touched):
            parts.append(np.asarray(self.ease_ids[touched]).ravel())
        return np.unique(np.concatenate([np.asarray(p, dtype=np.int64) for p in parts]))

    def _features(
        self,
        u: int | None,
        cols: np.ndarray,
        als: np.ndarray,
        knn: np.ndarray,
        rows: np.ndarray | None = None,
        ease: np.ndarray | None = None,
        weights: dict[str, float] | None = None,
    ) -> dict[str, np.ndarray]:
        """The learned blend's features of one shopper (blend.features), from the version:
        over every product, or over `rows` only (sorted candidates holding every owned one;
        `als` and `knn` are then already theirs); weights: only those the blend weighs."""
        popularity, trending = self.item_popularity, self.item_trending
        if rows is not None:
            popularity, trending = popularity[rows], trending[rows]
        size = len(als)
        orders = np.zeros(size, dtype=np.float32)
        age = np.zeros(size, dtype=np.float32)
        span = np.zeros(size, dtype=np.float32)
        repeat, customer_orders, lapse = 0.0, 0.0, 0.0
        at = np.zeros(0, dtype=np.int64)
        if u is not None and len(cols):
            lo, hi = int(self.ui_indptr[u]), int(self.ui_indptr[u + 1])
            at = cols if rows is None else np.searchsorted(rows, cols)
            orders[at] = self.ui_orders[lo:hi]
            age[at] = self.ui_age[lo:hi]
            span[at] = self.ui_span[lo:hi]
            bought = orders[at] >= 1
            lapse = float(age[at][bought].min()) if bought.any() else 0.0
            repeat, customer_orders = float(self.user_repeat[u]), float(self.user_orders[u])
        shopper = Shopper(orders, age, span, customer_orders, repeat, lapse)
        if weights is None:
            return features(als, knn, shopper, popularity, trending, ease)
        names = {name for name, w in weights.items() if w}
        own = names.intersection(OWN_FEATURES)
        # only what the blend weighs (its callers give blend.learned the scores' size)
        feats = features(als, knn, shopper, popularity, trending, ease, names - own)
        if own:  # zero off the shopper's own products: computed at theirs only (`at`)
            mine = Shopper(orders[at], age[at], span[at], customer_orders, repeat, lapse)
            small = features(als[at], knn[at], mine, popularity[at], trending[at], None, own)
            for name, values in small.items():
                full = np.zeros(size, dtype=values.dtype)
                full[at] = values
                feats[name] = full
        return feats

    def _top(
        self,
        scores: np.ndarray,
        n: int,
        exclude: Iterable[str],
        rows: np.ndarray | None = None,
    ) -> list[tuple[str, float]]:
        """The n best products; `rows`: the item row of each score (None: every product)."""
        scores = np.array(scores, dtype=np.float32)
        banned = [i for i in (self._item_index.get(p) for p in exclude) if i is not None]
        if banned and rows is not None:
            at = np.searchsorted(rows, banned)
            banned = at[(at < len(rows)) & (rows[np.minimum(at, len(rows) - 1)] == banned)]
        if len(banned):
            scores[banned] = -np.inf
        k = min(n, len(scores))
        if k <= 0:
            return []
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top])]
        items = top if rows is None else rows[top]
        best = scores[top]
        keep = np.isfinite(best)  # by array, not one numpy scalar at a time
        names = self.item_ids[items[keep]].tolist()
        return list(zip(names, best[keep].tolist(), strict=True))

    def similar(self, product_id: str, n: int) -> list[tuple[str, float]]:
        """Products most like this one (precomputed cosine neighbours)."""
        i = self._item_index.get(product_id)
        if i is None:
            return []
        ids = self.neighbour_ids[i, :n]
        scores = self.neighbour_scores[i, :n]
        keep = scores > 0  # by array, not one numpy scalar at a time: a page asks for dozens
        names = [str(pid) for pid in self.item_ids[ids[keep]].tolist()]
        return list(zip(names, scores[keep].tolist(), strict=True))

    def similar_to_many(self, product_ids: Sequence[str], n: int) -> list[tuple[str, float, str]]:
        """Neighbours of several products, merged: (product, score, the product it came from).

        Newer views weigh more (the first id is the newest)."""
        best: dict[str, tuple[float, str]] = {}
        for rank, source in enumerate(product_ids):
            decay = 0.85**rank
            for pid, score in self.similar(source, n):
                s = score * decay
                if pid not in best or best[pid][0] < s:
                    best[pid] = (s, source)
        merged = sorted(best.items(), key=lambda kv: -kv[1][0])
        return [(pid, s, src) for pid, (s, src) in merged[:n]]

    def cold_products_for(
        self,
        customer_id: str | None,
        session: Sequence[tuple[str, str]] = (),
        country: str | None = None,
        device: str | None = None,
        n: int = 10,
    ) -> list[tuple[str, float]]:
        """Products nobody has bought yet, best first for this shopper by LightFM (what they
        bought and touched, and their context): empty unless this version serves LightFM
        for cold products (it beat the alternatives on the store's validation split)."""
        if not self.cold_products:
            return []
        items = list({int(i) for i in self._touched(*self._own(customer_id), session)[0]})
        vector = self.cold.taste(items, cold.context_tokens(country, device))
        if vector is None:
            return []
        picks = []
        if len(self._never_bought):
            picks = self._top(self._unsold.scores(vector), n, (), self._never_bought)
        if self._late is not None:  # listed since the training, or never in an order
            scores = self._late.scores(vector)
            k = min(n, len(scores))
            top = np.argpartition(-scores, k - 1)[:k] if k else np.zeros(0, np.int64)
            picks += [(str(self._late_ids[i]), float(scores[i])) for i in top]
        return sorted(picks, key=lambda p: (-p[1], p[0]))[:n]

    def unknown(self, product_ids: np.ndarray) -> np.ndarray:
        """Those of `product_ids` this version has no row for."""
        ids = np.asarray(product_ids, dtype=str)
        return ids[self._item_index.rows_of(ids) < 0]

    def with_products(
        self,
        ids: Sequence[str],
        titles: Sequence[str],
        categories: Sequence[str | None],
        brands: Sequence[str | None],
        prices: Sequence[float | None],
    ) -> Model:
        """This version, serving as never-bought products also these catalog products it has
        no row for (listed after the training, or listed but never in an order): LightFM
        describes each from its features as training described every product
        (cold.ColdModel.describe). Only where LightFM won for cold products on the store's
        validation and the version keeps the features' embeddings; else this very model. A
        shallow copy: arrays and memos are shared, only the described products are its own."""
        if not self.describes_products or not len(ids):
            return self
        frame = pd.DataFrame(
            {"id": ids, "title": titles, "category": categories, "brand": brands, "price": prices}
        )
        rows, vectors, bias = self.cold.describe(frame)
        if not len(rows):
            return self
        out = copy.copy(self)
        out._late_ids = np.asarray(frame["id"].to_numpy()[rows], dtype=str)
        out._late = cold.ColdModel(vectors, bias, self.cold.user_names, self.cold.user_embeddings)
        out.cold_products = True
        return out

    def _own(self, customer_id: str | None) -> tuple[np.ndarray, np.ndarray]:
        """The customer's trained products and their confidences (empty when unknown)."""
        u = self._user_index.get(customer_id) if customer_id else None
        if u is None:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        lo, hi = int(self.ui_indptr[u]), int(self.ui_indptr[u + 1])
        return np.asarray(self.ui_indices[lo:hi], dtype=np.int64), np.asarray(self.ui_data[lo:hi])

    def first_visit_list(
        self, country: str | None, device: str | None = None
    ) -> list[tuple[str, float]]:
        """What a first-time visitor gets: the list this store's training chose on validation
        (all-time, this month's, or the visitor's country's; LightFM's scores from the
        visitor's context where LightFM won there), topped up with the all-time list; the
        all-time list where the version has no list of that name. Built once per context: the
        list is shared, callers must not change it."""
        memo = self._first_visit.get((country, device))
        if memo is None:
            memo = self._first_visit_for(country, device)
            if len(self._first_visit) < FIRST_VISIT_CONTEXTS:  # countries x devices: bounded
                self._first_visit[(country, device)] = memo
        return memo

    def _first_visit_for(self, country: str | None, device: str | None) -> list[tuple[str, float]]:
        chosen = self.first_visit
        vector = None
        if self.cold_visitors:
            vector = self.cold.visitor_vector(cold.context_tokens(country, device))
        if vector is not None:
            scores = self.cold.scores(vector)
            k = min(cold.TOP, len(scores))
            top = np.argpartition(-scores, k - 1)[:k]
            top = top[np.argsort(-scores[top], kind="stable")]
            head = [(str(self.item_ids[i]), float(scores[i])) for i in top]
        elif chosen == "by_country":
            head = self.popular("by_country", country) if country else []
        else:
            head = self.popular(chosen) or self.popular("overall")
        seen = {pid for pid, _ in head}
        return head + [(p, s) for p, s in self.popular("overall") if p not in seen]

    def popular(self, kind: str, key: str | None = None) -> list[tuple[str, float]]:
        """A popularity list: overall, recent, by_country[key] or by_month[key]."""
        lists = self.popularity.get(kind, [])
        if key is not None:
            lists = lists.get(key, []) if isinstance(lists, dict) else []
        return [(str(pid), float(score)) for pid, score in lists]
