"""The product catalog held in memory by each worker: products, categories, search index.

A page must never wait on SQL for a product, so every worker holds the whole catalog. It is
held in columns (numpy arrays: ids with a sorted index, recommender/ids.py; titles as one UTF-8
buffer; category codes, prices, dates, units sold; the search index as arrays of row numbers
per word) rather than one Python object per product: a million products then cost a few
hundred megabytes instead of about a gigabyte, and workers forked from a master that loaded it
keep sharing its pages, since reading an array touches no reference counts. `Product` objects
are made on demand (and the recent ones kept).
The catalog is reloaded when a new import (or model) is published.
"""

from __future__ import annotations

import functools
import html
import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np

from recommender.ids import IdIndex
from recommender.money import format_money
from recommender.price_bands import PriceBands

UNCATEGORISED = ("uncategorised", "Other products")  # catalog stores: in no category

_WORD = re.compile(r"[A-Z0-9]+")
# a shopper's query: markup-like junk is not words (script/style blocks with their contents,
# other tags, and terms that read as code: "alert(1)", "onerror=x", "javascript:...")
_MARKUP_BLOCK = re.compile(r"<\s*(script|style)\b[^>]*>.*?(?:<\s*/\s*\1\s*>|$)", re.I | re.S)
_TAG = re.compile(r"<\s*[/!?]?\s*[A-Za-z][^<>]*(?:>|$)")
_CODE_TERM = re.compile(r"[(){}\[\];=\\<>`]|^[a-z]+script:|://", re.I)
_NO_DATE = np.iinfo(np.int64).min  # first_sold unknown
_EPOCH = datetime(1970, 1, 1)
_RECENT_PRODUCTS = 8192  # Product objects kept per worker (a page asks for the same few often)


@dataclass(frozen=True)
class ProductDetails:
    """What an imported catalog says beyond the order history (storefront/catalog_import.py)."""

    description: str | None = None
    brand: str | None = None
    image_url: str | None = None
    currency: str | None = None
    attributes_json: str | None = None  # {column: value}; parsed when a page shows it

    @property
    def attributes(self) -> tuple[tuple[str, str], ...]:
        """Every other column of the catalog row, as (name, value) pairs in name order."""
        if not self.attributes_json:
            return ()
        try:
            data = json.loads(self.attributes_json)
        except ValueError:
            return ()
        return tuple((str(k), str(v)) for k, v in data.items()) if isinstance(data, dict) else ()


_NO_DETAILS = ProductDetails()


@dataclass(frozen=True)
class Product:
    id: str
    title: str
    category: str  # the most specific category (a leaf of the catalog's taxonomy)
    price: float
    first_sold: datetime | None
    units_sold: int
    path: tuple[str, ...] = ()  # category slugs from the top level down to `category`
    details: ProductDetails = _NO_DETAILS
    # the store's price bands, fitted to its catalog's prices (recommender/price_bands.py)
    bands: PriceBands | None = field(default=None, compare=False, repr=False)

    @property
    def band(self) -> str:
        """Budget, mid, premium or luxury: where the price sits among the store's prices."""
        return (self.bands or PriceBands()).band(self.price)  # outside a catalog: "mid"

    @property
    def category_path(self) -> tuple[str, ...]:
        """Every category the product is in, top level first: rules, mutes and hides that name
        any level of the taxonomy match it."""
        return self.path or (self.category,)

    def in_any(self, slugs: frozenset[str] | set[str] | tuple[str, ...]) -> bool:
        """Whether the product is in one of these categories, at any level."""
        return any(c in slugs for c in self.category_path)

    @property
    def price_text(self) -> str:
        """The price as shoppers read it, in the catalog's currency (none given: pounds)."""
        return self.money(self.price)

    def money(self, amount: float) -> str:
        """An amount in this product's currency ("€4.66", "12.00 CHF")."""
        return format_money(amount, self.details.currency)

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
    count: int  # products in it and in every category below it
    parent: str | None = None  # None: a top-level category


def _micros(d: datetime | None) -> int:
    """A date as microseconds from 1970 (naive dates as they are, aware ones in UTC)."""
    if d is None:
        return _NO_DATE
    if d.tzinfo is not None:
        d = d.astimezone(UTC).replace(tzinfo=None)
    return (d - _EPOCH) // timedelta(microseconds=1)


def tokens(text: str) -> list[str]:
    return _WORD.findall(text.upper())


def query_words(query: str) -> list[str]:
    """The words of a shopper's search: markup and code-like terms dropped (entities decoded
    first, so `&lt;b&gt;` is markup too), the rest tokenized as titles are. Numbers stay (a
    "set of 3"), but search() lets them narrow a match, never make one."""
    text = html.unescape(query)
    text = _TAG.sub(" ", _MARKUP_BLOCK.sub(" ", text))
    return [w for term in text.split() if not _CODE_TERM.search(term) for w in tokens(term)]


def _is_number(word: str) -> bool:
    return word.isdigit()


class _Ids(Sequence):
    """Product ids of some rows, in order (a category's listing, new arrivals): a list to the
    code that reads it, an array of row numbers underneath."""

    def __init__(self, catalog: Catalog, rows: np.ndarray):
        self._catalog = catalog
        self._rows = rows

    def __len__(self) -> int:
        return len(self._rows)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self._catalog.id_at(int(r)) for r in self._rows[i]]
        return self._catalog.id_at(int(self._rows[i]))

    def __iter__(self) -> Iterator[str]:
        for r in self._rows:
            yield self._catalog.id_at(int(r))

    def head(self, n: int) -> np.ndarray:
        """The first n ids as one array (no Python string per id)."""
        return self._catalog._ids[self._rows[:n]]


class _Products(Mapping):
    """`catalog.products`: id -> Product, read from the columns."""

    def __init__(self, catalog: Catalog):
        self._catalog = catalog

    def __getitem__(self, product_id: str) -> Product:
        p = self._catalog.get(product_id)
        if p is None:
            raise KeyError(product_id)
        return p

    def __contains__(self, product_id: object) -> bool:
        return isinstance(product_id, str) and self._catalog.get(product_id) is not None

    def __iter__(self) -> Iterator[str]:
        return (self._catalog.id_at(r) for r in range(len(self._catalog)))

    def __len__(self) -> int:
        return len(self._catalog)


class Catalog:
    """Read-only view of the catalog, built once per load."""

    version = ""  # an imported catalog's revision (cache keys and page stamps carry it)
    image_origins: tuple[str, ...] = ()  # where an imported catalog's pictures live (for CSP)

    def __init__(self, products: list[Product], categories: list[CategoryInfo]):
        self._build(
            [p.id for p in products],
            [p.title for p in products],
            [p.category for p in products],
            [p.price for p in products],
            [p.first_sold for p in products],
            [p.units_sold for p in products],
            categories,
            [p.details if p.details is not _NO_DETAILS else None for p in products],
        )

    @classmethod
    def from_columns(
        cls,
        ids: list[str],
        titles: list[str],
        categories_of: list[str],
        prices: list[float],
        first_sold: list[datetime | None],
        units_sold: list[int],
        categories: list[CategoryInfo],
        details: list[ProductDetails | None] | None = None,
    ) -> Catalog:
        """A catalog from one list per column (no Product objects on the way); `details`, when
        given, holds each product's imported catalog data (None: none)."""
        self = cls.__new__(cls)
        self._build(ids, titles, categories_of, prices, first_sold, units_sold, categories, details)
        return self

    def _build(
        self, ids, titles, categories_of, prices, first_sold, units_sold, categories, details=None
    ):
        n = len(ids)
        # only a store with an imported catalog pays for a list of details
        self._details = details if details and any(d is not None for d in details) else None
        # the catalog's currency, for amounts of no one product (baskets, revenue); None: pounds
        codes = Counter(d.currency for d in self._details or () if d is not None and d.currency)
        self.currency: str | None = codes.most_common(1)[0][0] if codes else None
        self._ids = np.array(ids, dtype=str) if n else np.zeros(0, dtype="U1")
        self._rows = IdIndex(self._ids, memo=0)  # get() below memoises whole products
        raw = [t.encode("utf-8") for t in titles]
        self._title_offsets = np.zeros(n + 1, dtype=np.int64)
        np.cumsum([len(b) for b in raw], out=self._title_offsets[1:])
        self._titles = np.frombuffer(b"".join(raw), dtype=np.uint8)
        slugs = sorted(set(categories_of) | {c.slug for c in categories})
        self._slugs = slugs
        code = {s: k for k, s in enumerate(slugs)}
        self._category = np.array([code[c] for c in categories_of], dtype=np.int32)
        self._price = np.asarray(prices, dtype=np.float64).reshape(n)
        self.price_bands = PriceBands.fit(self._price)  # this store's bands, from its prices
        self._aware = any(d is not None and d.tzinfo is not None for d in first_sold)
        self._first_sold = np.array([_micros(d) for d in first_sold], dtype=np.int64).reshape(n)
        self._units = np.asarray(units_sold, dtype=np.int64).reshape(n)

        self.categories = [c for c in categories if c.count > 0]
        self.top_categories = [c for c in self.categories if c.parent is None]
        self._shown = {c.slug: c for c in self.categories}  # a category page's lookups, built once
        self._children: dict[str, list[CategoryInfo]] = defaultdict(list)
        for c in self.categories:
            if c.parent is not None:
                self._children[c.parent].append(c)
        self._category_names = {c.slug: c.name for c in categories}
        self._parent = {c.slug: c.parent for c in categories if c.parent}
        self._paths: dict[str, tuple[str, ...]] = {}
        for slug in slugs:
            self._paths[slug] = self._walk(slug)
        self.products: Mapping[str, Product] = _Products(self)
        # listings: best sellers first, then by id (the ids' own order breaks ties)
        by_units = np.lexsort((self._ids, -self._units))
        self._best_sellers = by_units
        self.by_category: dict[str, Sequence[str]] = {}
        cats_in_order = self._category[by_units]
        below: dict[str, list[int]] = defaultdict(list)  # category -> codes of it and under it
        for k, slug in enumerate(slugs):
            for up in self._paths[slug]:
                below[up].append(k)
        for slug, codes in below.items():
            if len(codes) == 1:
                rows = by_units[cats_in_order == codes[0]]
            else:
                rows = by_units[np.isin(cats_in_order, codes)]
            if len(rows):
                self.by_category[slug] = _Ids(self, rows)
        dated = np.flatnonzero(self._first_sold != _NO_DATE)
        newest = dated[np.lexsort((dated, -self._units[dated], -self._first_sold[dated]))]
        self.new_arrivals: Sequence[str] = _Ids(self, newest)

        # the search index, as one sorted vocabulary and each word's rows end to end (no
        # Python object per word: a big catalog has a million distinct words and codes)
        index: dict[str, list[int]] = defaultdict(list)
        for row, title in enumerate(titles):
            brand = self._details[row].brand if self._details and self._details[row] else None
            for tok in set(tokens(f"{title} {brand}" if brand else title)):
                index[tok].append(row)
        words = sorted(index)
        self._vocabulary = (
            np.array([w.encode("ascii") for w in words], dtype="S")
            if words
            else (np.zeros(0, dtype="S1"))
        )
        self._postings_at = np.zeros(len(words) + 1, dtype=np.int64)
        np.cumsum([len(index[w]) for w in words], out=self._postings_at[1:])
        self._postings = np.fromiter(
            (r for w in words for r in index[w]), dtype=np.int32, count=int(self._postings_at[-1])
        )
        del index
        self._popularity = (np.log1p(np.maximum(self._units, 0)) / 20.0).astype(np.float64)
        self._search_memo = functools.lru_cache(maxsize=1024)(self._search)
        self._get_memo = functools.lru_cache(maxsize=_RECENT_PRODUCTS)(self._get)

    def __len__(self) -> int:
        return len(self._ids)

    # the taxonomy

    def _walk(self, slug: str) -> tuple[str, ...]:
        path = [slug]
        while (up := self._parent.get(path[-1])) is not None and up not in path:
            path.append(up)
        return tuple(reversed(path))

    def path_of(self, slug: str) -> tuple[str, ...]:
        """Category slugs from the top level down to this one (itself alone when flat)."""
        return self._paths.get(slug) or self._walk(slug)

    def children(self, slug: str) -> list[CategoryInfo]:
        """The categories one level below this one that hold products, in the catalog's order."""
        return list(self._children.get(slug, ()))

    def ancestors(self, slug: str) -> list[CategoryInfo]:
        """The categories above this one, top level first (for breadcrumbs)."""
        return [self._shown[s] for s in self.path_of(slug)[:-1] if s in self._shown]

    def category_label(self, slug: str) -> str | None:
        """The category's name with the names above it ("Fresh Food › Dairy"), for pickers."""
        if slug not in self._category_names:
            return None
        return " › ".join(self._category_names.get(s, s) for s in self.path_of(slug))

    # rows and ids

    @property
    def ids(self) -> np.ndarray:
        """Every product's id, in the catalog's row order (read-only)."""
        view = self._ids.view()
        view.flags.writeable = False
        return view

    def row_of(self, product_id: str) -> int | None:
        """The row of a product id (binary search over the sorted ids), or None."""
        return self._rows.get(product_id)

    def id_at(self, row: int) -> str:
        return str(self._ids[row])

    def get(self, product_id: str) -> Product | None:
        """The product, or None. Memoised per worker (bounded): a page asks for hundreds of
        candidates, mostly the same popular ones, and a hit costs a dict lookup."""
        return self._get_memo(product_id)

    def _get(self, product_id: str) -> Product | None:
        row = self.row_of(product_id)
        return None if row is None else self._product(row)

    def _product(self, row: int) -> Product:
        start, end = self._title_offsets[row], self._title_offsets[row + 1]
        stamp = int(self._first_sold[row])
        first = None
        if stamp != _NO_DATE:
            first = _EPOCH + timedelta(microseconds=stamp)
            if self._aware:
                first = first.replace(tzinfo=UTC)
        slug = self._slugs[int(self._category[row])]
        details = self._details[row] if self._details is not None else None
        path = self._paths.get(slug, ())
        return Product(
            self.id_at(row),
            self._titles[start:end].tobytes().decode("utf-8"),
            slug,
            float(self._price[row]),
            first,
            int(self._units[row]),
            path if len(path) > 1 else (),
            details or _NO_DETAILS,
            self.price_bands,
        )

    def best_sellers(self, n: int) -> list[Product]:
        """The n products with the most units sold (ties by id)."""
        return [self._product(int(r)) for r in self._best_sellers[:n]]

    def best_seller_units(self, n: int) -> list[tuple[str, float]]:
        """(id, units sold) of the n best sellers, read from the columns (no Product made)."""
        rows = self._best_sellers[:n]
        ids, units = self._ids[rows].tolist(), self._units[rows].astype(float).tolist()
        return list(zip(ids, units, strict=True))

    def category_name(self, slug: str) -> str | None:
        return self._category_names.get(slug)

    # search

    def _matches(self, token: str, prefix: bool) -> np.ndarray:
        """Rows whose title has the word (or, with `prefix`, a word starting with it)."""
        word = token.encode("ascii")  # tokens() keeps only A-Z and 0-9
        lo = int(np.searchsorted(self._vocabulary, word))
        if prefix:  # every word with this prefix sorts between word and word + 0xFF
            hi = int(np.searchsorted(self._vocabulary, word + b"\xff"))
        else:
            hi = lo + 1 if lo < len(self._vocabulary) and self._vocabulary[lo] == word else lo
        rows = self._postings[self._postings_at[lo] : self._postings_at[hi]]
        return np.unique(rows) if hi - lo > 1 else rows

    def search(self, query: str, limit: int = 200) -> list[tuple[str, float]]:
        """Memoised per catalog (thread-safe, bounded): listings ask for counts on every page."""
        return self._search_memo(query, limit)

    def _search(self, query: str, limit: int) -> list[tuple[str, float]]:
        """Products whose titles match every query word (the last may be a prefix), best first.
        The query's words are `query_words`: no markup, no code; numbers only narrow.

        Score: words matched, then popularity (log units sold), so "heart" finds the best-selling
        hearts before obscure ones. Falls back to any-word matching when all-words finds nothing.
        """
        words = query_words(query)[:8]
        if all(_is_number(w) for w in words):  # no words (junk, or digits alone): no match
            return []
        last = len(words) - 1  # the last word may be a prefix; a number matches whole
        sets = [
            self._matches(w, prefix=i == last and not _is_number(w)) for i, w in enumerate(words)
        ]
        hits = functools.reduce(_intersect_sorted, sorted(sets, key=len))
        if len(hits):
            rows, matched = hits, np.full(len(hits), float(len(words)))
        else:  # any word: numbers only narrow a match, so they take no part here
            sets = [s for w, s in zip(words, sets, strict=True) if not _is_number(w)]
            rows, counts = np.unique(np.concatenate(sets), return_counts=True)
            matched = counts.astype(np.float64)
        score = matched + self._popularity[rows]
        if len(rows) > limit:  # sort only what can make the first `limit` (ties included)
            cut = np.partition(-score, limit - 1)[limit - 1]
            keep = np.flatnonzero(-score <= cut)
            rows, score = rows[keep], score[keep]
        order = np.lexsort((rows, -score))[:limit]
        return [(self.id_at(int(rows[k])), float(score[k])) for k in order]


def _intersect_sorted(small: np.ndarray, large: np.ndarray) -> np.ndarray:
    """Rows in both ascending arrays: a binary search of `large` for each row of `small`,
    not np.intersect1d's sort of both (at 1M products a word's rows run to tens of thousands:
    8 ms against under 1 ms for two such words)."""
    if not len(small) or not len(large):
        return small[:0]
    at = np.minimum(np.searchsorted(large, small), len(large) - 1)
    return small[large[at] == small]
