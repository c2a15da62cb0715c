"""The for-you rail's discovery share: the store's fitted share unless the shop set one."""

from __future__ import annotations

import random

from storefront.config import load_settings
from storefront.core.pipeline import explore_count
from storefront.core.strategies.personal import discovery_share


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
