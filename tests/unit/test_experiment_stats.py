"""Bucketing is stable, balanced and independent; statistics match hand computation; specs
are refused with the field named."""

from __future__ import annotations

import math
import uuid
from collections import Counter

import pytest
from pydantic import ValidationError
from scipy import stats

from storefront.experiments.bucketing import bucket, choose, in_holdout
from storefront.experiments.stats import compare_means, compare_proportions, sample_size, wilson
from storefront.experiments.store import ExperimentSpec

IDS = [uuid.UUID(int=i * 7919 + 13).hex for i in range(100_000)]


def test_bucketing_is_stable_and_balanced():
    shares = [("a", 0.5), ("b", 0.25), ("c", 0.25)]
    counts = Counter(choose("experiment:x", v, shares) for v in IDS)
    expected = [50_000, 25_000, 25_000]
    chi = stats.chisquare([counts["a"], counts["b"], counts["c"]], expected)
    assert chi.pvalue > 0.001, counts
    assert all(
        choose("experiment:x", v, shares) == choose("experiment:x", v, shares) for v in IDS[:1000]
    )
    assert (
        0 <= min(bucket("s", v) for v in IDS[:1000]) and max(bucket("s", v) for v in IDS) < 10_000
    )


def test_experiments_are_independent_of_each_other():
    halves = [("a", 0.5), ("b", 0.5)]
    table = Counter(
        (choose("experiment:one", v, halves), choose("experiment:two", v, halves)) for v in IDS
    )
    observed = [[table[("a", "a")], table[("a", "b")]], [table[("b", "a")], table[("b", "b")]]]
    assert stats.chi2_contingency(observed).pvalue > 0.001


def test_holdout_share():
    share = sum(in_holdout(v, 0.05) for v in IDS) / len(IDS)
    assert abs(share - 0.05) < 0.003
    assert not any(in_holdout(v, 0.0) for v in IDS[:1000])


def test_two_proportions_by_hand():
    c = compare_proportions("ctr", 100, 1000, 130, 1000)
    pooled = 230 / 2000
    z = 0.03 / math.sqrt(pooled * (1 - pooled) * (2 / 1000))
    assert c.p_value == pytest.approx(2 * stats.norm.sf(z), rel=1e-9)
    se = math.sqrt(0.1 * 0.9 / 1000 + 0.13 * 0.87 / 1000)
    assert c.ci_low == pytest.approx(0.03 - 1.959964 * se, abs=1e-5)
    assert c.lift == pytest.approx(0.3)
    assert c.n_needed == sample_size(0.1)
    assert c.decision.startswith("keep running")  # 1,000 < the planned sample: no early call
    big = compare_proportions("ctr", 1500, 15000, 1950, 15000)
    assert big.decision == "treatment wins"


def test_sample_size_formula():
    p, q = 0.1, 0.11
    za, zb = stats.norm.ppf(0.975), stats.norm.ppf(0.8)
    assert sample_size(0.1) == math.ceil((za + zb) ** 2 * (p * (1 - p) + q * (1 - q)) / 0.01**2)


def test_wilson_and_welch():
    lo, hi = wilson(0, 50)
    assert lo == pytest.approx(0.0, abs=1e-12) and 0 < hi < 0.1
    c = compare_means("revenue_per_visitor", [0, 0, 10, 0, 5], [0, 12, 10, 8, 5])
    assert c.p_value == pytest.approx(
        stats.ttest_ind([0, 12, 10, 8, 5], [0, 0, 10, 0, 5], equal_var=False).pvalue
    )
    assert c.control == 3.0 and c.treatment == 7.0


def spec(**kw):
    base = {
        "id": "home-for-you",
        "name": "For you vs trending",
        "kind": "strategy",
        "page": "home",
        "slot": "for-you",
        "metric": "ctr",
        "arms": [
            {"name": "control", "share": 0.5, "value": "for_you"},
            {"name": "trending", "share": 0.5, "value": "trending_near_you"},
        ],
    }
    return ExperimentSpec(**{**base, **kw})


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"page": "nowhere"}, "page"),
        ({"slot": "nope"}, "slot"),
        (
            {
                "arms": [
                    {"name": "a", "share": 0.5, "value": "for_you"},
                    {"name": "b", "share": 0.4, "value": "for_you"},
                ]
            },
            "shares",
        ),
        (
            {
                "arms": [
                    {"name": "a", "share": 0.5, "value": "for_you"},
                    {"name": "b", "share": 0.5, "value": "no_such"},
                ]
            },
            "strategy",
        ),
        ({"metric": "happiness"}, "metric"),
        ({"id": "Bad Id!"}, "id"),
    ],
)
def test_specs_name_what_is_wrong(change, field):
    with pytest.raises(ValidationError) as err:
        spec(**change)
    assert field in str(err.value)
    assert spec().id == "home-for-you"
