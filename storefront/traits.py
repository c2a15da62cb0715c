"""Lasting traits inferred from behaviour: category affinities, price band, and exclusions.

Scores decay with a three-week half-life without any background job: each signal is stored
multiplied by exp((t - EPOCH) / TAU), so older signals are worth relatively less, and reading
divides by the same factor for "now". Exclusions are the categories a shopper was shown again
and again and never engaged with: the shop stops pushing them. Silence is an answer only where
an answer was due: at the shopper's own engagement rate (storefront/exposure.py's, over every
tile they were shown) the category's showings should have drawn EXCLUSION_EXPECTED engagements.
One or two home pages of forty tiles each, seen by someone who has clicked little or nothing,
are not disinterest; nor is any category a signed-in customer has bought (Traits.sparing).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from functools import lru_cache

from recommender.signals import trait_points
from storefront.exposure import engagement_rate

EPOCH = 1735689600.0  # 2025-01-01T00:00:00Z
TAU = 21 * 86400 / math.log(2)  # a signal loses half its weight in three weeks
# a signal's weight is the one table's (recommender/signals.py, as training and fold-in read it),
# counted in views: a view is one point, an order ten; the thresholds below count in points
AFFINITY_MIN_SHARE = 0.15  # a category is a trait when it holds this share of the interest…
AFFINITY_MIN_WEIGHT = 2.0  # …and there is at least this much evidence in all
BAND_MIN_SHARE = 0.5
BAND_MIN_WEIGHT = 3.0
EXCLUSION_SHOWN = 12  # shown at least this often in a category…
EXCLUSION_ENGAGED = 0  # …with no more engagement than this…
EXCLUSION_EXPECTED = 2.0  # …where the shopper's own rate predicted this many: not interested


def growth(now: float) -> float:
    return math.exp((now - EPOCH) / TAU)


@dataclass(frozen=True)
class Traits:
    """What the shop believes about a shopper, after their own corrections."""

    affinities: tuple[tuple[str, float], ...] = ()  # (category slug, share), strongest first
    price_band: str | None = None
    exclusions: tuple[str, ...] = ()  # categories never engaged with despite many exposures
    muted: tuple[str, ...] = ()  # categories the shopper muted themselves
    evidence: float = 0.0  # total decayed weight behind the affinities

    @property
    def avoid(self) -> frozenset[str]:
        """Categories kept off this shopper's rails."""
        return frozenset(self.muted) | frozenset(self.exclusions)

    def sparing(self, categories: frozenset[str] | set[str]) -> Traits:
        """These traits without exclusions of `categories` (what a customer has bought: a
        purchase history is interest, whatever a few unclicked tiles say)."""
        kept = tuple(c for c in self.exclusions if c not in categories)
        return self if kept == self.exclusions else replace(self, exclusions=kept)

    def digest(self) -> str:
        """What changes the shared rails for this shopper; empty for most shoppers."""
        if not self.muted and not self.exclusions:  # most shoppers, on every page's stamp
            return ""
        return ".".join(sorted(self.avoid))


@dataclass(frozen=True)
class TraitSignal:
    category: str
    band: str
    weight: float = field(default=1.0)


def infer(raw: dict[str, str], prefs: dict[str, str], now: float | None = None) -> Traits:
    """Read the traits hash (see events) into Traits, honouring the shopper's corrections."""
    if not raw and not prefs:  # no history, no corrections: most visitors, on every page
        return NO_TRAITS
    now = time.time() if now is None else now
    scale = 1.0 / growth(now)
    parsed = _parsed(tuple(raw.items()), tuple(prefs))
    aff = {cat: v * scale for cat, v in parsed.affinities}
    bands = {band: v * scale for band, v in parsed.bands}
    dropped, muted = parsed.dropped, parsed.muted
    total = sum(aff.values())
    affinities: list[tuple[str, float]] = []
    if total >= AFFINITY_MIN_WEIGHT:
        for cat, w in sorted(aff.items(), key=lambda kv: -kv[1]):
            share = w / total
            kept = f"affinity:{cat}" not in dropped and cat not in muted
            if share >= AFFINITY_MIN_SHARE and kept:
                affinities.append((cat, round(share, 3)))
    band = None
    band_total = sum(bands.values())
    if band_total >= BAND_MIN_WEIGHT and "price_band" not in dropped:
        best, w = max(bands.items(), key=lambda kv: kv[1])
        if w / band_total >= BAND_MIN_SHARE:
            band = best
    return Traits(tuple(affinities[:3]), band, parsed.exclusions, muted, round(total, 3))


# what infer gives for an empty hash and no corrections (an evidence of 0 as sum() of none)
NO_TRAITS = Traits((), None, (), (), 0)


@dataclass(frozen=True)
class _Parsed:
    """What a traits hash and the shopper's corrections say before the clock is applied."""

    affinities: tuple[tuple[str, float], ...]  # (category, stored weight), as stored
    bands: tuple[tuple[str, float], ...]
    dropped: frozenset[str]
    muted: tuple[str, ...]
    exclusions: tuple[str, ...]


PARSED_MAX = 4096  # traits hashes remembered per worker (LRU): a visitor's changes on a click


@lru_cache(maxsize=PARSED_MAX)
def _parsed(raw: tuple[tuple[str, str], ...], prefs: tuple[str, ...]) -> _Parsed:
    """The clock-free part of infer, by the exact hash fields (in their order) and the names
    of the shopper's corrections (infer reads no value of theirs): every page reads the same
    hash until a click changes it, and only the decay depends on the time."""
    dropped = {k[5:] for k in prefs if k.startswith("drop:")}
    return _Parsed(
        affinities=tuple((k[2:], float(v)) for k, v in raw if k.startswith("a:")),
        bands=tuple((k[2:], float(v)) for k, v in raw if k.startswith("b:")),
        dropped=frozenset(dropped),
        muted=tuple(sorted(k[5:] for k in prefs if k.startswith("mute:"))),
        exclusions=_exclusions(dict(raw), dropped),
    )


def _exclusions(raw: dict[str, str], dropped: set[str]) -> tuple[str, ...]:
    """Categories shown often enough, at this shopper's engagement rate, that silence means
    "not interested" (see the module's docstring)."""
    shown = {k[3:]: int(float(v)) for k, v in raw.items() if k.startswith("cs:")}
    engaged = {k[3:]: int(float(v)) for k, v in raw.items() if k.startswith("ce:")}
    rate = engagement_rate(sum(shown.values()), sum(engaged.values()))
    exclusions = [
        cat
        for cat, n in shown.items()
        if n >= EXCLUSION_SHOWN
        and engaged.get(cat, 0) <= EXCLUSION_ENGAGED
        and n * rate >= EXCLUSION_EXPECTED
        and f"exclusion:{cat}" not in dropped
    ]
    return tuple(sorted(exclusions))


def signal_fields(kind: str, category: str, band: str, now: float) -> dict[str, float]:
    """Increments to the traits hash for one engagement (HINCRBYFLOAT each)."""
    w = trait_points(kind)
    if w <= 0:
        return {}
    g = w * growth(now)
    return {f"a:{category}": g, f"b:{band}": g}
