"""Listing candidate strategies: a product's similar products, a category's listing and search
results (the last two page by page, nudged by the shopper's taste)."""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence

import numpy as np

from storefront.core.strategies.base import (
    FALLBACK_POOL,
    Pick,
    Request,
    Strategy,
    has_taste,
    known,
    personal_scope,
    register,
)


def similar(req: Request) -> list[Pick]:
    pid = str(req.page.get("product_id", ""))
    product = req.snap.catalog.get(pid)
    if product is None:
        return []
    reason = f"Similar to {product.display_title}"
    picks: list[Pick] = []
    if req.snap.model is not None:
        picks = known(req, req.snap.model.similar(pid, req.n * 2), reason, "similar", {pid})
    if len(picks) < req.n:
        seen = {pid} | {p.product_id for p in picks}
        ids = req.snap.catalog.by_category.get(product.category, [])[:FALLBACK_POOL]
        same = [(p, 0.0) for p in ids]
        more = f"More in {req.snap.catalog.category_name(product.category)}"
        picks += known(req, same, more, "similar", seen)[: req.n - len(picks)]
    return picks


register(Strategy("similar", similar, lambda req: ("p", str(req.page.get("product_id", "")))))


def _taste_order(
    req: Request, n: int, indices: Callable[[], np.ndarray], weight: float
) -> tuple[np.ndarray, np.ndarray] | None:
    """The order of a listing's first n products under the shopper's taste (fold-in vector)
    and their blended scores, or None where the listing's own order stands (no model, no
    taste). `indices`: the model's row of each of the n products, -1 for one it does not
    know (asked only when there is a taste to read them with)."""
    model = req.snap.model
    if model is None or not has_taste(req) or not n:
        return None
    vector = model.user_vector(req.ctx.customer_id, req.ctx.session.signals())
    if vector is None:
        return None
    idx = indices()
    missing = idx < 0
    taste = np.asarray(model.item_factors[np.where(missing, 0, idx)] @ vector)
    taste[missing] = 0.0
    base = np.linspace(1.0, 0.0, num=n)
    spread = taste.max() - taste.min()
    taste = (taste - taste.min()) / spread if spread > 0 else np.zeros_like(taste)
    blended = (1 - weight) * base + weight * taste
    return np.argsort(-blended, kind="stable"), blended


# a category's head rows by model and the catalog's id list of the category: the same for
# every shopper's listing of it (weak: they go with their model and catalog)
_HEAD_ROWS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _head_rows(model, ids: Sequence[str], n: int) -> np.ndarray:
    """_model_rows of a category's first n ids, looked up once per model and category (a
    listing's ids are a catalog's, fixed while it is served); read-only."""
    try:
        by_ids = _HEAD_ROWS.get(model)
        if by_ids is None:
            by_ids = _HEAD_ROWS.setdefault(model, weakref.WeakKeyDictionary())
        rows = by_ids.get(ids)
    except TypeError:  # a model or an id list that takes no weak reference (a plain list)
        by_ids, rows = None, None
    if rows is None or len(rows) != n:
        head = ids.head(n) if hasattr(ids, "head") else np.array(ids[:n], dtype=str)
        rows = _model_rows(model, head)
        rows.flags.writeable = False
        if by_ids is not None:
            by_ids[ids] = rows
    return rows


def _model_rows(model, pids: Sequence[str]) -> np.ndarray:
    """The model's row of each product id, -1 for one it does not know."""
    rows = getattr(model, "item_indices", None)
    if rows is not None:
        return rows(pids)
    found = [model.item_index(pid) for pid in pids]
    return np.array([-1 if i is None else i for i in found], dtype=np.int64)


def rerank(
    req: Request, candidates: list[tuple[str, float]], weight: float
) -> list[tuple[str, float]]:
    """Blend a listing's own order with the shopper's taste (fold-in vector), when there is one."""
    ranked = _taste_order(
        req,
        len(candidates),
        lambda: _model_rows(req.snap.model, [pid for pid, _ in candidates]),
        weight,
    )
    if ranked is None:
        return candidates
    order, blended = ranked
    return [(candidates[k][0], float(blended[k])) for k in order]


class _Ranked(Sequence):
    """A category's first products as rerank() orders them, (id, score) pairs: only the pairs
    read (a page of them) are built, not one string per product of the whole head."""

    def __init__(self, ids: Sequence[str], n: int, ranked: tuple[np.ndarray, np.ndarray] | None):
        self._ids, self._n, self._ranked = ids, n, ranked

    def __len__(self) -> int:
        return self._n

    def _pair(self, k: int) -> tuple[str, float]:
        if self._ranked is None:
            return (self._ids[k], 0.0)
        order, blended = self._ranked
        at = int(order[k])
        return (self._ids[at], float(blended[at]))

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self._pair(k) for k in range(*i.indices(self._n))]
        if i < 0:
            i += self._n
        if not 0 <= i < self._n:
            raise IndexError(i)
        return self._pair(i)


def _listing_scope(req: Request) -> tuple[str, ...]:
    shared = tuple(f"{k}={req.page.get(k, '')}" for k in ("category", "query", "page"))
    return shared + (personal_scope(req) if has_taste(req) else ())


RERANK_TOP = 300  # a category's best sellers that the shopper's taste may reorder


def category_listing(req: Request) -> list[Pick]:
    """Every product of the category, page by page: its first RERANK_TOP best sellers in the
    shopper's order, then the rest as best sellers (only the page asked for is built, so a
    category of tens of thousands costs no more than a small one)."""
    slug = str(req.page.get("category", ""))
    ids = req.snap.catalog.by_category.get(slug, [])
    n = min(len(ids), RERANK_TOP)

    def indices() -> np.ndarray:
        return _head_rows(req.snap.model, ids, n)

    head = _Ranked(ids, n, _taste_order(req, n, indices, float(req.params.get("taste", 0.35))))
    reason = (
        "Ordered for you: best sellers, nudged by your taste"
        if has_taste(req)
        else "Best sellers first"
    )
    return page_of(req, head, reason, rest=ids)


def search_results(req: Request) -> list[Pick]:
    query = str(req.page.get("query", ""))
    hits = req.snap.catalog.search(query)
    ranked = rerank(req, hits, float(req.params.get("taste", 0.25)))
    reason = f"Matches “{query}”, ordered for you" if has_taste(req) else f"Matches “{query}”"
    return page_of(req, ranked, reason, kind="search")


def page_of(
    req: Request,
    ranked: list[tuple[str, float]],
    reason: str,
    rest: Sequence[str] = (),
    kind: str = "listing",
) -> list[Pick]:
    """This page of `ranked`; past its end, `rest` continues it (the ids after the first
    len(ranked), in their own order), and only the slice shown is read from it."""
    page = max(1, int(req.page.get("page", 1) or 1))
    start = (page - 1) * req.n
    window = list(ranked[start : start + req.n])
    if len(window) < req.n and len(rest) > len(ranked):
        at = max(start, len(ranked))
        window = window + [(p, 0.0) for p in rest[at : at + req.n - len(window)]]
    return [Pick(pid, s, reason, kind) for pid, s in window]


register(Strategy("category_listing", category_listing, _listing_scope, diverse=False))
register(Strategy("search_results", search_results, _listing_scope, diverse=False))
