"""Buy again ranks a customer's products the way a person would write them down."""

from __future__ import annotations

from recommender.repurchase import Owned, cadence, rank


def test_due_regulars_first_then_not_yet_due_then_one_offs():
    history = [
        Owned("NOT-DUE", orders=6, age_days=5, span_days=150),  # monthly, ordered last week
        Owned("DUE", orders=6, age_days=29, span_days=150),  # monthly, a month ago: due now
        Owned("ONCE", orders=1, age_days=10, span_days=0),  # bought once, recently
        Owned("LAPSED", orders=4, age_days=400, span_days=90),  # monthly, gone for a year
        Owned("WEEKLY", orders=10, age_days=8, span_days=63),  # weekly, due
    ]
    assert [o.product_id for o, _ in rank(history)] == [
        "WEEKLY",
        "DUE",
        "NOT-DUE",
        "ONCE",
        "LAPSED",
    ]


def test_interval_and_words():
    assert Owned("A", 6, 29, 150).interval_days == 30
    assert Owned("A", 1, 29, 0).interval_days is None
    assert cadence(7) == "about weekly" and cadence(30) == "about monthly"
    assert cadence(60) == "about every two months" and cadence(120) == "about every 4 months"


def test_often_and_lately_beats_due_and_ties_go_to_what_sells_now():
    history = [
        Owned("STAPLE", orders=8, age_days=12, span_days=200),  # often, lately, not yet due
        Owned("DUE-RARE", orders=2, age_days=60, span_days=60),  # twice, due now
        Owned("SAME-ORDER-A", orders=1, age_days=20, span_days=0),  # bought together, once
        Owned("SAME-ORDER-B", orders=1, age_days=20, span_days=0),
    ]
    trending = {"SAME-ORDER-B": 0.9, "SAME-ORDER-A": 0.1}.get
    assert [o.product_id for o, _ in rank(history, lambda p: trending(p, 0.0))] == [
        "STAPLE",
        "DUE-RARE",
        "SAME-ORDER-B",
        "SAME-ORDER-A",
    ]
