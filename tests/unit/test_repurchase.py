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
