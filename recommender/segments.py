"""Micro-segments: groups of customers the shop finds in their behaviour, named in plain words.

Why behaviour and not the model's factors: segments are conditions in rules and experiments
and a line in a shopper's "what we inferred", so they must mean the same thing after every
retraining. ALS factors rotate between trainings (a multi-threaded solver does not even give
the same factors twice); what a customer buys, at what price, how big and how often does not.
Each customer is described by the share of their spend per category (what they buy) plus four
standardized habits (price level, basket value, order frequency, share of re-orders), and
k-means with a fixed seed, run on customers sorted by id, groups them. The same data therefore
gives the same segments, with the same ids, every time (tests/unit/test_segments.py).

A segment's id is made from what it is ("christmas-wholesale-buyers"), so a rule written for
it keeps working when the next model version finds the same group again. Names and the
categories they describe are the store's own (the products frame's category, and
category_name where it has one), price bands are the store's (price_bands.py) and amounts are
in its currency: nothing here knows the demo's gift categories.
"""

from __future__ import annotations

import math
import re
import unicodedata
import warnings
from dataclasses import asdict, dataclass, replace

import numpy as np
import pandas as pd
from scipy.cluster.vq import kmeans2

from recommender.dataset import modal_country
from recommender.money import format_money
from recommender.price_bands import PriceBands

HABIT_WEIGHT = 0.25  # standardized habits against spend shares (which sum to 1 per customer)
SEED = 20111209
_HABITS = ("unit_price", "basket", "orders", "reorder_share", "country")  # profiles' columns


@dataclass(frozen=True)
class Segment:
    id: str  # a slug made from the description; what rules and experiments name
    name: str  # "Christmas wholesale buyers"
    description: str  # one line for merchandisers
    size: int
    top_categories: tuple[tuple[str, float], ...]  # (slug, share of the segment's spend)
    price_band: str  # of the median unit price its customers pay
    basket: float  # median spend per order, in the store's currency
    orders: float  # median orders per customer
    countries: tuple[tuple[str, float], ...]  # (code, share of customers)
    differs: tuple[str, ...]  # how it differs from the rest, in words
    examples: tuple[str, ...]  # a few customer ids, for the studio

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Segment:
        tupled = {
            k: tuple(tuple(x) if isinstance(x, list) else x for x in v)
            if isinstance(v, list)
            else v
            for k, v in d.items()
        }
        return cls(**tupled)


def default_k(customers: int) -> int:
    """A few dozen for a shop of thousands; fewer for small shops (at least ~40 per group)."""
    return int(min(30, max(2, round(math.sqrt(customers / 8)))))


def profiles(lines: pd.DataFrame, products: pd.DataFrame) -> pd.DataFrame:
    """One row per customer: spend share per category, and the habits (raw values)."""
    df = lines.dropna(subset=["customer_id"]).merge(
        products[["id", "category"]], left_on="product_id", right_on="id", how="inner"
    )
    df = df.assign(
        customer_id=df["customer_id"].astype(str),
        spend=df["quantity"].astype(float) * df["price"].astype(float),
    )
    df = df[df["spend"] > 0]
    mix = df.pivot_table(
        index="customer_id", columns="category", values="spend", aggfunc="sum", fill_value=0.0
    )
    mix = mix.reindex(columns=sorted(mix.columns))
    mix = mix.div(mix.sum(axis=1), axis=0)
    per_order = df.groupby(["customer_id", "invoice"])["spend"].sum()
    first = df.sort_values("ts").duplicated(["customer_id", "product_id"])  # a re-order line
    habits = pd.DataFrame(
        {
            "unit_price": df.groupby("customer_id")["price"].median(),
            "basket": per_order.groupby(level=0).median(),
            "orders": df.groupby("customer_id")["invoice"].nunique(),
            "reorder_share": first.groupby(df["customer_id"]).mean(),
            "country": modal_country(df),
        }
    )
    return mix.join(habits).sort_index()


def _features(p: pd.DataFrame, categories: list[str]) -> np.ndarray:
    habits = np.column_stack(
        [
            np.log1p(p["unit_price"].to_numpy(float)),
            np.log1p(p["basket"].to_numpy(float)),
            np.log1p(p["orders"].to_numpy(float)),
            p["reorder_share"].to_numpy(float),
        ]
    )
    sd = habits.std(axis=0)
    habits = (habits - habits.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    return np.hstack([p[categories].to_numpy(float), HABIT_WEIGHT * habits])


def _buyer(basket: float, orders: float, all_basket: float, all_orders: float) -> str:
    if basket >= 1.6 * all_basket:
        return "wholesale buyers"
    if orders >= 1.6 * all_orders:
        return "regulars"
    if basket <= 0.6 * all_basket:
        return "small-basket buyers"
    return "buyers"


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:60]


def _orders(n: float) -> str:
    return f"{n:.0f} order" + ("" if round(n) == 1 else "s")


def category_names(products: pd.DataFrame) -> dict[str, str]:
    """slug -> the name shoppers read: the frame's category_name, else the slug in words."""
    slugs = products["category"].dropna().astype(str)
    if "category_name" in products:
        named = products.loc[slugs.index, "category_name"]
        given = {s: str(n) for s, n in zip(slugs, named, strict=True) if isinstance(n, str) and n}
    else:
        given = {}
    return {s: given.get(s) or s.replace("-", " ").capitalize() for s in slugs.unique()}


def _currency(products: pd.DataFrame) -> str | None:
    if "currency" not in products:
        return None
    codes = products["currency"].dropna()
    return str(codes.mode().iloc[0]) if len(codes) else None


BAND_WORDS = {"budget": "Budget", "mid": "Mid-price", "premium": "Premium", "luxury": "Luxury"}
MIXED = "All-round"  # no category holds enough of the spend to name the group after it


def _lead(top: tuple[tuple[str, float], ...], names: dict[str, str]) -> str:
    """What the group buys, as a merchandiser says it: its main category, the two it splits
    between, or "All-round" when it buys across the range."""
    first = names.get(top[0][0], top[0][0])
    if top[0][1] >= 0.28:
        return first
    if len(top) > 1 and top[0][1] + top[1][1] >= 0.45:
        return f"{first} and {_lower_first(names.get(top[1][0], top[1][0]))}"
    return MIXED


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _qualifiers(band: str, lead: str, top, names: dict[str, str], habits: dict[str, float]):
    """Ways to tell apart groups that share a base name, most telling first: the price level
    they buy at, the category they also (or, all-round, most) buy, how often they order, how
    big their baskets are, where they are. Each is (prefix, suffix)."""
    also = [names.get(c, c) for c, _ in top if names.get(c, c) not in lead]
    verb = "favour" if lead == MIXED else "also buy"
    orders, basket = habits["orders"], habits["basket"]
    often = "Frequent" if orders >= 1.3 * habits["all_orders"] else ""
    often = often or ("Occasional" if orders <= 0.77 * habits["all_orders"] else "")
    size = " with big baskets" if basket >= 1.25 * habits["all_basket"] else ""
    size = size or (" with small baskets" if basket <= 0.8 * habits["all_basket"] else "")
    country = habits.get("country")
    return (
        (BAND_WORDS.get(band, band.capitalize()), ""),
        ("", f" who {verb} {_lower_first(also[0])}" if also else ""),
        (often, ""),
        ("", size),
        ("", f" in {country}" if country else ""),
    )


def _unique_names(bases: list[str], qualifiers: list[tuple]) -> list[str]:
    """One name per group: the base name where it is unique; where several groups share it,
    the first qualifier that differs between them is added to every one of them (no bare
    "Regulars" beside "Premium regulars"), then the next for those still alike; a number
    only when nothing tells them apart. The same data gives the same names."""
    names = list(bases)
    for level in range(len(qualifiers[0]) if qualifiers else 0):
        by_name: dict[str, list[int]] = {}
        for i, n in enumerate(names):
            by_name.setdefault(_slug(n), []).append(i)
        for group in by_name.values():
            if len(group) < 2:
                continue
            options = {qualifiers[i][level] for i in group}
            if len(options) < 2:
                continue
            for i in group:
                prefix, suffix = qualifiers[i][level]
                base = names[i]
                names[i] = f"{prefix} {_lower_first(base)}{suffix}" if prefix else base + suffix
    seen: dict[str, int] = {}
    for i, n in enumerate(names):
        k = seen[_slug(n)] = seen.get(_slug(n), 0) + 1
        if k > 1:
            names[i] = f"{n}, group {k}"
    return names


def build(
    lines: pd.DataFrame,
    products: pd.DataFrame,
    k: int | None = None,
    bands: PriceBands | None = None,
    currency: str | None = None,
) -> tuple[list[Segment], dict[str, str]]:
    """Segments, biggest first, and each customer's segment id.

    products: id, category (a slug of the store's taxonomy), optionally category_name and
    currency. `bands`: the store's price bands (default: fitted to the lines' prices);
    `currency`: of the amounts in descriptions (default: the products' own, else pounds)."""
    p = profiles(lines, products)
    if len(p) < 4:
        return [], {}
    names = category_names(products)
    if bands is None:
        bands = PriceBands.fit(lines.groupby("product_id")["price"].median())
    currency = currency or _currency(products)

    def money(amount: float) -> str:
        return format_money(amount, currency, places=0)

    categories = [c for c in p.columns if c not in _HABITS]  # the store's, with spend
    k = min(k or default_k(len(p)), len(p) // 2)
    x = _features(p, categories)
    with warnings.catch_warnings():  # an empty cluster is dropped below, not an error
        warnings.simplefilter("ignore")
        _, labels = kmeans2(x, k, minit="++", seed=np.random.default_rng(SEED), iter=30)
    overall_mix = p[categories].mean()
    all_basket, all_orders = float(p["basket"].median()), float(p["orders"].median())
    groups = sorted(
        (np.flatnonzero(labels == c) for c in np.unique(labels)),
        key=lambda rows: (-len(rows), p.index[rows[0]]),
    )
    segments: list[Segment] = []
    assignment: dict[str, str] = {}
    bases: list[str] = []
    qualifiers: list[tuple] = []
    for rows in groups:
        members = p.iloc[rows]
        mix = members[categories].mean().sort_values(ascending=False)
        top = tuple((c, round(float(s), 3)) for c, s in mix.items() if s >= 0.08)[:3] or (
            (mix.index[0], round(float(mix.iloc[0]), 3)),
        )
        basket = float(members["basket"].median())
        orders = float(members["orders"].median())
        buyer = _buyer(basket, orders, all_basket, all_orders)
        lead = _lead(top, names)
        band = bands.band(float(members["unit_price"].median()))
        countries = members["country"].value_counts(normalize=True).head(3)
        country = str(countries.index[0]) if len(countries) else None
        bases.append(f"{lead} {buyer}")
        habits = {"orders": orders, "basket": basket, "country": country}
        habits |= {"all_orders": all_orders, "all_basket": all_basket}
        qualifiers.append(_qualifiers(band, lead, top, names, habits))
        lift = (mix / overall_mix.replace(0, np.nan)).dropna().sort_values(ascending=False)
        differs = tuple(
            f"spends {share:.0%} on {names.get(c, c)}, {ratio:.1f}x the average customer"
            for c, ratio in lift.head(2).items()
            if ratio >= 1.5 and (share := float(mix[c])) >= 0.05
        ) + (
            f"median order {money(basket)} (all customers: {money(all_basket)}); "
            f"{_orders(orders)} each (all: {_orders(all_orders)})",
        )
        cats = ", ".join(f"{names.get(c, c)} {s:.0%}" for c, s in top)
        where = ", ".join(f"{c} {s:.0%}" for c, s in countries.items())
        segments.append(
            Segment(
                id="",  # named below, once every group's base name is known
                name="",
                description=(
                    f"{cats} · {buyer} ({money(basket)} per order, {_orders(orders)}) · "
                    f"{band} prices · {where} · {len(members):,} customers"
                ),
                size=len(members),
                top_categories=top,
                price_band=band,
                basket=round(basket, 2),
                orders=orders,
                countries=tuple((str(c), round(float(s), 3)) for c, s in countries.items()),
                differs=differs,
                examples=tuple(members.index[:5]),
            )
        )
    named = _unique_names(bases, qualifiers)
    segments = [replace(seg, id=_slug(n), name=n) for seg, n in zip(segments, named, strict=True)]
    for seg, rows in zip(segments, groups, strict=True):
        for cid in p.index[rows]:
            assignment[cid] = seg.id
    return segments, assignment


def save(path, segs: list[Segment], member: dict[str, str], user_ids: np.ndarray) -> None:
    """segments.json (the descriptions) and user_segment.npy (each model user's segment
    number, -1 for none), aligned with user_ids so serving needs no dictionary of customers."""
    import json

    index = {s.id: i for i, s in enumerate(segs)}
    of_user = np.array([index.get(member.get(str(u)), -1) for u in user_ids], dtype=np.int16)
    np.save(path / "user_segment.npy", of_user, allow_pickle=False)
    (path / "segments.json").write_text(json.dumps([s.as_dict() for s in segs], indent=1))


def load(path) -> tuple[list[Segment], np.ndarray | None]:
    import json

    try:
        segs = [Segment.from_dict(d) for d in json.loads((path / "segments.json").read_text())]
        return segs, np.load(path / "user_segment.npy", mmap_mode="r")
    except FileNotFoundError:  # a version trained before segments, or without products
        return [], None
