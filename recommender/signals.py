"""The ONE table of event weights: what a view, a click, a cart add or a purchase is worth.

Every weight is a fraction of one order of the product (a purchase is one order), and every user
of a shopper's signals reads it from here, so training, serving and traits cannot disagree:

- training: the event log and imported interactions add `order_equivalents` to the orders
  before the confidence transform (event_log.py, imported.py, dataset.build_interactions);
- fold-in: a session's signals are folded into the shopper's taste as the same order
  equivalents, then weighed up as recent (serving.Model.user_vector, SESSION_EMPHASIS);
- traits: category and price-band interest grows by the same weights (storefront/traits.py,
  which counts in `trait_points`: a view is one point, so ten views weigh like an order).

Ten views weigh like one order, and an add later removed cancels out. Impressions and searches
are not interactions with a product: they weigh nothing here.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

WEIGHTS: Mapping[str, float] = MappingProxyType(
    {
        "purchase": 1.0,
        "add_to_cart": 0.5,
        "remove_from_cart": -0.5,
        "click": 0.25,
        "view": 0.1,
    }
)

# The types that show interest in a product (a positive weight): what traits and the exposure
# ledger count as engagement.
ENGAGEMENTS: frozenset[str] = frozenset(kind for kind, w in WEIGHTS.items() if w > 0)

# A session is what the shopper wants now: at fold-in its signals' confidence counts this many
# times what the same evidence would count in the trained history.
SESSION_EMPHASIS = 2.0


def order_equivalents(kind: str) -> float:
    """How much of one order a signal of this kind is worth; 0.0 for a kind not in the table
    (an impression, a search, a type this version does not know)."""
    return WEIGHTS.get(kind, 0.0)


def trait_points(kind: str) -> float:
    """The same weight in the traits' unit, where a view is one point (traits' thresholds and
    the traits hashes already stored in Redis count in views)."""
    return order_equivalents(kind) / WEIGHTS["view"]
