"""The core's ports: what it needs from outside, as Protocols. Adapters (Redis, the app's
settings) live in the web layer and are passed in; tests pass the in-memory ones below."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol


class ExposureLedger(Protocol):
    """How often a visitor was shown (and engaged with) products: exposure back-off reads it."""

    def read(self, visitor_id: str, product_ids: Sequence[str]) -> Mapping[str, str]:
        """The ledger's fields for these products ("<pid>", "<pid>:e") and totals ("_s",
        "_e"); absent fields are left out. An unreachable ledger answers {}."""
        ...


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


class Clock(Protocol):
    def now(self) -> datetime: ...


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
