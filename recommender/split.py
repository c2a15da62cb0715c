"""The temporal split: learn from everything before a date, test on what customers bought after.

Everything a model may use is computed here from the lines before the split and nothing else:
the interaction matrix, the item space (products sold before the split), prices and price bands,
description-word vocabulary, customers' countries, recency and popularity. The lines after the
split only ever become the test truths and the context a visitor brings (country, first order).
tests/unit/test_recommender_split.py changes the future and checks that no model moves.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recommender import features
from recommender.base import SideInfo
from recommender.dataset import Interactions, build_interactions, confidence, modal_country
from recommender.price_bands import PriceBands

TEST_SHARE = 0.10  # the default test window: the last tenth of the data's time range
SNAP_DAYS = 7  # ... moved back to the first of its month when that is at most a week earlier


def default_split_date(ts: pd.Series) -> pd.Timestamp:
    """The start of the last ~10% of the time range, at midnight, snapped to a month start
    nearby (2011-11-01 for the bundled data, which runs from 2010-12-01 to 2011-12-09)."""
    ts = pd.to_datetime(ts)
    start, end = ts.min(), ts.max()
    point = (start + (end - start) * (1.0 - TEST_SHARE)).normalize()
    month_start = point.replace(day=1)
    return month_start if point - month_start <= pd.Timedelta(days=SNAP_DAYS) else point


def validation_date(
    lines_before: pd.Series, split: pd.Timestamp, end: pd.Timestamp
) -> pd.Timestamp:
    """A split inside the training window, as long before `split` as the test window is after
    it: tuning chooses on it, so the test period stays unseen until the final evaluation."""
    window = max(end - split, pd.Timedelta(days=7))
    return max((split - window).normalize(), pd.to_datetime(lines_before).min().normalize())


@dataclass
class Group:
    """Customers evaluated together, with what the model may know about each at the split."""

    name: str
    customer_ids: list[str]
    countries: list[str | None]
    userids: np.ndarray  # index into the trained users, or -1 for someone the model never saw
    user_items: sp.csr_matrix  # what is folded in: training rows, a first order, or nothing
    user_features: sp.csr_matrix
    truths: list[frozenset[int]]  # item indexes; products outside the item space count too
    sessions: list[list[str]] = field(default_factory=list)  # product ids of a first order

    def __len__(self) -> int:
        return len(self.customer_ids)


@dataclass
class Split:
    date: pd.Timestamp
    end: pd.Timestamp
    train_lines: pd.DataFrame
    data: Interactions
    side: SideInfo
    products: pd.DataFrame  # item index order: id, title, category, price, band, first_sold...
    groups: dict[str, Group]
    information: np.ndarray  # self-information per item, from training buyers
    test_lines: int

    @property
    def n_items(self) -> int:
        return len(self.data.item_ids)


def item_table(train: pd.DataFrame, products: pd.DataFrame, item_ids: np.ndarray) -> pd.DataFrame:
    """Products in item order with what was known at the split: median price paid before it,
    its price band (among the store's prices then: price_bands.py), first sale and units sold
    before it. Titles and categories (with their names, when `products` has category_name) are
    static."""
    info = products.set_index("id").reindex(item_ids)
    sold = train.groupby("product_id", observed=True).agg(
        price=("price", "median"), first_sold=("ts", "min"), units_sold=("quantity", "sum")
    )
    sold = sold.reindex(item_ids)
    out = pd.DataFrame(
        {
            "id": item_ids,
            "title": info["title"].fillna("").to_numpy(),
            "category": info["category"].fillna("other").to_numpy(),
            "price": sold["price"].fillna(0.0).to_numpy(),
            "first_sold": sold["first_sold"].to_numpy(),
            "units_sold": sold["units_sold"].fillna(0).astype("int64").to_numpy(),
        }
    )
    if "category_name" in info:
        names = info["category_name"].to_numpy(dtype=object)
        out["category_name"] = [
            n if isinstance(n, str) else c for n, c in zip(names, out["category"], strict=True)
        ]
    bands = PriceBands.fit(out["price"])
    out["band"] = [bands.band(float(p)) for p in out["price"]]
    return out


def side_info(train: pd.DataFrame, data: Interactions, items: pd.DataFrame) -> SideInfo:
    """Features and recency for the training users and items (training lines only)."""
    country = modal_country(train).reindex(data.user_ids)
    ufeat, unames = features.user_features(list(country.astype(object).where(country.notna())))
    ifeat, inames = features.item_features(
        list(items["title"]), list(items["category"]), list(items["band"])
    )
    last_days = data.matrix.copy()
    last_days.data = np.asarray(data.age_days, dtype=np.float32)
    return SideInfo(ufeat, ifeat, unames, inames, last_days)


def _truths(frame: pd.DataFrame, item_index: pd.Index, n_items: int) -> pd.Series:
    """customer -> frozenset of item indexes bought; unknown products get ids >= n_items."""
    outside = {p: n_items + k for k, p in enumerate(sorted(set(frame["product_id"])))}
    idx = item_index.get_indexer(frame["product_id"].astype(str))
    ids = np.where(idx >= 0, idx, [outside[p] for p in frame["product_id"]])
    return pd.Series(ids, index=frame["customer_id"].to_numpy()).groupby(level=0).agg(frozenset)


def make_split(
    lines: pd.DataFrame, products: pd.DataFrame, split_date: pd.Timestamp | str | None = None
) -> Split:
    """Split order lines (invoice, product_id, customer_id, quantity, price, ts, country) at a
    date. products: id, title, category (the catalog). Raises when either side is empty."""
    lines = lines.copy()
    lines["ts"] = pd.to_datetime(lines["ts"])
    split = pd.Timestamp(split_date) if split_date is not None else default_split_date(lines["ts"])
    train = lines[lines["ts"] < split]
    test = lines[(lines["ts"] >= split) & lines["customer_id"].notna()]
    if train.empty or test.empty:
        raise ValueError(
            f"split {split:%Y-%m-%d} leaves nothing to {'train on' if train.empty else 'test on'}"
            f" (data runs {lines['ts'].min():%Y-%m-%d} to {lines['ts'].max():%Y-%m-%d})"
        )
    item_ids = np.array(sorted(train["product_id"].astype(str).unique()), dtype=str)
    data = build_interactions(train, item_ids=item_ids, end=split)
    items = item_table(train, products, item_ids)
    side = side_info(train, data, items)
    item_index = pd.Index(data.item_ids)
    user_index = pd.Index(data.user_ids)
    truth = _truths(test, item_index, len(item_ids))
    first_country = test.sort_values("ts").drop_duplicates("customer_id")
    first_country = first_country.set_index("customer_id")["country"]

    groups: dict[str, Group] = {}
    known = [c for c in truth.index if c in user_index]
    rows = user_index.get_indexer(known)
    home = modal_country(train)
    groups["returning"] = Group(
        "returning",
        known,
        [None if pd.isna(home.get(c)) else str(home.get(c)) for c in known],
        rows.astype(np.int64),
        data.matrix[rows],
        side.user_features[rows],
        list(truth.loc[known]),
    )
    new = [c for c in truth.index if c not in user_index]
    countries = [first_country.get(c) for c in new]
    countries = [None if c is None or pd.isna(c) else str(c) for c in countries]
    ufeat, _ = features.user_features(countries, names=side.user_feature_names)
    groups["new"] = Group(
        "new",
        new,
        countries,
        np.full(len(new), -1, dtype=np.int64),
        sp.csr_matrix((len(new), len(item_ids)), dtype=np.float32),
        ufeat,
        list(truth.loc[new]),
    )
    groups["new_session"] = _first_session_group(
        test[test["customer_id"].isin(new)], dict(zip(new, countries, strict=True)), data, side
    )
    buyers = np.bincount(data.matrix.indices, minlength=len(item_ids))
    from recommender.metrics import self_information

    return Split(
        split,
        lines["ts"].max(),
        train,
        data,
        side,
        items,
        groups,
        self_information(buyers, len(data.user_ids)),
        int(len(test)),
    )


def _first_session_group(
    test: pd.DataFrame, countries: dict[str, str | None], data: Interactions, side: SideInfo
) -> Group:
    """New customers with a second order: their first order is folded in as the session, and
    what they bought in later orders is the truth."""
    item_index = pd.Index(data.item_ids)
    order_time = test.groupby(["customer_id", "invoice"], observed=True)["ts"].min().reset_index()
    order_time = order_time.sort_values(["customer_id", "ts", "invoice"])
    first = order_time.drop_duplicates("customer_id").set_index("customer_id")["invoice"]
    counts = order_time.groupby("customer_id").size()
    eligible = sorted(counts[counts >= 2].index)
    is_first = test["invoice"].to_numpy() == first.reindex(test["customer_id"]).to_numpy()
    first_lines = test[is_first & test["customer_id"].isin(eligible).to_numpy()]
    later = test[~is_first & test["customer_id"].isin(eligible).to_numpy()]
    truth = _truths(later, item_index, len(data.item_ids))
    eligible = [c for c in eligible if c in truth.index]
    sessions = first_lines.groupby("customer_id")["product_id"].agg(
        lambda s: list(dict.fromkeys(s))
    )
    indptr, indices = [0], []
    session_ids: list[list[str]] = []
    for c in eligible:
        pids = [p for p in sessions.get(c, []) if p in item_index]
        session_ids.append(pids)
        indices.extend(sorted(set(item_index.get_indexer(pids).tolist())))
        indptr.append(len(indices))
    conf = np.full(len(indices), confidence(np.array([1]))[0], dtype=np.float32)
    user_items = sp.csr_matrix(
        (conf, indices, indptr), shape=(len(eligible), len(data.item_ids)), dtype=np.float32
    )
    ctry = [countries.get(c) for c in eligible]
    ufeat, _ = features.user_features(ctry, names=side.user_feature_names)
    return Group(
        "new_session",
        eligible,
        ctry,
        np.full(len(eligible), -1, dtype=np.int64),
        user_items,
        ufeat,
        list(truth.loc[eligible]),
        session_ids,
    )
