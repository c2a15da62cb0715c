"""Trait inference and exposure back-off (the page stages: tests/unit/test_pipeline.py)."""

from __future__ import annotations

from storefront import exposure
from storefront.traits import EXCLUSION_SHOWN, growth, infer, signal_fields

DAY = 86400.0
NOW = 1_780_000_000.0


def raw_from(signals: list[tuple[str, str, str, float]]) -> dict[str, str]:
    """(kind, category, band, when) -> the traits hash as events would have written it."""
    raw: dict[str, float] = {}
    for kind, cat, band, when in signals:
        for f, inc in signal_fields(kind, cat, band, when).items():
            raw[f] = raw.get(f, 0.0) + inc
    return {k: str(v) for k, v in raw.items()}


def test_affinities_come_from_behaviour_and_decay():
    # a cart add weighs five views (the one table, recommender/signals.py): six views lead it
    raw = raw_from(
        [("view", "christmas", "budget", NOW)] * 6 + [("add_to_cart", "kitchen-dining", "mid", NOW)]
    )
    t = infer(raw, {}, now=NOW)
    assert [c for c, _ in t.affinities] == ["christmas", "kitchen-dining"]
    assert abs(sum(s for _, s in t.affinities) - 1.0) < 1e-6
    assert t.price_band == "budget"
    # three weeks later the same signals weigh half as much: below the evidence bar
    old = raw_from([("view", "christmas", "budget", NOW)] * 3)
    assert infer(old, {}, now=NOW).affinities
    assert not infer(old, {}, now=NOW + 60 * DAY).affinities
    # a recent interest outweighs an older, larger one
    mixed = raw_from(
        [("view", "garden", "mid", NOW - 42 * DAY)] * 6 + [("view", "toys-games", "mid", NOW)] * 3
    )
    assert infer(mixed, {}, now=NOW).affinities[0][0] == "toys-games"


def test_decay_factor_halves_in_three_weeks():
    assert abs(growth(NOW + 21 * DAY) / growth(NOW) - 2.0) < 1e-9


def test_exclusions_need_many_exposures_and_no_engagement():
    # an engaged shopper (8 clicks in 83 tiles): 40 unanswered showings of bags are an answer
    raw = {
        "cs:bags-purses": "40",
        "cs:garden": "32",
        "ce:garden": "8",
        "cs:party": str(EXCLUSION_SHOWN - 1),
    }
    assert infer(raw, {}, now=NOW).exclusions == ("bags-purses",)


def test_one_or_two_home_pages_are_not_disinterest():
    """Two home pages of ~40 tiles, a click or none: their top category was once called
    uninteresting. At the shopper's own engagement rate no answer was due yet."""
    two_homes = {"cs:kitchen-dining": "30", "cs:home-decor": "30", "cs:christmas": "20"}
    assert infer(two_homes, {}, now=NOW).exclusions == ()
    clicked = two_homes | {"ce:home-decor": "2"}
    assert infer(clicked, {}, now=NOW).exclusions == ()
    # many more pages, clicks elsewhere, never this category: now it is an answer
    many = {"cs:kitchen-dining": "120", "cs:home-decor": "120", "ce:home-decor": "12"}
    assert infer(many, {}, now=NOW).exclusions == ("kitchen-dining",)


def test_what_a_customer_bought_is_never_called_uninteresting():
    many = {"cs:kitchen-dining": "120", "cs:home-decor": "120", "ce:home-decor": "12"}
    t = infer(many, {}, now=NOW)
    assert t.sparing(frozenset({"kitchen-dining", "christmas"})).exclusions == ()
    assert t.sparing(frozenset({"garden"})) == t


def test_the_shoppers_corrections_win():
    raw = raw_from([("view", "christmas", "budget", NOW)] * 5)
    raw["cs:bags-purses"] = "20"
    prefs = {
        "drop:affinity:christmas": "1",
        "drop:price_band": "1",
        "drop:exclusion:bags-purses": "1",
        "mute:garden": "1",
    }
    t = infer(raw, prefs, now=NOW)
    assert t.affinities == () and t.price_band is None and t.exclusions == ()
    assert t.muted == ("garden",) and t.avoid == {"garden"}
    assert t.digest() == "garden"


def test_back_off_threshold_adapts_to_the_shopper():
    newcomer = exposure.threshold(0, 0)
    eager = exposure.threshold(100, 40)
    browser = exposure.threshold(400, 2)
    assert eager < newcomer <= browser
    assert exposure.MIN_THRESHOLD <= eager and browser <= exposure.MAX_THRESHOLD
    ledger = {
        "_s": "100",
        "_e": "40",
        "A": str(eager),
        "B": str(eager),
        "B:e": "1",
        "C": str(eager - 1),
    }
    assert exposure.backed_off(ledger, ["A", "B", "C", "D"]) == {"A"}
