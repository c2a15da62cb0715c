"""The exposure ledger: how often each product was actually seen by a shopper, and engaged with.

Pressure has a threshold. A product shown again and again without engagement is backed off; the
threshold adapts to the shopper's own engagement rate: after n unanswered showings we would have
expected n × rate engagements, and once that expectation passes EXPECTED_MISSES the silence is
an answer. Eager clickers reach it sooner, window shoppers later; always within [MIN, MAX].
"""

from __future__ import annotations

import math

EXPECTED_MISSES = 1.5
MIN_THRESHOLD = 3
MAX_THRESHOLD = 12
PRIOR_SHOWN = 10.0  # a new shopper is assumed to engage with one in ten products seen
PRIOR_ENGAGED = 1.0
MAX_FIELDS = 4000  # the ledger is trimmed to its totals past this many fields


def engagement_rate(shown_total: int, engaged_total: int) -> float:
    return (engaged_total + PRIOR_ENGAGED) / (shown_total + PRIOR_SHOWN)


def threshold(shown_total: int, engaged_total: int) -> int:
    """Unanswered showings after which a product is backed off, for this shopper."""
    rate = engagement_rate(shown_total, engaged_total)
    return max(MIN_THRESHOLD, min(MAX_THRESHOLD, math.ceil(EXPECTED_MISSES / rate)))


def backed_off(ledger: dict[str, str], product_ids: list[str]) -> set[str]:
    """The products among `product_ids` this shopper has been shown too often in vain."""
    limit = threshold(int(ledger.get("_s", 0)), int(ledger.get("_e", 0)))
    out = set()
    for pid in product_ids:
        shown = int(ledger.get(pid, 0))
        if shown >= limit and int(ledger.get(f"{pid}:e", 0)) == 0:
            out.add(pid)
    return out
