"""The one compose (core/compose.py) with in-memory ports: one cache read per page, and a page
composed from cached candidates is the page composed from scratch."""

from __future__ import annotations

from dataclasses import replace

from storefront.config import Settings
from storefront.core.compose import compose
from storefront.core.plan import PagePlan
from storefront.core.ports import MemoryCache, NoCache
from storefront.layouts import Layout, Slot
from storefront.model_holder import Snapshot
from storefront.rules.apply import Resolution, SlotPolicy
from storefront.session import SessionState
from tests.unit.test_fragment_keys import ctx
from tests.unit.test_pipeline import catalog

CAT = catalog()
SLOTS = (
    Slot("recent", "recently_viewed", "Recently viewed", size=4),
    Slot("trending", "trending_near_you", "Trending", size=4),
    Slot("top", "category_top", "Top in C", size=4, params={"category": "c"}),
)


class CountingCache(MemoryCache):
    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    def mget(self, keys):
        self.reads += 1
        return super().mget(keys)


def plan(policies=None) -> PagePlan:
    layout = Layout("home", SLOTS)
    return PagePlan("home", layout, "r1", Snapshot(CAT, None), Resolution(layout, policies or {}))


def visitor():
    c = ctx()
    views = ("a0", "a1", "a2", "a3", "a4", "b0")
    return replace(c, session=SessionState(c.visitor_id, views=views, version=3))


def ids(composed) -> dict[str, list[str]]:
    return {c.slot.id: [p.product_id for p in c.picks] for c in composed}


def test_one_read_per_page_and_cached_pages_equal_fresh_ones():
    cache = CountingCache()
    fresh = compose(plan(), visitor(), {}, Settings(), NoCache())
    cold = compose(plan(), visitor(), {}, Settings(), cache)
    warm = compose(plan(), visitor(), {}, Settings(), cache)
    assert cache.reads == 2 and len(cache.values) == 3
    assert [c.hit for c in cold] == [False] * 3 and [c.hit for c in warm] == [True] * 3
    assert ids(fresh) == ids(cold) == ids(warm)
    shown = [p for pids in ids(warm).values() for p in pids]
    assert len(shown) == len(set(shown))  # once a page
    # the category share holds on the rail as cut: at most 2 of 4 from one category
    assert ids(warm)["recent"] == ["a0", "a1", "b0", "a2"]


def test_a_pin_keeps_its_slot_and_the_tile_names_its_rule():
    policy = SlotPolicy(pins=(("a0", 1, "Feature it"),))
    composed = compose(plan({"trending": policy}), visitor(), {}, Settings(), NoCache())
    by_slot = {c.slot.id: c.picks for c in composed}
    assert "a0" not in [p.product_id for p in by_slot["recent"]]  # the earlier slot gave it up
    first = by_slot["trending"][0]
    assert (first.product_id, first.kind, first.rule) == ("a0", "pinned", "Feature it")
