"""Applying matched rules: layouts, slot edits, priorities, pins, hides, boosts and buries."""

from __future__ import annotations

from storefront.core import pipeline
from storefront.core.pipeline import SlotWork
from storefront.core.strategies import Pick
from storefront.layouts import layout_for
from storefront.rules.apply import Sizing, resolve
from tests.unit.rules_support import CATALOG, rule

GIFTS = {
    "id": "gifts",
    "strategy": "category_top",
    "title": "Gifts",
    "params": {"category": "party"},
    "position": 1,
}


def home(compact: bool = False):
    return layout_for("home", compact, 8, 4)


def ids(resolution) -> list[str]:
    return [s.id for s in resolution.layout.slots]


def run(*rules, compact: bool = False):
    ordered = sorted(rules, key=lambda r: (-r.priority, r.name))
    return resolve("home", home(compact), ordered, Sizing(compact, 8, 4), CATALOG)


def test_no_rules_is_the_default_layout():
    assert run().layout == home()


def test_add_remove_move_and_set():
    r = run(
        rule(
            "r",
            add=[GIFTS],
            remove=["seasonal"],
            move=[{"slot": "trending", "position": 2}],
            set=[{"slot": "for-you", "title": "Just for you", "size": 6}],
        )
    )
    rest = [s.id for s in home().slots if s.id not in ("trending", "seasonal")]
    assert ids(r) == ["gifts", "trending", *rest]
    slots = {s.id: s for s in r.layout.slots}
    assert slots["gifts"].size == 8
    assert slots["gifts"].params == {"category": "party", "fixed_title": True}
    assert slots["for-you"].title == "Just for you" and slots["for-you"].size == 6


def test_phones_get_short_rails_for_added_slots():
    r = run(rule("r", add=[GIFTS]), compact=True)
    assert r.layout.slots[0].id == "gifts" and r.layout.slots[0].size == 4
    assert "new-arrivals" not in ids(r)


def test_layout_chooses_slots_and_order_and_overrules_lower_edits():
    chooser = rule("chooser", 50, layout=["trending", "gifts", "for-you"], add=[GIFTS])
    lower = rule("lower", 10, move=[{"slot": "for-you", "position": 1}])
    higher = rule("higher", 90, remove=["for-you"])
    r = run(chooser, lower, higher)
    assert ids(r) == ["trending", "gifts"]
    assert any(n.rule == "lower" and not n.applied for n in r.notes)


def test_higher_priority_wins_positions_and_settings():
    a = rule(
        "a",
        50,
        move=[{"slot": "seasonal", "position": 1}],
        set=[{"slot": "seasonal", "title": "A"}],
    )
    b = rule(
        "b",
        10,
        move=[{"slot": "trending", "position": 1}],
        set=[{"slot": "seasonal", "title": "B"}],
    )
    r = run(a, b)
    assert ids(r)[:2] == ["seasonal", "trending"]
    assert r.layout.slots[0].title == "A"


def test_ties_are_broken_by_name():
    a = rule("alpha", 10, set=[{"slot": "trending", "title": "alpha"}])
    b = rule("beta", 10, set=[{"slot": "trending", "title": "beta"}])
    assert {s.id: s.title for s in run(b, a).layout.slots}["trending"] == "alpha"


def test_a_higher_rule_moving_a_slot_brings_back_one_a_lower_rule_removed():
    r = run(
        rule("low", 10, remove=["seasonal"]),
        rule("high", 20, move=[{"slot": "seasonal", "position": 1}]),
    )
    assert ids(r)[0] == "seasonal"
    r = run(
        rule("low", 20, remove=["seasonal"]),
        rule("high", 10, move=[{"slot": "seasonal", "position": 1}]),
    )
    assert "seasonal" not in ids(r)


def test_pins_default_to_the_first_slot_and_the_higher_pin_wins():
    r = run(
        rule("a", 50, add=[GIFTS], pin=[{"product": "C1"}]),
        rule(
            "b", 10, pin=[{"product": "C1", "position": 3, "slot": "trending"}, {"product": "A2"}]
        ),
    )
    assert r.policies["gifts"].pins == (("C1", 1, "a"), ("A2", 1, "b"))
    assert r.policies["trending"].pins == ()


def test_pin_against_hide_goes_to_the_higher_rule():
    pin = {"pin": [{"product": "C1"}]}
    r = run(rule("pinner", 50, **pin), rule("hider", 10, hide={"categories": ["christmas"]}))
    p = r.policies[first_slot(r)]
    assert (
        p.pins == (("C1", 1, "pinner"),) and "C1" in p.exempt and "christmas" in p.hide_categories
    )
    r = run(rule("pinner", 10, **pin), rule("hider", 50, hide={"products": ["C1"]}))
    p = r.policies[first_slot(r)]
    assert p.pins == () and "C1" in p.hide_products


def test_boost_and_bury_of_one_attribute_goes_to_the_higher_rule():
    r = run(
        rule("a", 50, boost=[{"category": "party", "weight": 2}]),
        rule("b", 10, bury=[{"category": "party"}, {"price_band": "premium"}]),
    )
    assert r.policies["trending"].lifts == (("category", "party", 2), ("price_band", "premium", -1))


def picks(*pids: str) -> list[Pick]:
    return [Pick(p, 1.0, "strategy") for p in pids]


def applied(picks, policy, avoid=frozenset(), first_page=True) -> list[Pick]:
    """The pipeline's rule-effects stage, then its cut (a rail long enough for everything)."""
    ranked, pins = pipeline.rule_effects(picks, policy, CATALOG, avoid, first_page)
    return pipeline.cut(SlotWork("s", len(ranked) + len(pins), tuple(ranked), tuple(pins)))


def first_slot(resolution) -> str:
    return resolution.layout.slots[0].id


def policy(*rules):
    """The policy of the page's first slot (where a pin without a slot goes)."""
    r = run(*rules)
    return r.policies[first_slot(r)]


def test_item_policy_hides_lifts_then_pins():
    p = policy(
        rule(
            "r",
            hide={"products": ["A2"]},
            bury=[{"category": "kitchen-dining"}],
            boost=[{"tag": "heart"}],
            pin=[{"product": "C2", "position": 2}],
        )
    )
    out = applied(picks("A1", "A2", "B1", "B2", "C1"), p)
    # B2 (heart) first; A1 (heart, but kitchen buried: 1 - 1 = 0) keeps its place among equals
    assert [x.product_id for x in out] == ["B2", "C2", "A1", "B1", "C1"]
    assert out[1].reason == pipeline.PINNED_REASON
    assert (out[1].kind, out[1].rule) == ("pinned", "r") and out[0].kind == "boosted"


def test_newness_and_price_band_lifts():
    p = policy(rule("r", boost=[{"new_days": 10}], bury=[{"price_band": "budget"}]))
    out = applied(picks("A1", "B2", "C1", "A2"), p)
    # B2 and A2 first sold within 10 days of the newest product; bands are this catalog's
    # own (the cheaper half is budget): A1 (2.50) and B2 (1.00) are budget, so B2's lift
    # cancels and A1 goes last
    assert CATALOG.get("A1").band == "budget" and CATALOG.get("A2").band == "mid"
    assert [x.product_id for x in out] == ["A2", "B2", "C1", "A1"]


def test_pins_respect_the_shoppers_own_mutes_and_only_the_first_page():
    p = policy(rule("r", pin=[{"product": "C1"}]))
    assert [x.product_id for x in applied(picks("A1"), p, frozenset({"christmas"}))] == ["A1"]
    assert [x.product_id for x in applied(picks("A1"), p, first_page=False)] == ["A1"]
    assert [x.product_id for x in applied([], p)] == ["C1"]


def test_two_pins_for_one_position_keep_rank_order():
    p = policy(rule("a", 20, pin=[{"product": "C1"}]), rule("b", 10, pin=[{"product": "C2"}]))
    out = applied(picks("A1", "C2"), p)
    assert [x.product_id for x in out] == ["C1", "C2", "A1"]


def test_policy_digest_differs_by_policy():
    a = policy(rule("r", pin=[{"product": "C1"}]))
    b = policy(rule("r", pin=[{"product": "C2"}]))
    assert (
        a.digest() != b.digest()
        and a.digest() == policy(rule("r", pin=[{"product": "C1"}])).digest()
        # the winning rule's name is part of the policy: the tiles name it (data-rule)
        and a.digest() != policy(rule("x", pin=[{"product": "C1"}])).digest()
    )


def test_a_lower_rules_hide_never_empties_a_higher_rules_slot():
    """Issue #17: a lower-priority hide removed a higher-priority rule's slot."""
    r = run(
        rule("gifts", 50, add=[GIFTS]),
        rule("tidy", 10, hide={"categories": ["party"]}),
    )
    assert "party" not in r.policies["gifts"].hide_categories
    assert "party" in r.policies["trending"].hide_categories  # everywhere else it holds
    assert any(not n.applied and "slot gifts overruled by gifts" in n.text for n in r.notes)
    # a higher rule's hide still applies to a lower rule's slot
    r = run(rule("gifts", 10, add=[GIFTS]), rule("tidy", 50, hide={"categories": ["party"]}))
    assert "party" in r.policies["gifts"].hide_categories


def test_impact_compares_pins_and_every_slots_hides():
    from storefront.rules.impact import _compare

    live = run()
    draft = run(
        rule("gifts", 50, add=[GIFTS], pin=[{"product": "C1"}]),
        rule("t", 10, hide={"categories": ["party"]}),
    )
    kinds, details = _compare(live, draft)
    assert "products pinned" in kinds and "pins C1" in details
    assert "products hidden" in kinds and "hides party" in details
