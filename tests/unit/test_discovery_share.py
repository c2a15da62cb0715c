"""The for-you rail's discovery share: the store's fitted share unless the shop set one."""

from __future__ import annotations

import random

import pandas as pd

from recommender.models import ALSParams
from recommender.serving import Model
from recommender.split import make_split
from recommender.train import train
from storefront.config import load_settings
from storefront.core.compose import compose
from storefront.core.pipeline import explore_count
from storefront.core.plan import PagePlan
from storefront.core.ports import NoCache, NoExposures
from storefront.core.strategies.personal import discovery_share
from storefront.layouts import Layout, Slot
from storefront.rules.apply import Resolution


def test_the_fitted_share_serves_where_the_shop_configured_none():
    settings = load_settings(environ={})
    assert discovery_share(settings, 0.073) == 0.073
    assert discovery_share(settings, 0.3) == 0.3  # not capped by the default


def test_a_configured_share_wins_over_the_fitted_one_and_zero_turns_discovery_off():
    assert discovery_share(load_settings(environ={"STOREFRONT_EXPLORE_SHARE": "0.2"}), 0.07) == 0.2
    assert discovery_share(load_settings(environ={}, overrides={"explore_share": 0.0}), 0.07) == 0
    assert discovery_share(load_settings(environ={}), None) == 0.125  # nothing fitted: default


def test_a_fitted_share_below_one_slot_lands_on_average_not_always():
    """0.073 of a ten-tile rail is 0.73 discovery tiles per rail on average (seeded rounding),
    not one on every rail as the floor of one did before the redesign."""
    rng = random.Random(7)
    counts = [explore_count(10, 0.073, rng) for _ in range(4000)]
    assert set(counts) == {0, 1}
    assert abs(sum(counts) / len(counts) - 0.73) < 0.03


def _store() -> tuple[pd.DataFrame, pd.DataFrame]:
    """40 customers each buying from two of eight categories (five products each) every month
    of 2011; in December five new customers make a first order."""
    rows = []
    for c in range(40):
        cats = (c % 8, (c + 3) % 8)
        for m in range(1, 12):
            for k, cat in enumerate(cats):
                pid = f"c{cat}p{(c + m + k) % 5}"
                rows.append((f"o{c}-{m}", f"u{c}", pid, pd.Timestamp(2011, m, 1 + c % 25)))
    for c in range(5):
        rows.append((f"n{c}", f"new{c}", f"c{c}p0", pd.Timestamp(2011, 12, 2 + c)))
        rows.append((f"m{c}", f"u{c}", f"c{c % 8}p1", pd.Timestamp(2011, 12, 2 + c)))
    lines = pd.DataFrame(rows, columns=["invoice", "customer_id", "product_id", "ts"])
    lines = lines.assign(quantity=1, price=1.0, country="GB")
    products = pd.DataFrame({"id": sorted(lines["product_id"].unique())})
    return lines, products.assign(title=products["id"], category=products["id"].str[:2])


def test_discovery_reaches_shoppers_with_a_history_but_never_a_first_visit(tmp_path):
    """A configured share of one half: a known customer's rail of ten carries discovery
    tiles; a signed-in first visit (nothing bought, no session) gets the first-visit list
    as it is, with no "discovery" outside usual categories it does not have."""
    from storefront.core.replay import _catalog, _context, served_rail
    from storefront.core.snapshot import Snapshot

    lines, products = _store()
    split = make_split(lines, products, "2011-12-01")
    report = train(split.train_lines, split.data.item_ids, tmp_path, params=ALSParams(factors=4))
    snap = Snapshot(_catalog(split), Model(tmp_path / report.version))
    settings = load_settings(environ={}, overrides={"explore_share": 0.5})

    def kinds(customer_id: str) -> list[str]:
        ctx = _context(customer_id, "GB", [], split, settings)
        slot = Slot("for-you", "for_you", "For you", size=10, params={})
        plan = PagePlan(
            "home", Layout("home", (slot,)), "t", snap, Resolution(Layout("home", (slot,)))
        )
        composed = compose(plan, ctx, {}, settings, NoCache(), NoExposures())
        return [p.kind for c in composed for p in c.picks]

    known = kinds("u0")
    assert len(known) == 10 and known.count("discovery") >= 3
    first = kinds("someone-new")
    assert len(first) == 10 and "discovery" not in first
    assert served_rail(_context("someone-new", "GB", [], split, settings), snap, settings, {}, 10)
