"""Item policies applied to a strategy's candidates: the shopper's avoided categories, category
diversity in rails, exposure back-off, and a bounded, seeded share of discovery.

They run when a fragment is computed (a cache miss); everything they depend on is in the
fragment's key (the visitor and session version for personal rails, the avoided categories for
shared ones), so a cached rail never disagrees with them.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections import Counter
from collections.abc import Iterable, Sequence

from storefront.catalog import Catalog


def allowed(
    catalog: Catalog, pids: Iterable[str], avoid: frozenset[str], exclude: set[str]
) -> list[str]:
    """Products that exist, are not excluded, and are not in a category the shopper avoids."""
    out = []
    for pid in pids:
        p = catalog.get(pid)
        if p is None or pid in exclude or p.in_any(avoid):
            continue
        out.append(pid)
    return out


def diversify(catalog: Catalog, pids: Sequence[str], n: int, max_share: float) -> list[str]:
    """The first n products, with no category taking more than max_share of the rail.

    Products held back by the cap fill the rail only when nothing else is left."""
    cap = max(1, math.ceil(n * max_share))
    counts: Counter[str] = Counter()
    chosen: list[str] = []
    held: list[str] = []
    for pid in pids:
        cat = catalog.products[pid].category
        if counts[cat] < cap:
            chosen.append(pid)
            counts[cat] += 1
        else:
            held.append(pid)
        if len(chosen) >= n:
            return chosen
    return (chosen + held)[:n]


def seeded_rng(*parts: object) -> random.Random:
    digest = hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=8).digest()
    return random.Random(int.from_bytes(digest, "big"))


def explore_count(n: int, share: float) -> int:
    """How many discovery picks a rail of n gets: bounded by the share, at least one if any."""
    if share <= 0 or n < 3:
        return 0
    return max(1, math.floor(n * share))


def exploration(
    catalog: Catalog,
    popular: Sequence[str],
    usual: set[str],
    avoid: frozenset[str],
    exclude: set[str],
    k: int,
    rng: random.Random,
) -> list[str]:
    """k popular products from categories outside the shopper's usual ones (seeded choice)."""
    pool = [
        pid
        for pid in allowed(catalog, popular, avoid, exclude)
        if catalog.products[pid].category not in usual
    ]
    pool = pool[:60]
    if not pool or k <= 0:
        return []
    return _one_per_category(catalog, rng.sample(pool, len(pool)), k)


def _one_per_category(catalog: Catalog, pids: Sequence[str], k: int) -> list[str]:
    """The first k of pids, at most one from each category."""
    chosen: list[str] = []
    seen_cats: set[str] = set()
    for pid in pids:
        cat = catalog.products[pid].category
        if cat in seen_cats:
            continue
        chosen.append(pid)
        seen_cats.add(cat)
        if len(chosen) >= k:
            break
    return chosen


def personal_exploration(
    catalog: Catalog,
    ranked: Sequence[str],
    usual: set[str],
    avoid: frozenset[str],
    exclude: set[str],
    k: int,
) -> list[str]:
    """Up to k of a model's own ranked candidates from categories outside the shopper's usual
    ones, one per category, best first: discovery the model expects them to like."""
    fresh = [
        pid
        for pid in allowed(catalog, ranked, avoid, exclude)
        if catalog.products[pid].category not in usual
    ]
    return _one_per_category(catalog, fresh, k)


def insert_at_seeded_positions(base: list, extra: list, rng: random.Random) -> list:
    """Put discovery picks in the second half of a rail: never first, never all at the end."""
    out = list(base)
    for item in extra:
        lo = max(1, len(out) // 2)
        out.insert(rng.randint(lo, max(lo, len(out))), item)
    return out
