"""Statistics for experiments, with scipy: intervals, tests, and the sample size a decision needs.

Fixed horizon: the sample size per arm is computed up front from the control's rate and the
smallest lift worth detecting (MDE); before every arm reaches it the decision is "keep running",
whatever the p-value says, which guards against stopping early on noise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import stats

ALPHA = 0.05
POWER = 0.8
MDE = 0.10  # the smallest relative lift worth detecting


@dataclass(frozen=True)
class Comparison:
    metric: str
    control: float
    treatment: float
    lift: float | None  # relative
    ci_low: float  # of the absolute difference treatment - control
    ci_high: float
    p_value: float
    n_control: int
    n_treatment: int
    n_needed: int  # per arm, fixed horizon
    decision: str


def wilson(successes: int, n: int, alpha: float = ALPHA) -> tuple[float, float]:
    """Wilson score interval of a proportion (sane at 0 and small n)."""
    if n == 0:
        return (0.0, 1.0)
    z = stats.norm.ppf(1 - alpha / 2)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def sample_size(p: float, mde: float = MDE, alpha: float = ALPHA, power: float = POWER) -> int:
    """Per-arm n to detect a relative lift `mde` over rate p (two-sided)."""
    p = min(max(p, 1e-4), 0.9999)
    q = min(p * (1 + mde), 0.9999)
    za, zb = stats.norm.ppf(1 - alpha / 2), stats.norm.ppf(power)
    return math.ceil((za + zb) ** 2 * (p * (1 - p) + q * (1 - q)) / (q - p) ** 2)


def _decide(p_value: float, diff: float, n_c: int, n_t: int, needed: int) -> str:
    if min(n_c, n_t) < needed:
        return f"keep running: {min(n_c, n_t):,} of {needed:,} per arm"
    if p_value >= ALPHA:
        return "no significant difference at the planned sample size"
    return "treatment wins" if diff > 0 else "control wins"


def compare_proportions(metric: str, s_c: int, n_c: int, s_t: int, n_t: int) -> Comparison:
    """Two-proportion z-test (pooled) with a Wald interval of the difference."""
    p_c = s_c / n_c if n_c else 0.0
    p_t = s_t / n_t if n_t else 0.0
    diff = p_t - p_c
    if n_c and n_t:
        pooled = (s_c + s_t) / (n_c + n_t)
        se0 = math.sqrt(max(pooled * (1 - pooled) * (1 / n_c + 1 / n_t), 1e-12))
        p_value = float(2 * stats.norm.sf(abs(diff) / se0))
        se = math.sqrt(max(p_c * (1 - p_c) / n_c + p_t * (1 - p_t) / n_t, 1e-12))
    else:
        p_value, se = 1.0, float("inf")
    z = stats.norm.ppf(1 - ALPHA / 2)
    needed = sample_size(p_c if p_c > 0 else 0.01)
    return Comparison(
        metric,
        p_c,
        p_t,
        diff / p_c if p_c else None,
        diff - z * se,
        diff + z * se,
        p_value,
        n_c,
        n_t,
        needed,
        _decide(p_value, diff, n_c, n_t, needed),
    )


def compare_means(metric: str, control: list[float], treatment: list[float]) -> Comparison:
    """Welch's t-test for a per-visitor value (revenue), with its interval of the difference."""
    n_c, n_t = len(control), len(treatment)
    m_c = sum(control) / n_c if n_c else 0.0
    m_t = sum(treatment) / n_t if n_t else 0.0
    diff = m_t - m_c
    if n_c > 1 and n_t > 1:
        test = stats.ttest_ind(treatment, control, equal_var=False)
        p_value = float(test.pvalue) if not math.isnan(test.pvalue) else 1.0
        v_c = stats.tvar(control) if n_c > 1 else 0.0
        v_t = stats.tvar(treatment) if n_t > 1 else 0.0
        se = math.sqrt(v_c / n_c + v_t / n_t)
        dof = (
            se**4 / ((v_c / n_c) ** 2 / (n_c - 1) + (v_t / n_t) ** 2 / (n_t - 1)) if se > 0 else 1.0
        )
        t = stats.t.ppf(1 - ALPHA / 2, dof)
        sd = math.sqrt(v_c) if v_c > 0 else 1.0
        za, zb = stats.norm.ppf(1 - ALPHA / 2), stats.norm.ppf(POWER)
        effect = max(abs(m_c) * MDE, 1e-9)
        needed = math.ceil(2 * ((za + zb) * sd / effect) ** 2)
    else:
        p_value, se, t, needed = 1.0, float("inf"), 1.96, 2
    return Comparison(
        metric,
        m_c,
        m_t,
        diff / m_c if m_c else None,
        diff - t * se,
        diff + t * se,
        p_value,
        n_c,
        n_t,
        needed,
        _decide(p_value, diff, n_c, n_t, needed),
    )


@dataclass(frozen=True)
class Estimate:
    """A value with its 95% interval and the sample size behind it."""

    value: float
    low: float
    high: float
    n: int


def proportion(successes: int, n: int) -> Estimate:
    """A share of n units (visitors who bought): Wilson's interval."""
    low, high = wilson(successes, n)
    return Estimate(successes / n if n else 0.0, low, high, n)


def ratio(numerators: list[float], denominators: list[float]) -> tuple[Estimate, float]:
    """sum(numerators) / sum(denominators) over units (clicks / impressions per visitor) with
    the delta method's interval, which honours that one visitor's impressions are not
    independent (a Wilson interval over impressions would be too narrow); and its standard
    error."""
    n = len(numerators)
    total = sum(denominators)
    if n == 0 or total == 0:
        return Estimate(0.0, 0.0, 1.0, int(total)), float("inf")
    r = sum(numerators) / total
    if n < 2:
        return Estimate(r, 0.0, 1.0, int(total)), float("inf")
    mean_d = total / n
    residuals = [x - r * d for x, d in zip(numerators, denominators, strict=True)]
    se = math.sqrt(stats.tvar(residuals) / n) / mean_d if any(residuals) else 0.0
    z = stats.norm.ppf(1 - ALPHA / 2)
    return Estimate(r, max(0.0, r - z * se), min(1.0, r + z * se), int(total)), se


def mean(values: list[float]) -> Estimate:
    """A mean per unit (revenue per visitor) with Student's t interval."""
    n = len(values)
    m = sum(values) / n if n else 0.0
    if n < 2:
        return Estimate(m, float("-inf") if n else 0.0, float("inf") if n else 0.0, n)
    half = stats.t.ppf(1 - ALPHA / 2, n - 1) * math.sqrt(stats.tvar(values) / n)
    return Estimate(m, m - half, m + half, n)


def newcombe(a: Estimate, b: Estimate) -> tuple[float, float]:
    """Newcombe's hybrid score interval of the difference a - b of two proportions, from their
    Wilson intervals (sane near 0, where the Wald interval is not)."""
    d = a.value - b.value
    return (
        d - math.sqrt((a.value - a.low) ** 2 + (b.high - b.value) ** 2),
        d + math.sqrt((a.high - a.value) ** 2 + (b.value - b.low) ** 2),
    )
