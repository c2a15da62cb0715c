"""Deterministic bucketing: a stable hash of (experiment salt, visitor) picks the arm.

The same visitor lands in the same arm on every visit, on every worker, without storing
anything; a signed-in customer's devices share one visitor id (identity stitching), so they
share the arm of the device they first signed in on. Each experiment has its own salt, so arms
of different experiments are independent of each other.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

SCALE = 10_000


def bucket(salt: str, unit: str) -> int:
    """0..9999, uniform and stable for (salt, unit)."""
    digest = hashlib.blake2b(f"{salt}\x00{unit}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % SCALE


def choose(salt: str, unit: str, shares: Sequence[tuple[str, float]]) -> str:
    """The arm whose cumulative share covers this unit's bucket (shares sum to 1)."""
    b = bucket(salt, unit) / SCALE
    acc = 0.0
    for name, share in shares:
        acc += share
        if b < acc:
            return name
    return shares[-1][0]


def in_holdout(unit: str, share: float) -> bool:
    """The permanent holdout: this share of visitors always gets the non-personalized shop."""
    return share > 0 and bucket("storefront.holdout", unit) < share * SCALE
