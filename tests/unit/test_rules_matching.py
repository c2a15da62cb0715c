"""Matching: every kind of condition against contexts, combinators, schedules, explanations."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from storefront.rules.matching import holds, matched, why
from storefront.rules.schema import Condition, Rule
from storefront.signals.channel import Channel
from storefront.traits import Traits
from tests.unit.rules_support import facts, rule

PIN = {"pin": [{"product": "A1"}]}


def cond(**data) -> Condition:
    return Condition.model_validate(data)


def test_the_example_rule_matches_mobile_france_evening_only():
    c = cond(page="home", device="mobile", country="FR", daypart="evening")
    assert holds(c, facts())
    assert not holds(c, facts(device="desktop"))
    assert not holds(c, facts(country="DE"))
    assert not holds(c, facts(when=datetime(2011, 12, 5, 9, 0, tzinfo=UTC)))  # morning
    assert not holds(c, facts(page="product", page_args={"product_id": "A1"}))


@pytest.mark.parametrize(
    ("condition", "kw", "expected"),
    [
        ({"country": ["fr", "be"]}, {}, True),  # case does not matter
        ({"country": "GB"}, {"country": None}, False),  # unknown location
        ({"weekday": "monday"}, {}, True),
        ({"weekend": True}, {}, False),
        ({"month": 12, "season": "winter"}, {}, True),
        ({"dates": {"from": "2011-12-01", "to": "2011-12-24"}}, {}, True),
        ({"dates": {"from": "2011-12-06"}}, {}, False),
        ({"holiday": True}, {"when": datetime(2011, 12, 25, 12, tzinfo=UTC)}, True),
        ({"holiday": "Christmas Day"}, {"when": datetime(2011, 12, 25, 12, tzinfo=UTC)}, True),
        ({"holiday": False}, {}, True),
        ({"upcoming_holiday": "christmas day"}, {}, True),
        ({"recency": ["new", "lapsed"]}, {"recency": "new"}, True),
        ({"viewed_category": "party"}, {"views": ("B1",)}, True),
        ({"viewed_category": "party"}, {"views": ("A1",)}, False),
        ({"viewed_product": "A1"}, {"views": ("A1",)}, True),
        ({"viewed_product": "a1"}, {"views": ("A1",)}, False),  # product ids keep their case
        ({"cart_value": {"min": 20}}, {"cart": {"C1": 1}}, True),
        ({"cart_value": {"min": 20.01}}, {"cart": {"C1": 1}}, False),
        ({"cart_items": {"max": 0}}, {}, True),
        ({"affinity": "party"}, {"traits": Traits(affinities=(("party", 0.6),))}, True),
        ({"price_band": "budget"}, {"traits": Traits(price_band="budget")}, True),
        ({"channel": "email"}, {"channel": Channel("email", "news", "email", "xmas")}, True),
        ({"utm_campaign": "XMAS"}, {"channel": Channel("email", "news", "email", "xmas")}, True),
        ({"utm_source": "news"}, {"channel": Channel("email", "news", "email", "xmas")}, True),
        ({"referrer": "google"}, {"channel": Channel("search", "www.google.fr")}, True),
        ({"utm_source": "www.google.fr"}, {"channel": Channel("search", "www.google.fr")}, False),
    ],
)
def test_leaf_conditions(condition, kw, expected):
    assert holds(cond(**condition), facts(**kw)) is expected


def test_page_arguments_are_facts():
    assert holds(cond(category="party"), facts(page="category", page_args={"category": "party"}))
    assert not holds(cond(category="party"), facts(page="home"))
    assert holds(cond(product="A1"), facts(page="product", page_args={"product_id": "A1"}))


def test_all_any_not_combine():
    c = cond(
        any=[{"country": "FR"}, {"country": "BE", "device": "desktop"}],
        **{"not": {"daypart": "night"}},
    )
    assert holds(c, facts())
    assert not holds(c, facts(country="BE"))  # BE needs desktop
    assert holds(c, facts(country="BE", device="desktop"))
    assert not holds(c, facts(when=datetime(2011, 12, 5, 23, 30, tzinfo=UTC)))
    assert holds(cond(all=[{"device": "mobile"}, {"not": {"country": "DE"}}]), facts())
    assert holds(Condition(), facts())  # no conditions: every request


def test_schedule_in_store_time_zone_start_included_end_excluded():
    r = Rule.model_validate(
        {
            "name": "Advent",
            "schedule": {"start": "2011-12-05T19:00", "end": "2011-12-05T20:00"},
            "then": PIN,
        }
    )
    # the store is in London; 19:30 UTC is 19:30 in London
    assert matched([r], facts(), "Europe/London") == [r]
    assert matched([r], facts(), "Europe/Paris") == []  # 20:30 in Paris: already over
    at_start = facts(when=datetime(2011, 12, 5, 19, 0, tzinfo=UTC))
    at_end = facts(when=datetime(2011, 12, 5, 20, 0, tzinfo=UTC))
    assert matched([r], at_start, "Europe/London") and not matched([r], at_end, "Europe/London")


def test_disabled_rules_never_match_and_winners_come_first():
    a = rule("a", 10, **PIN)
    b = rule("b", 50, **PIN)
    c = rule("c", 10, **PIN)
    off = Rule.model_validate({"name": "off", "enabled": False, "then": PIN})
    assert [r.name for r in matched([a, off, c, b], facts(), "UTC")] == ["b", "a", "c"]


def test_why_says_what_held_and_what_did_not():
    r = rule("r", when={"device": "mobile", "daypart": "morning"}, **PIN)
    ok, reasons = why(r, facts(), "UTC")
    assert not ok
    texts = {x.text: x.ok for x in reasons}
    assert texts["device is mobile (wants mobile)"] is True
    assert texts["daypart is evening (wants morning)"] is False
