"""The product catalog held in memory by each worker: products, categories, search index.

A few thousand products fit in memory easily and a page must never wait on SQL for them; the
catalog is reloaded when a new import (or model) is published.
"""

from __future__ import annotations

import bisect
import functools
import math
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.engine import Engine

from storefront import db
from storefront.categories import price_band

_WORD = re.compile(r"[A-Z0-9]+")


@dataclass(frozen=True)
class Product:
    id: str
    title: str
    category: str
    price: float
    first_sold: datetime | None
    units_sold: int

    @property
    def band(self) -> str:
        return price_band(self.price)

    @property
    def display_title(self) -> str:
        """Titles arrive in upper case from the till; shoppers read sentence case."""
        return (
            self.title[:1].upper() + self.title[1:].lower() if self.title.isupper() else self.title
        )


@dataclass(frozen=True)
class CategoryInfo:
    slug: str
    name: str
    count: int


def tokens(text: str) -> list[str]:
    return _WORD.findall(text.upper())


class Catalog:
    """Read-only view of the catalog, built once per load."""

    def __init__(self, products: list[Product], categories: list[CategoryInfo]):
        self.products: dict[str, Product] = {p.id: p for p in products}
        self.categories = [c for c in categories if c.count > 0]
        self._category_names = {c.slug: c.name for c in categories}
        by_cat: dict[str, list[Product]] = defaultdict(list)
        for p in products:
            by_cat[p.category].append(p)
        self.by_category = {
            slug: [p.id for p in sorted(items, key=lambda p: (-p.units_sold, p.id))]
            for slug, items in by_cat.items()
        }
        dated = [p for p in products if p.first_sold is not None]
        self.new_arrivals = [
            p.id for p in sorted(dated, key=lambda p: (p.first_sold, p.units_sold), reverse=True)
        ]
        self._index: dict[str, set[str]] = defaultdict(set)
        for p in products:
            for tok in set(tokens(p.title)):
                self._index[tok].add(p.id)
        self._vocabulary = sorted(self._index)
        self._search_memo = functools.lru_cache(maxsize=1024)(self._search)

    def __len__(self) -> int:
        return len(self.products)

    def get(self, product_id: str) -> Product | None:
        return self.products.get(product_id)

    def category_name(self, slug: str) -> str | None:
        return self._category_names.get(slug)

    def _matches(self, token: str, prefix: bool) -> set[str]:
        if not prefix:
            return self._index.get(token, set())
        hits: set[str] = set()
        i = bisect.bisect_left(self._vocabulary, token)  # the vocabulary is sorted
        while i < len(self._vocabulary) and self._vocabulary[i].startswith(token):
            hits |= self._index[self._vocabulary[i]]
            i += 1
        return hits

    def search(self, query: str, limit: int = 200) -> list[tuple[str, float]]:
        """Memoised per catalog (thread-safe, bounded): listings ask for counts on every page."""
        return self._search_memo(query, limit)

    def _search(self, query: str, limit: int) -> list[tuple[str, float]]:
        """Products whose titles match every query word (the last may be a prefix), best first.

        Score: words matched, then popularity (log units sold), so "heart" finds the best-selling
        hearts before obscure ones. Falls back to any-word matching when all-words finds nothing.
        """
        words = tokens(query)[:8]
        if not words:
            return []
        sets = [self._matches(w, prefix=(i == len(words) - 1)) for i, w in enumerate(words)]
        hits = set.intersection(*sets) if sets else set()
        matched = {pid: float(len(words)) for pid in hits}
        if not matched:
            for s in sets:
                for pid in s:
                    matched[pid] = matched.get(pid, 0.0) + 1.0
        scored = [
            (pid, m + math.log1p(self.products[pid].units_sold) / 20.0)
            for pid, m in matched.items()
        ]
        scored.sort(key=lambda t: -t[1])
        return scored[:limit]


def load_catalog(engine: Engine) -> Catalog:
    """Read products and categories from the database into a Catalog."""
    with engine.connect() as conn:
        rows = conn.execute(select(db.products)).mappings().all()
        cats = conn.execute(select(db.categories).order_by(db.categories.c.position)).all()
    products = [
        Product(
            r["id"],
            r["title"],
            r["category"],
            float(r["price"]),
            r["first_sold"],
            int(r["units_sold"] or 0),
        )
        for r in rows
    ]
    counts: dict[str, int] = defaultdict(int)
    for p in products:
        counts[p.category] += 1
    categories = [CategoryInfo(c.slug, c.name, counts.get(c.slug, 0)) for c in cats]
    return Catalog(products, categories)
