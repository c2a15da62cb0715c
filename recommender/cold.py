"""LightFM for the cold: products nobody has bought yet, and visitors with nothing but context.

ALS and the neighbours know only what was bought, so a never-bought product never reaches a
rail and a first-time visitor gets a popularity list. LightFM learns an embedding per catalog
feature (every level of the category path, brand, price band, title words) and per context
feature (country, device class where the lines have one), so a product is the sum of its
features and a visitor the sum of theirs.

Training (`fit_cold`, from `storefront train` only: LightFM's OpenMP is not fork-safe) keeps
items as features alone, so a product bought by nobody is described exactly like one bought by
thousands. A version stores the products' LightFM vectors and the context features' embeddings
as .npy (no pickles); `ColdModel.load` maps them and serving scores with numpy dot products.
`validate` compares, on fit.py's validation split, LightFM with what serves the cold today; the
version serves LightFM only where it won there.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recommender import features
from recommender.hybrid import feature_rows
from recommender.metrics import ndcg_at_k

COMPONENTS = 32
EPOCHS = 15
THREADS = 2  # the training machine is shared with the shop
MAX_PAIRS = 300_000  # above this many (customer, product) pairs, an even sample of customers
USER_FEATURE_WEIGHT = 0.5  # a customer's own identity weighs twice their context in training
PRICE_BANDS = 5  # quantiles of this catalog's own prices
MIN_CUSTOMERS = 20  # fewer validation customers than this: a choice would be noise
TOP = 200  # how many of LightFM's best a first-visit list keeps
_PATH = re.compile(r"\s*(?:>|/|\|)\s*")
COLD_WHO = "customers who bought a product nobody had bought before"
NEW_WHO = "new customers"
FILES = ("cold_item_vectors", "cold_item_bias", "cold_user_names", "cold_user_embeddings")
# LightFM's product feature embeddings and the price bands' edges: a product the version has no
# vector for (listed by the catalog after the training, or only in the catalog, never in an
# order) is described from its features as training described every product (`describe`)
FEATURE_FILES = (
    "cold_feature_names",
    "cold_feature_vectors",
    "cold_feature_bias",
    "cold_price_edges",
)


def _prices(products: pd.DataFrame) -> np.ndarray:
    if "price" not in products:
        return np.full(len(products), np.nan)
    return pd.to_numeric(products["price"], errors="coerce").to_numpy(dtype=float)


def price_edges(products: pd.DataFrame) -> np.ndarray:
    """The edges of PRICE_BANDS quantile bands of these products' prices (empty: no prices)."""
    prices = _prices(products)
    known = prices[np.isfinite(prices) & (prices > 0)]
    if not len(known):
        return np.zeros(0, dtype=np.float64)
    return np.quantile(known, np.linspace(0, 1, PRICE_BANDS + 1)[1:-1]).astype(np.float64)


def product_tokens(products: pd.DataFrame, edges: np.ndarray | None = None) -> list[list[str]]:
    """Each product's features, from the catalog columns the frame has (id always; title,
    category, brand, price where present): every level of the category path ("a > b > c" gives
    cat1:a, cat2:a>b, cat3:a>b>c), the brand, the price band among this catalog's prices (or
    among the bands `edges` a training fixed), and the title's words. The one description of a
    product, for training and for serving."""
    n = len(products)

    def column(name: str) -> list:
        return list(products[name]) if name in products else [None] * n

    prices = _prices(products)
    edges = price_edges(products) if edges is None else np.asarray(edges, dtype=np.float64)
    out = []
    for title, category, brand, price in zip(
        column("title"), column("category"), column("brand"), prices, strict=True
    ):
        row = []
        if isinstance(category, str) and category.strip():
            levels = [p.lower() for p in _PATH.split(category.strip()) if p]
            row += [f"cat{k + 1}:{'>'.join(levels[: k + 1])}" for k in range(len(levels))]
        if isinstance(brand, str) and brand.strip():
            row.append(f"brand:{brand.strip().lower()}")
        if np.isfinite(price) and price > 0:
            row.append(f"band:{int(np.searchsorted(edges, price, side='right'))}")
        row += [f"word:{w}" for w in features.words(title if isinstance(title, str) else "")]
        out.append(row)
    return out


def context_tokens(country: str | None, device: str | None = None) -> list[str]:
    """A visitor's features: where they are and on what (features.user_tokens)."""
    return features.user_tokens(country, device)


@dataclass
class ColdModel:
    """LightFM's vectors for one item space, and the embeddings of the context features; and,
    where the version keeps them, the product features' embeddings (to describe a product the
    item space lacks: `describe`)."""

    item_vectors: np.ndarray  # items x COMPONENTS: the sum of each product's features
    item_bias: np.ndarray  # items
    user_names: np.ndarray  # context feature names (str)
    user_embeddings: np.ndarray  # context features x COMPONENTS
    feature_names: np.ndarray | None = None  # product feature names (str, sorted)
    feature_vectors: np.ndarray | None = None  # product features x COMPONENTS
    feature_bias: np.ndarray | None = None  # product features
    price_edges: np.ndarray | None = None  # the price bands training described products by

    def visitor_vector(self, tokens: Sequence[str]) -> np.ndarray | None:
        """A visitor from context alone, as training weighs it (hybrid.feature_rows): the
        known features share USER_FEATURE_WEIGHT. None where no feature is known."""
        names = self.user_names
        at = np.searchsorted(names, list(tokens)) if len(tokens) else []
        rows = [a for a, t in zip(at, tokens, strict=True) if a < len(names) and str(names[a]) == t]
        if not rows:
            return None
        return USER_FEATURE_WEIGHT * np.asarray(self.user_embeddings[rows]).mean(axis=0)

    def taste(self, items: Sequence[int], tokens: Sequence[str]) -> np.ndarray | None:
        """A shopper: their context plus the mean vector of the products they bought or touched
        (a customer is folded in from history, so no per-customer array is stored)."""
        vector = self.visitor_vector(tokens)
        if len(items):
            own = np.asarray(self.item_vectors[np.asarray(items, dtype=np.int64)]).mean(axis=0)
            vector = own if vector is None else vector + own
        return vector

    def scores(self, vector: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """LightFM's score of every product (or `rows` of them) for a taste vector."""
        if rows is None:
            return np.asarray(self.item_vectors @ vector + self.item_bias, dtype=np.float32)
        return np.asarray(self.item_vectors[rows] @ vector + self.item_bias[rows], np.float32)

    @property
    def describes(self) -> bool:
        """Whether this model can describe a product it has no vector for (`describe`)."""
        return self.feature_names is not None and len(self.feature_names) > 0

    def describe(self, products: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Vectors for products from their features alone, as training made every product's:
        the features share weight 1 (hybrid.feature_rows), the price band by training's edges.
        A category level, brand or band training never saw still takes its share, with an
        embedding of nothing (LightFM starts every bias at zero and every embedding near it),
        so a product known only by its price band is not placed as surely as one known by all
        its features; a title word training did not keep is left out, as training left out
        its rare words. A product it saw gets exactly its trained vector. Returns (the rows of
        `products` described, their vectors, their biases); a product none of whose features
        training knew is left out."""
        empty = (np.zeros(0, np.int64), np.zeros((0, self.item_vectors.shape[1]), np.float32))
        if not self.describes or products.empty:
            return (*empty, np.zeros(0, np.float32))
        names = [str(n) for n in self.feature_names]
        tokens = product_tokens(products, self.price_edges)
        rows = features.matrix(tokens, names)
        counts = np.diff(rows.indptr)  # features training knew
        named = set(names)
        unseen = [sum(t not in named and not t.startswith("word:") for t in set(r)) for r in tokens]
        keep = np.flatnonzero(counts > 0)
        weight = 1.0 / np.maximum(counts + np.asarray(unseen, dtype=np.int64), 1)
        rows = sp.diags(weight.astype(np.float32)) @ rows
        vectors = np.asarray(rows[keep] @ np.asarray(self.feature_vectors), dtype=np.float32)
        bias = np.asarray(rows[keep] @ np.asarray(self.feature_bias), dtype=np.float32)
        return keep.astype(np.int64), vectors, bias

    def subset(self, rows: np.ndarray) -> ColdModel:
        """The same model over `rows` of its products only, gathered into memory once."""
        return replace(
            self,
            item_vectors=np.ascontiguousarray(self.item_vectors[rows]),
            item_bias=np.ascontiguousarray(self.item_bias[rows]),
        )

    def reindex(self, ids: np.ndarray, item_ids: np.ndarray) -> ColdModel:
        """The same model over another item space (products it has not seen: zero, least)."""
        pos = pd.Index(ids).get_indexer(pd.Index(item_ids))
        vectors = np.zeros((len(item_ids), self.item_vectors.shape[1]), dtype=np.float32)
        bias = np.full(len(item_ids), float(np.min(self.item_bias, initial=0.0)), np.float32)
        vectors[pos >= 0] = self.item_vectors[pos[pos >= 0]]
        bias[pos >= 0] = self.item_bias[pos[pos >= 0]]
        return replace(self, item_vectors=vectors, item_bias=bias)

    def save(self, path: Path) -> None:
        arrays = dict(zip(FILES, self._arrays(), strict=True))
        if self.describes:
            arrays |= dict(zip(FEATURE_FILES, self._feature_arrays(), strict=True))
        for name, array in arrays.items():
            np.save(path / f"{name}.npy", np.ascontiguousarray(array), allow_pickle=False)

    def _arrays(self) -> tuple[np.ndarray, ...]:
        names = np.asarray(self.user_names, dtype=str)
        return self.item_vectors, self.item_bias, names, self.user_embeddings

    def _feature_arrays(self) -> tuple[np.ndarray, ...]:
        names = np.asarray(self.feature_names, dtype=str)
        edges = np.asarray(self.price_edges if self.price_edges is not None else [], np.float64)
        return names, self.feature_vectors, self.feature_bias, edges

    @classmethod
    def load(cls, path: Path) -> ColdModel | None:
        """A version's LightFM arrays, memory-mapped, never unpickled; None where absent. The
        feature embeddings are optional (a version from before they were kept has none)."""

        def load(names: Sequence[str]) -> list[np.ndarray] | None:
            if not all((path / f"{name}.npy").is_file() for name in names):
                return None
            return [
                np.asarray(np.load(path / f"{name}.npy", mmap_mode="r", allow_pickle=False))
                for name in names
            ]

        arrays = load(FILES)
        if arrays is None:
            return None
        return cls(*arrays, *(load(FEATURE_FILES) or ()))


def _sample(lines: pd.DataFrame, seed: int) -> pd.DataFrame:
    """The customers' lines, an even sample of customers where pairs exceed MAX_PAIRS."""
    known = lines[lines["customer_id"].notna()]
    pairs = known.drop_duplicates(["customer_id", "product_id"])
    if len(pairs) <= MAX_PAIRS:
        return known
    customers = pairs["customer_id"].unique()
    keep = int(len(customers) * MAX_PAIRS / len(pairs))
    chosen = np.random.default_rng(seed).choice(customers, size=keep, replace=False)
    return known[known["customer_id"].isin(chosen)]


def fit_cold(
    lines: pd.DataFrame,
    products: pd.DataFrame,
    epochs: int = EPOCHS,
    seed: int = 42,
    progress: Callable[[str], None] | None = None,
) -> tuple[ColdModel, np.ndarray, dict]:
    """LightFM on `lines` (customers with their identity and context, products as features
    only). Returns the model over the catalog's products (and any product the lines name), the
    product ids in its item order, and what it cost (pairs, seconds, epochs, threads)."""
    from lightfm import LightFM  # training only: the server never imports lightfm

    started = time.perf_counter()
    say = progress or (lambda _msg: None)
    known = _sample(lines, seed)
    frame = products.drop_duplicates("id").copy()
    frame["id"] = frame["id"].astype(str)
    extra = sorted(set(known["product_id"].astype(str)) - set(frame["id"]))
    frame = pd.concat([frame, pd.DataFrame({"id": extra})], ignore_index=True)
    ids = frame["id"].to_numpy(dtype=str)
    edges = price_edges(frame)
    tokens = product_tokens(frame, edges)
    names = features.vocabulary(tokens, min_count=2)
    items = feature_rows(features.matrix(tokens, names), len(ids), False, 1.0)[:, len(ids) :]
    customers = known["customer_id"].astype(str)
    users = np.asarray(sorted(customers.unique()), dtype=str)
    first = known.sort_values("ts").groupby(customers, sort=True)
    country = first["country"].agg(lambda s: s.dropna().mode().iat[0] if s.notna().any() else None)
    device = first["device"].last() if "device" in known else None
    rows = [
        context_tokens(c, None if device is None else device.get(u))
        for u, c in zip(users, country.reindex(users), strict=True)
    ]
    user_names = features.vocabulary(rows)
    ufeat = features.matrix(rows, user_names)
    user_rows = feature_rows(ufeat, len(users), True, USER_FEATURE_WEIGHT)
    u = pd.Index(users).get_indexer(customers)
    i = pd.Index(ids).get_indexer(known["product_id"].astype(str))
    interactions = sp.coo_matrix(
        (np.ones(len(u), dtype=np.float32), (u, i)), shape=(len(users), len(ids))
    )
    interactions.sum_duplicates()
    interactions.data[:] = 1.0
    say(
        f"LightFM over {interactions.nnz:,} customer-product pairs, {len(names):,} product and "
        f"{len(user_names)} context features ({epochs} epochs, {THREADS} threads)"
    )
    model = LightFM(no_components=COMPONENTS, loss="warp", learning_rate=0.05, random_state=seed)
    model.fit(
        interactions, user_features=user_rows, item_features=items, epochs=epochs,
        num_threads=THREADS,
    )  # fmt: skip
    vectors = np.asarray(items @ model.item_embeddings, dtype=np.float32)
    bias = np.asarray(items @ model.item_biases, dtype=np.float32)
    embeddings = np.asarray(model.user_embeddings[len(users) :], dtype=np.float32)
    cold = ColdModel(
        vectors,
        bias,
        np.asarray(user_names, dtype=str),
        embeddings,
        feature_names=np.asarray(names, dtype=str),
        feature_vectors=np.asarray(model.item_embeddings, dtype=np.float32),
        feature_bias=np.asarray(model.item_biases, dtype=np.float32),
        price_edges=edges,
    )
    cost = {
        "pairs": int(interactions.nnz),
        "customers": len(users),
        "sampled": len(known) < int(lines["customer_id"].notna().sum()),
        "epochs": epochs,
        "threads": THREADS,
        "seconds": round(time.perf_counter() - started, 1),
    }
    return cold, ids, cost


def _truths(test: pd.DataFrame) -> pd.Series:
    """customer -> frozenset of product ids bought in the validation part."""
    known = test[test["customer_id"].notna()]
    return known.groupby(known["customer_id"].astype(str))["product_id"].agg(
        lambda s: frozenset(s.astype(str))
    )


def _mean(values: list[float]) -> float:
    return round(float(np.mean(values)), 4) if values else 0.0


def validate(
    lines: pd.DataFrame,
    products: pd.DataFrame,
    date: pd.Timestamp,
    first_visit: Callable[[str | None], list],
    epochs: int = EPOCHS,
    progress: Callable[[str], None] | None = None,
) -> tuple[dict, tuple[ColdModel, np.ndarray] | None]:
    """LightFM fitted on the lines before `date`, against what serves the cold today, on what
    customers bought from `date` on (NDCG@10):

    - cold products (bought by nobody before `date`, by these customers after it), ranked among
      every product nobody had bought: LightFM against the catalog's own order (what a listing
      without sales shows; the new-arrivals rail lists only products that sold) and against
      the best sellers' categories first (popularity);
    - cold visitors (customers new after `date`, with their first order's country only):
      LightFM against `first_visit` (the fitted first-visit list: country -> product ids).

    Each part says whether LightFM won and serves, with a note either way. Returns the figures
    and the model with its product ids (None where too few customers to fit on): the version
    serves this very model, so what is served is what was measured, at one fit's cost."""
    ts = pd.to_datetime(lines["ts"])
    train, test = lines[ts < date], lines[ts >= date]
    truths = _truths(test)
    bought = set(train["product_id"].astype(str))
    known = train[train["customer_id"].notna()]
    history = known.groupby(known["customer_id"].astype(str))["product_id"]
    new = [c for c in truths.index if c not in history.groups]
    buyers = sum(bool(t - bought) for t in truths)
    if max(buyers, len(new)) < MIN_CUSTOMERS:  # nothing to choose on: not worth a fit
        return {
            "cold_products": _decide(None, buyers, COLD_WHO),
            "cold_visitors": _decide(None, len(new), NEW_WHO),
        }, None
    cold, ids, cost = fit_cold(train, products, epochs, progress=progress)
    index = {p: k for k, p in enumerate(ids)}
    owned = {c: [index[p] for p in set(s.astype(str)) if p in index] for c, s in history}
    countries = test.sort_values("ts").groupby(test["customer_id"].astype(str))["country"].first()
    out: dict = {"cost": cost}

    # (a) cold products
    cold_rows = np.asarray([k for k, p in enumerate(ids) if p not in bought], dtype=np.int64)
    cold_ids = ids[cold_rows]
    frame = products.drop_duplicates("id")
    category = pd.Series(
        frame["category"].to_numpy() if "category" in frame else "", index=frame["id"].astype(str)
    )
    sold_in = category.reindex(train["product_id"].astype(str)).fillna("").to_numpy()
    category_sales = pd.Series(sold_in).value_counts()  # lines per category before the date
    cold_sales = category_sales.reindex(category.reindex(cold_ids).fillna("")).fillna(0)
    catalog_order = list(cold_ids[:10])
    category_first = list(cold_ids[np.argsort(-cold_sales.to_numpy(), kind="stable")][:10])
    scores: dict[str, list[float]] = {"lightfm": [], "catalog_order": [], "category_popularity": []}
    for customer, truth in truths.items():
        wanted = truth - bought
        if not wanted or not len(cold_rows):
            continue
        vector = cold.taste(owned.get(customer, []), context_tokens(countries.get(customer)))
        if vector is None:
            continue
        top = np.argsort(-cold.scores(vector, cold_rows), kind="stable")[:10]
        scores["lightfm"].append(ndcg_at_k(list(cold_ids[top]), wanted))
        scores["catalog_order"].append(ndcg_at_k(catalog_order, wanted))
        scores["category_popularity"].append(ndcg_at_k(category_first, wanted))
    out["cold_products"] = {"products": len(cold_rows)} | _decide(
        {k: _mean(v) for k, v in scores.items()}, len(scores["lightfm"]), COLD_WHO
    )

    # (b) cold visitors
    scores = {"lightfm": [], "first_visit": []}
    cache: dict[str | None, tuple[list, list]] = {}
    for customer in new:
        country = countries.get(customer)
        if country not in cache:
            vector = cold.visitor_vector(context_tokens(country))
            mine = [] if vector is None else list(ids[np.argsort(-cold.scores(vector))[:10]])
            cache[country] = (mine, list(first_visit(country))[:10])
        mine, fitted = cache[country]
        scores["lightfm"].append(ndcg_at_k(mine, truths[customer]))
        scores["first_visit"].append(ndcg_at_k(fitted, truths[customer]))
    out["cold_visitors"] = _decide({k: _mean(v) for k, v in scores.items()}, len(new), NEW_WHO)
    return out, (cold, ids)


def _decide(ndcg: dict[str, float] | None, n: int, who: str) -> dict:
    """Serve LightFM where it beats every alternative on at least MIN_CUSTOMERS customers
    (ndcg None: too few to fit on, no figures)."""
    if n < MIN_CUSTOMERS or ndcg is None:
        note = f"{n} {who} to validate on (< {MIN_CUSTOMERS}): LightFM not served"
        out = {"serve": False, "customers": n, "note": note}
        return out if ndcg is None else {**out, "ndcg@10": ndcg}
    best = max((k for k in ndcg if k != "lightfm"), key=lambda k: ndcg[k])
    serve = ndcg["lightfm"] > ndcg[best]
    verdict = "beats" if serve else "does not beat"
    note = (
        f"LightFM ({ndcg['lightfm']:.4f}) {verdict} {best} ({ndcg[best]:.4f}) on validation: "
        + ("served" if serve else "not served")
    )
    return {"serve": serve, "customers": n, "ndcg@10": ndcg, "note": note}
