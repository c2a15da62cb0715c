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


def test_product_intervals_are_the_median_of_the_customers_who_reordered():
    import numpy as np
    import scipy.sparse as sp

    from recommender.repurchase import product_intervals

    # 5 customers x 3 products; entries: (customer, product, orders, span days)
    entries = [
        (0, 0, 3, 20.0),  # every 10 days
        (1, 0, 2, 30.0),  # every 30
        (2, 0, 5, 40.0),  # every 10
        (3, 0, 1, 0.0),  # bought once: a buyer, not a re-orderer
        (0, 1, 2, 14.0),  # product 1: two re-orderers only, too few for a store interval
        (1, 1, 2, 28.0),
        (4, 2, 1, 0.0),
    ]
    rows, cols, orders, spans = zip(*entries, strict=True)
    m = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(5, 3))
    # the per-entry arrays in the matrix's own order
    order = np.lexsort((cols, rows))
    intervals, rebuyers, buyers = product_intervals(
        m.indptr, m.indices, np.asarray(orders)[order], np.asarray(spans)[order], 3
    )
    assert intervals[0] == 10.0 and rebuyers[0] == 3 and buyers[0] == 4
    assert np.isnan(intervals[1]) and rebuyers[1] == 2 and buyers[1] == 2
    assert np.isnan(intervals[2]) and rebuyers[2] == 0 and buyers[2] == 1
    strict = product_intervals(
        m.indptr, m.indices, np.asarray(orders)[order], np.asarray(spans)[order], 3, 2
    )[0]
    assert strict[1] == 21.0  # with two re-orderers enough: the median of 14 and 28
