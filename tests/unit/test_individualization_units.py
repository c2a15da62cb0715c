"""Trait inference, exposure back-off, diversity, discovery bounds and one-page de-duplication."""

from __future__ import annotations

from storefront import exposure, policy
from storefront.catalog import Catalog, CategoryInfo, Product
from storefront.fragments import Rendered
from storefront.layouts import Slot
from storefront.pages import one_page_no_repeats
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
    raw = {
        "cs:bags-purses": str(EXCLUSION_SHOWN),
        "cs:garden": str(EXCLUSION_SHOWN),
        "ce:garden": "1",
        "cs:party": str(EXCLUSION_SHOWN - 1),
    }
    assert infer(raw, {}, now=NOW).exclusions == ("bags-purses",)


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


def catalog() -> Catalog:
    cats = ["a", "b", "c", "d"]
    products = [
        Product(f"{c}{i}", f"{c.upper()} {i}", c, 1.0 + i, None, 100 - i)
        for c in cats
        for i in range(10)
    ]
    return Catalog(products, [CategoryInfo(c, c.upper(), 10) for c in cats])


def test_diversity_caps_a_category_but_never_leaves_a_rail_short():
    cat = catalog()
    ranked = [f"a{i}" for i in range(8)] + ["b0", "c0"]
    rail = policy.diversify(cat, ranked, 8, 0.5)
    assert len(rail) == 8
    assert sum(p.startswith("a") for p in rail) <= 8  # filled from held-back ones only if needed
    assert rail[:6] == ["a0", "a1", "a2", "a3", "b0", "c0"]
    assert policy.diversify(cat, [f"a{i}" for i in range(8)], 4, 0.5) == ["a0", "a1", "a2", "a3"]


def test_discovery_is_bounded_seeded_and_outside_usual_categories():
    cat = catalog()
    popular = [p for p in cat.products]
    assert policy.explore_count(8, 0.125) == 1 and policy.explore_count(8, 0.0) == 0
    assert policy.explore_count(16, 0.25) == 4 and policy.explore_count(2, 0.5) == 0
    picks = policy.exploration(
        cat, popular, {"a", "b"}, frozenset({"c"}), set(), 2, policy.seeded_rng("v", 1)
    )
    assert len(picks) == 1 and picks[0].startswith("d")  # only d is neither usual nor avoided
    again = policy.exploration(
        cat, popular, {"a"}, frozenset(), set(), 2, policy.seeded_rng("v", 1)
    )
    assert again == policy.exploration(
        cat, popular, {"a"}, frozenset(), set(), 2, policy.seeded_rng("v", 1)
    )
    assert len({p[0] for p in again}) == 2  # two different categories
    placed = policy.insert_at_seeded_positions(list("abcdefg"), ["X"], policy.seeded_rng(3))
    assert placed.index("X") >= 3 and len(placed) == 8


def test_personal_discovery_takes_the_models_best_from_new_categories_first():
    cat = catalog()
    ranked = ["a0", "b0", "d1", "d0", "c0", "b1"]
    picks = policy.personal_exploration(cat, ranked, {"a", "b"}, frozenset({"c"}), set(), 2)
    assert picks == ["d1"]  # best first, one per category, never usual or avoided
    assert policy.personal_exploration(cat, ranked, {"a"}, frozenset(), {"b0"}, 2) == ["d1", "c0"]


def tile(pid: str) -> str:
    return (
        f'<!--t:{pid}--><li class="tile" data-product-id="{pid}">\n  <a href="/p/{pid}">x</a>\n'
        f'  <details class="why"><summary>Why this?</summary><p>r</p></details>\n</li><!--/t-->\n'
    )


def section(slot_id: str, pids: list[str]) -> str:
    return (
        f'<section data-slot="{slot_id}"><ul class="rail">\n'
        + "".join(tile(p) for p in pids)
        + "</ul></section>"
    )


def test_one_page_no_repeats_fills_from_spares_and_cuts_to_size():
    first = Rendered(Slot("one", "s", "One", size=3), section("one", ["A", "B", "C", "D"]), False)
    second = Rendered(
        Slot("two", "s", "Two", size=3), section("two", ["B", "E", "A", "F", "G"]), False
    )
    third = Rendered(Slot("three", "s", "Three", size=3), section("three", ["A", "B"]), False)
    out = one_page_no_repeats([first, second, third], {"Z"})
    import re

    ids = [re.findall(r'data-product-id="([^"]+)"', r.html) for r in out]
    assert ids == [["A", "B", "C"], ["E", "F", "G"]]  # the third had nothing new: left out
    assert "</details>" in out[1].html and out[1].html.count("<li") == 3
