"""The "for you" score the shop serves: a learned blend of a shopper's own orders and new products.

On this kind of shop (wholesale gift buyers who re-order), what a customer bought before predicts
most of the next order, but how much depends on the customer: some re-order the same lines every
month, others come for something new each time. So the own-orders part is not one fixed weight:
each owned product is described by how often and how recently it was bought, whether it is due
(repurchase.py's re-order interval), and by the customer's own repeat share (repurchase.
repeat_shares: the share of their later orders' lines that were re-orders, shrunk towards the
shop's mean for customers with few orders). New products are described by ALS taste, item-kNN
neighbours, and overall and recent popularity (this shop is seasonal).

The score is a weighted sum of those features; the weights are a logistic regression fitted on
each store's own data, on a validation split inside its training window (fit.py, run by
`storefront train`; `fit_weights`), so "a customer who mostly re-orders sees more of their own
products" is learned per store, not hand-set, and no weight fitted on one store ships in code.
Pure numpy: serving (one shopper, 1-D arrays over items) and fitting (a batch, 2-D arrays) call
the very same functions.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import asdict, dataclass, field

import numpy as np

from recommender.repurchase import DECAY_DAYS, DUE_BONUS, OVERDUE_FADE

# Each feature, and why it is there. "own" features are zero for products never bought.
FEATURES = (
    "owned",  # bought before at all
    "orders",  # log(1 + orders of it): a staple outranks a one-off
    "recent",  # exp(-age / 90 days): bought lately
    "year",  # exp(-age / 365 days): still within the year (gift seasons come back)
    "due",  # repurchase.due_score: near the product's own re-order interval
    "again",  # log(1 + repurchase.score): the buy-again ranking's own score
    "share",  # orders of it / all the customer's orders: in most baskets or a few
    "repeat",  # the customer's learned repeat share: re-orderers see more of their own
    "lapse",  # days since the customer's last order (a lapsed customer restocks)
    "als",  # ALS taste (session folded in), every product
    "als_new",  # ALS taste, products not owned
    "knn_new",  # item-kNN neighbours of what they bought or touched, products not owned
    "ease",  # EASE (ease.py) from what they bought or touched, every product
    "ease_new",  # EASE, products not owned
    "popularity",  # log distinct buyers over the training window
    "trending",  # log distinct buyers in its last 30 days
)

# The "own" features: zero for every product the shopper never ordered (owned = 0), so serving
# computes them at the shopper's own products only.
OWN_FEATURES = FEATURES[:9]

# "New products only" (a rail beside buy again): the features that describe a product the
# shopper never bought, weighted by a fit on such products alone (owned ones would only teach it
# how to rank re-orders).
NEW_FEATURES = ("als", "knn_new", "ease_new", "popularity", "trending")

# The single candidates the learned blend must beat on validation (fit.py's guard), each as
# weights over the same features, so serving one of them needs no other code path. Only the
# order of the scores matters: buy again puts every owned product (owned = 1) above every other
# one (popularity <= 1 weighs 1/1000), ranked by its buy-again score, then tops up by popularity.
CANDIDATES = {
    "buy_again": {"owned": 10.0, "again": 1.0, "popularity": 0.001},
    "als": {"als": 1.0},
    "ease": {"ease": 1.0, "popularity": 0.001},
    "popularity": {"popularity": 1.0},
    "trending": {"trending": 1.0, "popularity": 0.001},
}
NEW_CANDIDATES = {
    "als": {"als": 1.0},
    "item_knn": {"knn_new": 1.0, "popularity": 0.001},
    "ease": {"ease_new": 1.0, "popularity": 0.001},
    "popularity": {"popularity": 1.0},
    "trending": {"trending": 1.0, "popularity": 0.001},
}
# A visitor with a session but no purchases in the model (session_fit.py): the candidates the
# blend must beat for them on validation. With no orders of their own, "knn_new" is item-kNN
# over every product (nothing is owned).
SESSION_CANDIDATES = {
    "item_knn": {"knn_new": 1.0, "popularity": 0.001},
    "als": {"als": 1.0},
    "ease": {"ease": 1.0, "popularity": 0.001},
    "popularity": {"popularity": 1.0},
}


@dataclass(frozen=True)
class BlendParams:
    """`weights`: the weight of each feature, fitted per store by `storefront train` (fit.py).
    With no weights (a store too small to fit on, or a version from before the learned blend)
    the hand blend applies: each part scaled to a maximum of 1 per shopper, equal-ish priors
    rather than figures fitted on any store."""

    als: float = 1.0
    knn: float = 0.5
    own: float = 3.0
    own_half_life_days: float = 180.0  # an order this old counts half as much as today's
    weights: dict[str, float] = field(default_factory=dict)
    new_weights: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Shopper:
    """What the blend knows about one shopper (1-D over items) or a batch (2-D, users x items).

    orders/age/span: real orders of each product, days since the last, first to last order
    (zeros where never bought); customer_orders, repeat and lapse: per shopper (a scalar, or a
    column of shape (users, 1))."""

    orders: np.ndarray
    age: np.ndarray
    span: np.ndarray
    customer_orders: np.ndarray | float
    repeat: np.ndarray | float
    lapse: np.ndarray | float


def unit(scores: np.ndarray) -> np.ndarray:
    """Scale each row (or the vector) so its largest absolute score is 1; zeros stay zeros."""
    scores = np.asarray(scores, dtype=np.float32)
    top = np.abs(scores).max(axis=-1, keepdims=True) if scores.size else np.float32(0)
    top = np.where(top > 0, top, 1.0)
    return scores / top


def own_scores(conf: np.ndarray, age_days: np.ndarray | None, half_life: float) -> np.ndarray:
    """How likely a shopper is to re-order what they bought: confidence, decayed by age."""
    conf = np.asarray(conf, dtype=np.float32)
    if age_days is None or half_life <= 0:
        return conf
    return conf * np.power(0.5, np.asarray(age_days, dtype=np.float32) / half_life)


def due_scores(orders: np.ndarray, age: np.ndarray, span: np.ndarray) -> np.ndarray:
    """repurchase.due_score over arrays: near its re-order interval a regular ranks highest,
    weighted by its orders, and fades once long overdue; a one-off ranks by recency. Zero if
    never bought."""
    orders = np.asarray(orders, dtype=np.float32)
    age = np.asarray(age, dtype=np.float32)
    interval = np.maximum(np.asarray(span, dtype=np.float32) / np.maximum(orders - 1, 1), 1.0)
    due = age / interval
    regular = orders * np.minimum(due, 1.0) / (1.0 + np.maximum(0.0, due - 1.5))
    once = 0.5 * np.exp(-age / 180.0)
    return np.where(orders >= 2, regular, np.where(orders >= 1, once, 0.0)).astype(np.float32)


def again_scores(orders: np.ndarray, age: np.ndarray, span: np.ndarray) -> np.ndarray:
    """repurchase.score over arrays: orders decayed by age, lifted when due, faded when long
    overdue. Zero if never bought."""
    orders = np.asarray(orders, dtype=np.float32)
    age = np.asarray(age, dtype=np.float32)
    base = orders * np.exp(-age / DECAY_DAYS)
    interval = np.maximum(np.asarray(span, dtype=np.float32) / np.maximum(orders - 1, 1), 1.0)
    due = age / interval
    lifted = base * (1.0 + DUE_BONUS * np.minimum(due, 1.0))
    regular = lifted / (1.0 + OVERDUE_FADE * np.maximum(0.0, due - 1.5))
    return np.where(orders >= 2, regular, np.where(orders >= 1, base, 0.0)).astype(np.float32)


def neighbour_scores(
    items: np.ndarray,
    weights: np.ndarray,
    knn_ids: np.ndarray,
    knn_scores: np.ndarray,
    n: int,
    rows: np.ndarray | None = None,
) -> np.ndarray:
    """Sum over a shopper's items of their neighbours' similarities, weighted per item: over
    all n items, or only at `rows` (sorted item rows, holding every neighbour that scores),
    which spares a big catalog an array of a million mostly zeros."""
    items = np.asarray(items, dtype=np.int64)
    size = n if rows is None else len(rows)
    if items.size == 0:
        return np.zeros(size, dtype=np.float32)
    ids = np.asarray(knn_ids[items]).ravel()
    weights = np.asarray(weights, dtype=np.float32)[:, None]
    contrib = (np.asarray(knn_scores[items]) * weights).ravel()
    if rows is not None:  # padding (id 0, score 0) may be missing from rows: it adds nothing
        at = np.minimum(np.searchsorted(rows, ids), size - 1)
        ids, contrib = at, np.where(rows[at] == ids, contrib, 0.0)
    return np.bincount(ids, weights=contrib, minlength=size).astype(np.float32)


def log_scale(counts: np.ndarray) -> np.ndarray:
    """log(1 + count) over its maximum: popularity on a 0..1 scale."""
    logs = np.log1p(np.maximum(np.asarray(counts, dtype=np.float32), 0))
    top = float(logs.max()) if logs.size else 0.0
    return logs / top if top > 0 else logs


def features(
    als: np.ndarray,
    knn: np.ndarray,
    shopper: Shopper,
    popularity: np.ndarray,
    trending: np.ndarray,
    ease: np.ndarray | None = None,
    names: Collection[str] | None = None,
) -> dict[str, np.ndarray]:
    """Every feature of FEATURES, each shaped like `als`. popularity and trending are per item
    on a 0..1 scale (log_scale), shared by every shopper; ease: EASE scores (None: a version
    without them, a catalog too big for EASE: zeros). names: only these features (those a
    blend weighs: serving's "new products" rail weighs five of sixteen), each computed as
    when all are."""
    orders = np.asarray(shopper.orders, dtype=np.float32)
    age = np.asarray(shopper.age, dtype=np.float32)
    owned = (orders >= 1).astype(np.float32)
    new = 1.0 - owned
    unit_als = unit(als)
    customer_orders = np.maximum(np.asarray(shopper.customer_orders, dtype=np.float32), 1.0)
    lapse = np.minimum(np.asarray(shopper.lapse, dtype=np.float32), 365.0) / 365.0
    shape = unit_als.shape
    build = {
        "owned": lambda: owned,
        "orders": lambda: owned * np.log1p(orders),
        "recent": lambda: owned * np.exp(-age / 90.0),
        "year": lambda: owned * np.exp(-age / 365.0),
        "due": lambda: owned * np.minimum(due_scores(orders, age, shopper.span), 10.0) / 10.0,
        "again": lambda: owned * np.log1p(again_scores(orders, age, shopper.span)),
        "share": lambda: owned * orders / customer_orders,
        "repeat": lambda: owned * np.asarray(shopper.repeat, dtype=np.float32),
        "lapse": lambda: owned * lapse,
        "als": lambda: unit_als,
        "als_new": lambda: new * unit_als,
        "knn_new": lambda: new * unit(knn),
        "ease": lambda: unit(ease) if ease is not None else np.zeros(shape, dtype=np.float32),
        "ease_new": lambda: (
            new * unit(ease) if ease is not None else np.zeros(shape, dtype=np.float32)
        ),
        "popularity": lambda: np.broadcast_to(np.asarray(popularity, dtype=np.float32), shape),
        "trending": lambda: np.broadcast_to(np.asarray(trending, dtype=np.float32), shape),
    }
    return {name: make() for name, make in build.items() if names is None or name in names}


def session_first(scores: np.ndarray, items: np.ndarray) -> np.ndarray:
    """`scores` (one shopper's) with `items` lifted above every other product, in their order."""
    out = np.array(scores, dtype=np.float32)
    if len(items) and out.size:
        finite = out[np.isfinite(out)]
        span = float(finite.max() - finite.min()) if finite.size else 0.0
        out[items] += span + 1.0
    return out


def learned(
    feats: dict[str, np.ndarray], weights: dict[str, float], size: int | None = None
) -> np.ndarray:
    """The blend's score: the weighted sum of the features (unknown names weigh nothing).
    `size`: the number of scores, where `feats` may hold only the features the blend weighs
    (serving computes no others: possibly none at all); else the shape of any feature."""
    if size is None:
        if not feats:
            raise ValueError("learned: no features and no size to shape the scores by")
        shape = next(iter(feats.values())).shape
    else:
        shape = (size,)
    out = np.zeros(shape, dtype=np.float32)
    for name, w in weights.items():
        if w and name in feats:
            out += np.float32(w) * feats[name]
    return out


def blend(als: np.ndarray, knn: np.ndarray, own: np.ndarray, p: BlendParams) -> np.ndarray:
    """The hand blend (no learned weights): ALS + neighbours + decayed own orders."""
    return p.als * unit(als) + p.knn * unit(knn) + p.own * unit(own)


def fit_weights(
    x: np.ndarray,
    y: np.ndarray,
    names: tuple[str, ...] = FEATURES,
    l2: float = 1.0,
    iterations: int = 30,
) -> dict[str, float]:
    """Logistic regression of "bought after the split" on the features (columns in `names`
    order), by Newton's method with an L2 penalty; the intercept is dropped (it ranks nothing)."""
    x = np.hstack([np.asarray(x, dtype=np.float64), np.ones((len(x), 1))])
    y = np.asarray(y, dtype=np.float64)
    w = np.zeros(x.shape[1])
    penalty = l2 * np.r_[np.ones(x.shape[1] - 1), 0.0]
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(x @ w)))
        grad = x.T @ (p - y) + penalty * w
        hess = (x * (p * (1 - p))[:, None]).T @ x + np.diag(penalty)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-6:
            break
    return {name: round(float(v), 4) for name, v in zip(names, w[:-1], strict=True)}
