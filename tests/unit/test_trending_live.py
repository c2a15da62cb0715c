"""Trending near you follows the live window (core/strategies/popular.py, storefront/trending.py):
a window with enough weight leads the rail under a title that names the part of day; a thin
one leaves the trained lists, under a title that claims no time of day; every pick's reason
says which it is; the refresh epoch re-keys the rail and the page."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from storefront.config import Settings
from storefront.core.compose import compose
from storefront.core.dependencies import page_stamp, slot_key
from storefront.core.plan import PagePlan
from storefront.core.ports import FixedTrends, LiveTrend, NoCache
from storefront.core.strategies import Request
from storefront.layouts import Layout, Slot
from storefront.model_holder import Snapshot
from storefront.rules.apply import Resolution
from storefront.trending import merge
from tests.unit.test_fragment_keys import ctx
from tests.unit.test_pipeline import catalog

CAT = catalog()
SLOT = Slot("trending", "trending_near_you", "Trending near you", size=4)
# one product of each category, from the back of the best sellers (the rail's category cap
# would otherwise reorder them)
PIDS = list({p.category: p.id for p in reversed(list(CAT.products.values()))}.values())[:5]


def rail(trends, c=None):
    layout = Layout("home", (SLOT,))
    plan = PagePlan("home", layout, "r1", Snapshot(CAT, None), Resolution(layout, {}))
    (shown,) = compose(plan, c or ctx(hour=19), {}, Settings(), NoCache(), trends=trends)
    return shown


def test_a_live_window_with_weight_leads_the_rail_and_the_title_names_the_part_of_day():
    pids = PIDS
    live = LiveTrend(tuple((p, 10.0 - i) for i, p in enumerate(pids)), 40.0)
    shown = rail(FixedTrends(live))
    assert [p.product_id for p in shown.picks] == pids[:4]
    assert shown.title == "Trending in United Kingdom this evening"
    assert all(p.reason.startswith("Trending now:") for p in shown.picks)
    assert "shoppers in United Kingdom in recent evenings" in shown.picks[0].reason


def test_a_thin_window_leaves_the_trained_list_under_an_honest_title():
    pids = PIDS
    thin = LiveTrend(tuple((p, 0.1) for p in pids), 0.5)  # five views: below the least weight
    shown = rail(FixedTrends(thin))
    assert shown.title == "Popular in United Kingdom"  # no "this evening": it is not
    assert not any(p.reason.startswith("Trending now") for p in shown.picks)
    few = LiveTrend(tuple((p, 20.0) for p in pids[:2]), 40.0)  # weight, but two products
    assert rail(FixedTrends(few)).title == "Popular in United Kingdom"
    nowhere = replace(ctx(hour=19, country=None))
    assert rail(FixedTrends(thin), nowhere).title == "Popular with our customers"
    live = LiveTrend(tuple((p, 10.0) for p in pids), 50.0)
    assert rail(FixedTrends(live), nowhere).title == "Trending this evening"


def test_the_refresh_epoch_rekeys_the_rail_and_the_page():
    c = ctx(hour=19)
    later = replace(c, live_epoch=c.live_epoch + 1)
    snap = Snapshot(CAT, None)
    keys = [
        slot_key(SLOT, Request(x, snap, {}, SLOT.params, SLOT.size), "r1", "f") for x in (c, later)
    ]
    assert keys[0] != keys[1]
    assert page_stamp(c, "m", "r") != page_stamp(later, "m", "r")


def test_days_weigh_half_as_much_per_day_back():
    got = merge([[("a", 1.0)], [("b", 1.5)], [("a", 4.0), ("c", -1.0)]])
    assert got.items == (("a", 2.0), ("b", 0.75))  # 1 + 4/4; 1.5/2; a net removal drops out
    assert got.weight == 2.75
    assert merge([]).weight == 0.0
    assert date  # the window is read per the visitor's local date (integration tests)
