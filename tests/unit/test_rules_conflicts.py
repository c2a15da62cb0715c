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
