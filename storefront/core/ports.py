"""The core's ports: what it needs from the outside world, as Protocols it can be handed.

Adapters implement them (Redis in storefront/session.py and storefront/ledger.py, the fragment
cache in storefront/fragments.py, the system clock below); the core names only these, and
tests pass the in-memory ones.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol, runtime_checkable

from storefront.core.context import SessionState


@runtime_checkable
class SessionReader(Protocol):
    """Reads a visitor's session state in one round trip; with `page_key`, the cached page for
    this request rides along (SessionState.cached_page); `ledger` "1" brings the exposure
    ledger along when it is small (with a page it comes as the store decides). Never raises
    for a store that is down: the state comes back with available=False and the page
    degrades."""

    def read(
        self, visitor_id: str, page_key: str | None = None, ledger: str = "0"
    ) -> SessionState: ...


@runtime_checkable
class Clock(Protocol):
    """Wall-clock seconds since the epoch: the real clock serves, a QA snapshot or a test pins
    it."""

    def now(self) -> float: ...


class SystemClock:
    """The real clock (the Clock adapter every worker uses)."""

    def now(self) -> float:
        return time.time()


class FixedClock:
    """A clock that reads one moment (a QA snapshot, a test)."""

    def __init__(self, at: float):
        self.at = at

    def now(self) -> float:
        return self.at


class ExposureLedger(Protocol):
    """How often a visitor was shown (and engaged with) products: exposure back-off reads it."""

    def read(self, visitor_id: str, product_ids: Sequence[str]) -> Mapping[str, str]:
        """The ledger's fields for these products ("<pid>", "<pid>:e") and totals ("_s",
        "_e"); absent fields are left out. An unreachable ledger answers {}."""
        ...


@dataclass(frozen=True)
class LiveTrend:
    """What shoppers of one country (or all) engaged with lately in one part of the day: the
    products by decayed weight, heaviest first, and the whole window's weight (in orders)."""

    items: tuple[tuple[str, float], ...] = ()
    weight: float = 0.0


class TrendWindow(Protocol):
    """The live window of "trending near you" (storefront/trending.py adapts it to Redis)."""

    def window(self, country: str | None, daypart: str, day: date, epoch: int) -> LiveTrend:
        """The window ending on `day` (the visitor's local date) as of refresh `epoch`; an
        unreachable store answers an empty window."""
        ...


class NoTrends:
    """A shop with no live traffic (replays, tests): the trained list serves."""

    def window(self, country: str | None, daypart: str, day: date, epoch: int) -> LiveTrend:
        return LiveTrend()


class FixedTrends:
    """A live window that reads the same for everyone (tests, a stated replay)."""

    def __init__(self, trend: LiveTrend):
        self.trend = trend

    def window(self, country: str | None, daypart: str, day: date, epoch: int) -> LiveTrend:
        return self.trend


class FragmentCache(Protocol):
    """Per-slot candidate lists, one MGET per page; a miss is computed and stored."""

    def mget(self, keys: Sequence[str]) -> list[str | None]: ...

    def set_many(self, values: Mapping[str, str], ttl: int) -> None: ...


class Settings(Protocol):
    """The settings the core reads (storefront.config.Settings satisfies it)."""

    rail_size: int
    compact_rail_size: int
    rail_category_share: float
    explore_share: float
    fragment_ttl: int
    store_timezone: str


class NoExposures:
    """The ledger of a shop that has shown nobody anything yet (replays, previews, tests)."""

    def read(self, visitor_id: str, product_ids: Sequence[str]) -> Mapping[str, str]:
        return {}


class NoCache:
    """A fragment cache that always misses and keeps nothing: previews and replays never
    read or pollute what shoppers get."""

    def mget(self, keys: Sequence[str]) -> list[str | None]:
        return [None] * len(keys)

    def set_many(self, values: Mapping[str, str], ttl: int) -> None:
        return None


class MemoryCache:
    """An in-process fragment cache (tests; the same contract as the Redis adapter)."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def mget(self, keys: Sequence[str]) -> list[str | None]:
        return [self.values.get(k) for k in keys]

    def set_many(self, values: Mapping[str, str], ttl: int) -> None:
        self.values.update(values)
