"""Default page layouts: which slots each page type shows, in order, before any rule applies.

A layout is data, not code, so the merchandisers' rules (the studio) can add, remove, reorder and
re-parameterise slots without touching a template.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache
from typing import Any

PAGE_TYPES = ("home", "category", "product", "search", "cart")
# every strategy a slot may name (the strategies' registry has exactly these: a unit test says
# so); data, so that checking a name needs no import of the strategies themselves
STRATEGY_NAMES = frozenset(
    {
        "because_you_viewed",
        "buy_again",
        "cart_complements",
        "category_listing",
        "category_top",
        "for_you",
        "new_arrivals",
        "order_complements",
        "owned_complements",
        "recently_viewed",
        "search_results",
        "seasonal",
        "similar",
        "trending_near_you",
    }
)


@dataclass(frozen=True)
class Slot:
    id: str  # stable name, used in data-slot, cache keys and events
    strategy: str
    title: str
    size: int = 8  # products on a desktop
    template: str = "rail"  # fragments/<template>.html
    params: dict[str, Any] = field(default_factory=dict)
    compact: bool = True  # shown on phones too

    @cached_property
    def params_digest(self) -> str:
        """What the slot shows beyond its id and strategy (title, template, params), as a short
        digest: part of its fragment key and of its rendered HTML's memo key, computed once."""
        raw = json.dumps([self.title, self.template, self.params], sort_keys=True, default=str)
        return hashlib.blake2b(raw.encode(), digest_size=6).hexdigest()


@dataclass(frozen=True)
class Layout:
    page: str
    slots: tuple[Slot, ...]


DEFAULTS: dict[str, Layout] = {
    "home": Layout(
        "home",
        (
            Slot("buy-again", "buy_again", "Buy again"),  # signed-in customers with orders
            # beside "buy again", for you shows only products the customer has never ordered
            Slot("for-you", "for_you", "Recommended for you", params={"new_only": True}),
            Slot("because-you-viewed", "because_you_viewed", "Because you viewed"),
            Slot("goes-with", "owned_complements", "Goes with what you have", compact=False),
            Slot("trending", "trending_near_you", "Trending near you"),
            Slot("seasonal", "seasonal", "In season"),
            Slot("new-arrivals", "new_arrivals", "New arrivals", compact=False),
        ),
    ),
    "product": Layout(
        "product",
        (
            Slot("similar", "similar", "You may also like"),
            Slot("because-you-viewed", "because_you_viewed", "Because you viewed"),
            Slot("trending", "trending_near_you", "Trending near you", compact=False),
        ),
    ),
    "category": Layout(
        "category",
        (
            Slot("listing", "category_listing", "Products", size=24, template="grid"),
            Slot("for-you", "for_you", "Recommended for you", compact=False),
        ),
    ),
    "search": Layout(
        "search",
        (
            Slot("results", "search_results", "Results", size=24, template="grid"),
            Slot("for-you", "for_you", "You may also like"),
        ),
    ),
    "cart": Layout(
        "cart",
        (
            Slot("complements", "cart_complements", "Goes with your basket"),
            Slot("for-you", "for_you", "Recommended for you"),
        ),
    ),
    # the order confirmation (and its email): not a page type rules or experiments name, but
    # composed the same way, so site-wide hides and the page's de-duplication hold
    "order": Layout(
        "order",
        (Slot("goes-with-order", "order_complements", "Goes with what you just bought"),),
    ),
}


@lru_cache(maxsize=128)
def layout_for(page: str, compact: bool, rail_size: int, compact_size: int) -> Layout:
    """The default layout of a page type, shrunk for phones (fewer slots, shorter rails).
    Memoised (all of it is frozen): the same Slot objects on every page keep their cached
    params_digest, which keys the slot's fragment and its rendered HTML."""
    base = DEFAULTS[page]
    slots = []
    for slot in base.slots:
        if compact and not slot.compact:
            continue
        if slot.template == "rail":
            slot = replace(slot, size=compact_size if compact else rail_size)
        elif compact:
            slot = replace(slot, size=max(compact_size * 3, slot.size // 2))
        slots.append(slot)
    return Layout(page, tuple(slots))
