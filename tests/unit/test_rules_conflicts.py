"""Conflict detection: can two rules hold together, and do their effects contradict?"""

from __future__ import annotations

import pytest

from storefront.rules.conflicts import can_both_hold, conflicts_of, find_conflicts
from storefront.rules.schema import Rule
from tests.unit.rules_support import CATALOG, rule

PIN_A1 = {"pin": [{"product": "A1"}]}


@pytest.mark.parametrize(
    ("a", "b", "together"),
    [
        ({"device": "mobile"}, {"country": "FR"}, True),
        ({"device": "mobile"}, {"device": "desktop"}, False),
        ({"device": ["mobile", "tablet"]}, {"device": ["tablet", "desktop"]}, True),
        ({"page": "home"}, {"page": "cart"}, False),
        ({"country": "FR"}, {"not": {"country": "FR"}}, False),
        ({"country": "FR"}, {"not": {"country": "DE"}}, True),
        ({"daypart": "evening"}, {"not": {"daypart": ["morning", "afternoon", "evening"]}}, False),
        ({"weekend": True}, {"weekday": "monday"}, False),
        ({"weekend": True}, {"weekday": "sunday"}, True),
        ({"cart_value": {"min": 50}}, {"cart_value": {"max": 20}}, False),
        ({"cart_value": {"min": 10}}, {"not": {"cart_value": {"min": 5, "max": 100}}}, True),
        ({"cart_value": {"min": 10, "max": 50}}, {"not": {"cart_value": {"min": 5}}}, False),
        (
            {"dates": {"from": "2024-12-01", "to": "2024-12-10"}},
            {"dates": {"from": "2024-12-11"}},
            False,
        ),
        ({"holiday": True}, {"holiday": False}, False),
        ({"holiday": "Christmas Day"}, {"holiday": False}, False),
        ({"viewed_category": "party"}, {"viewed_category": "christmas"}, True),  # viewed both
        ({"viewed_category": "party"}, {"not": {"viewed_category": "party"}}, False),
        ({"any": [{"device": "mobile"}, {"country": "FR"}]}, {"device": "desktop"}, True),
        (
            {"any": [{"device": "mobile"}, {"country": "FR"}]},
            {"device": "desktop", "country": "DE"},
            False,
        ),
        ({"not": {"any": [{"device": "mobile"}, {"country": "FR"}]}}, {"country": "FR"}, False),
        ({"not": {"device": "mobile", "country": "FR"}}, {"device": "mobile"}, True),
        (
            {"not": {"device": "mobile", "country": "FR"}},
            {"device": "mobile", "country": "FR"},
            False,
        ),
    ],
)
def test_can_both_hold(a, b, together):
    ra, rb = rule("a", when=a, **PIN_A1), rule("b", when=b, **PIN_A1)
    assert can_both_hold(ra, rb) is together
    assert can_both_hold(rb, ra) is together


def test_schedules_that_do_not_overlap_never_conflict():
    def scheduled(name, start, end):
        return Rule.model_validate(
            {"name": name, "schedule": {"start": start, "end": end}, "then": PIN_A1}
        )

    a = scheduled("a", "2024-12-01T00:00", "2024-12-10T00:00")
    assert not can_both_hold(a, scheduled("b", "2024-12-10T00:00", "2024-12-20T00:00"))
    assert can_both_hold(a, scheduled("b", "2024-12-09T00:00", "2024-12-20T00:00"))


def messages(*rules) -> list[str]:
    return [c.message() for c in find_conflicts(list(rules), CATALOG)]


def test_pin_against_hide_says_who_wins():
    found = find_conflicts(
        [
            rule("Pin mug", 50, when={"device": "mobile"}, pin=[{"product": "A1"}]),
            rule(
                "Hide kitchen", 20, when={"country": "FR"}, hide={"categories": ["kitchen-dining"]}
            ),
        ],
        CATALOG,
    )
    assert len(found) == 1
    c = found[0]
    assert c.winner == "Pin mug" and "priority 50 over 20" in c.why
    assert "A1" in c.what and "kitchen-dining" in c.what
    assert c.rules == ("Hide kitchen", "Pin mug") and c.priorities == (20, 50)
    assert "'Hide kitchen' (priority 20) hides category kitchen-dining (Kitchen)" in c.what
    assert "'Pin mug' (priority 50) pins it: the pin wins" in c.what
    assert c.message().startswith("Hide kitchen (priority 20) and Pin mug (priority 50): ")


def test_a_hide_below_a_pin_is_overruled_and_a_hide_above_makes_the_pin_pointless():
    pin = rule("Pin mug", 50, pin=[{"product": "A1"}])
    low = rule("No mugs", 10, hide={"products": ["A1"]})
    [c] = find_conflicts([pin, low], CATALOG)
    assert c.winner == "Pin mug" and "A1 stays on the page" in c.what
    assert "product A1 (Red heart mug)" in c.what
    high = rule("No mugs", 90, hide={"products": ["A1"]})
    [c] = find_conflicts([pin, high], CATALOG)
    assert c.winner == "No mugs" and "priority 90 over 50" in c.why
    assert "so the pin of A1 by 'Pin mug' (priority 50) does nothing" in c.what


def test_a_hide_against_a_boost_and_an_added_slot():
    boost = rule("Party up", 50, boost=[{"category": "party"}])
    hide = rule("No party", 10, hide={"categories": ["party"]})
    [c] = find_conflicts([boost, hide], CATALOG)
    assert c.winner == "No party" and "a hide always wins over a boost" in c.why
    assert "so the boost of category party (Party) by 'Party up' (priority 50)" in c.what
    adds = rule(
        "Party rail",
        50,
        add=[
            {
                "id": "party-top",
                "strategy": "category_top",
                "title": "P",
                "params": {"category": "party"},
            }
        ],
    )
    [c] = find_conflicts([adds, hide], CATALOG)  # the added slot is its own: the hide stops there
    assert c.winner == "Party rail" and "but not in slot party-top" in c.what
    above = rule("No party", 90, hide={"categories": ["party"]})
    [c] = find_conflicts([adds, above], CATALOG)
    assert c.winner == "No party" and "slot party-top" in c.what and "stays empty" in c.what
    # a bury of a hidden category, or a hide of another category, is no contradiction
    assert not find_conflicts([rule("b", 50, bury=[{"category": "party"}]), hide], CATALOG)
    assert not find_conflicts([rule("b", 50, boost=[{"category": "christmas"}]), hide], CATALOG)


def test_two_rules_reordering_the_same_page():
    a = rule("a", 10, layout=["trending", "for-you"])
    b = rule("b", 10, move=[{"slot": "seasonal", "position": 1}])
    found = find_conflicts([a, b])
    assert found and found[0].winner == "a" and "names decide" in found[0].why
    assert messages(rule("x", layout=["trending"]), rule("y", layout=["for-you"]))
    both_first = messages(
        rule("x", move=[{"slot": "trending", "position": 1}]),
        rule("y", move=[{"slot": "seasonal", "position": 1}]),
    )
    assert any("both put a slot at #1" in m for m in both_first)


def test_rules_that_cannot_meet_do_not_conflict():
    assert not messages(
        rule("a", when={"device": "mobile"}, pin=[{"product": "A1"}]),
        rule("b", when={"device": "desktop"}, hide={"products": ["A1"]}),
    )


def test_other_contradictions():
    found = messages(
        rule("a", 20, set=[{"slot": "trending", "title": "Hot"}], boost=[{"category": "party"}]),
        rule(
            "b",
            10,
            set=[{"slot": "trending", "title": "Cold"}],
            bury=[{"category": "party"}],
            pin=[{"product": "A1", "position": 2}],
        ),
        rule("c", 5, pin=[{"product": "A1", "position": 1}], remove=["trending"]),
    )
    text = "\n".join(found)
    assert all("(priority " in m for m in found)
    assert "slot trending: title set to two different values" in text
    assert "category party is boosted by one and buried by the other" in text
    assert "product A1 pinned at two places" in text
    assert "slot trending is removed by one and placed or changed by the other" in text


def test_agreeing_rules_and_disabled_rules_are_quiet():
    assert not messages(rule("a", pin=[{"product": "A1"}]), rule("b", pin=[{"product": "A1"}]))
    off = Rule.model_validate(
        {"name": "off", "enabled": False, "then": {"hide": {"products": ["A1"]}}}
    )
    assert not messages(rule("a", pin=[{"product": "A1"}]), off)


def test_conflicts_of_the_rule_being_written():
    others = [
        rule("hide", 99, hide={"products": ["A1"]}),
        rule("quiet", pin=[{"product": "B1", "position": 3}]),
    ]
    draft = rule("new", 10, pin=[{"product": "A1"}])
    found = conflicts_of(draft, others, CATALOG)
    assert [(c.rules, c.winner) for c in found] == [(("hide", "new"), "hide")]
