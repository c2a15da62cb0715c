"""The Spark trainer's pure parts (no JVM): serving's fold-in equivalents of Spark's parameters,
factors back in the matrix's order, and a store too small to choose on keeping its start."""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recommender.spark_als import SparkALS, SparkParams, _factors, equivalent


def test_fold_in_equivalents_follow_spark_solve_for_a_typical_shopper():
    # three customers with 2, 4 and 4 products; confidences 1.5 and 3.0
    rows = [0, 0, 1, 1, 1, 1, 2, 2, 2, 2]
    cols = [0, 1, 0, 1, 2, 3, 1, 2, 3, 4]
    data = [1.5, 3.0, 3.0, 3.0, 3.0, 1.5, 3.0, 3.0, 1.5, 1.5]
    m = sp.csr_matrix((data, (rows, cols)), shape=(4, 5), dtype=np.float32)
    p = SparkParams(rank=16, reg_param=0.1, alpha=4.0, max_iter=7, seed=3)
    eq = equivalent(p, m)
    assert eq.factors == 16 and eq.iterations == 7 and eq.random_state == 3
    assert eq.regularization == 0.4  # regParam x the median 4 products a customer
    assert eq.alpha == round(4.0 + 1 / 3.0, 6)  # alpha + 1 / the median confidence


def test_factors_come_back_in_the_matrix_order_with_zeros_for_the_unseen():
    frame = pd.DataFrame({"id": [2, 0], "features": [[1.0, 2.0], [3.0, 4.0]]})
    out = _factors(frame, 4, 2)
    assert out.dtype == np.float32 and out.flags["C_CONTIGUOUS"]
    assert out.tolist() == [[3.0, 4.0], [0.0, 0.0], [1.0, 2.0], [0.0, 0.0]]


def test_a_store_too_small_to_validate_keeps_its_start_and_says_why():
    lines = pd.DataFrame(
        {
            "invoice": ["1", "2"],
            "product_id": ["a", "b"],
            "customer_id": ["c1", "c2"],
            "ts": pd.to_datetime(["2024-01-01", "2024-01-02"]),
        }
    )
    start = SparkParams(rank=8)
    spark = SparkALS("local[1]", start)
    choice = spark.choose(lines, None)
    assert choice.params == start and choice.fold_in is None and not choice.tried
    assert "Spark ALS" in choice.note
    assert spark.fits == 0 and spark._spark is None  # no JVM was started for it
