"""The holdout report's period and intervals (storefront/experiments/holdout.py, stats.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from storefront.experiments import holdout
from storefront.experiments.stats import mean, newcombe, proportion, ratio, wilson

NOW = datetime(2026, 12, 6, 10, 30, tzinfo=UTC)


def test_periods_last_days_and_dates():
    p = holdout.period(None, now=NOW)
    assert p.days == 30 and p.until > NOW.replace(tzinfo=None) and (p.until - p.since).days == 30
    p = holdout.period("7", now=NOW)
    assert p.first_day.isoformat() == "2026-11-29" and p.last_day.isoformat() == "2026-12-06"
    p = holdout.period(None, "2026-11-01", "2026-11-30", now=NOW)
    assert (p.since, p.until) == (datetime(2026, 11, 1), datetime(2026, 12, 1))
    assert p.label() == "2026-11-01 to 2026-11-30" and p.days is None
    assert holdout.period(None, "2026-12-01", None, now=NOW).last_day.isoformat() == "2026-12-06"
    assert holdout.period(None, None, "2026-11-30", now=NOW).first_day.isoformat() == "2026-11-01"


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("x", None, None), "days"),
        (("0", None, None), "days"),
        (("-3", None, None), "days"),
        ((str(holdout.MAX_DAYS + 1), None, None), "days"),
        ((None, "2026-02-30", None), "from"),
        ((None, None, "soon"), "to"),
        ((None, "2026-02-10", "2026-02-01"), "to"),
        ((None, "2000-01-01", "2026-01-01"), "from"),
        (("7", "2026-01-01", None), "days"),
    ],
)
def test_a_bad_period_names_its_field(args, field):
    with pytest.raises(holdout.PeriodError) as err:
        holdout.period(*args, now=NOW)
    assert err.value.field == field and str(err.value).startswith(f"{field}: ")


def test_the_ratio_interval_is_the_delta_method_and_covers_at_the_nominal_rate():
    """Simulated visitors with their own click rates: the delta interval of clicks/impressions
    covers the true rate about 95% of the time; a Wilson interval over impressions, which
    treats one visitor's impressions as independent, covers far less."""
    rng = np.random.default_rng(3)
    true, covered, naive, n_sims = 0.1, 0, 0, 400
    for _ in range(n_sims):
        imps = rng.integers(1, 40, size=300)
        rates = rng.beta(0.5, 4.5, size=300)  # mean 0.1, visitors differ a lot
        clicks = rng.binomial(imps, rates)
        est, _ = ratio(clicks.tolist(), imps.tolist())
        covered += est.low <= true <= est.high
        low, high = wilson(int(clicks.sum()), int(imps.sum()))
        naive += low <= true <= high
    assert 0.92 <= covered / n_sims <= 0.98
    assert naive / n_sims < 0.85
    est, se = ratio([1, 0, 2], [4, 5, 6])
    assert est.value == pytest.approx(3 / 15) and est.n == 15 and se > 0
    assert ratio([], [])[0].n == 0


def test_proportion_mean_and_newcombe():
    p = proportion(3, 12)
    assert p.value == 0.25 and 0 < p.low < 0.25 < p.high < 1 and p.n == 12
    m = mean([0.0, 0.0, 10.0, 2.0])
    assert m.value == 3.0 and m.low < 3.0 < m.high and m.n == 4
    a, b = proportion(30, 100), proportion(10, 100)
    low, high = newcombe(a, b)
    assert low < 0.2 < high and low > 0  # a clear difference excludes zero
    low, high = newcombe(proportion(0, 10), proportion(0, 12))
    assert low < 0 < high
