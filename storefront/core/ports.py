"""The core's ports: what it needs from the outside world, as Protocols it can be handed.

Adapters implement them (Redis in storefront/session.py, the system clock below); the core
names only these. Each port is its own small definition, so ports added by other parts of the
core sit beside these ones without touching them.
"""

from __future__ import annotations

import time
from typing import Protocol, runtime_checkable

from storefront.core.context import SessionState


@runtime_checkable
class SessionReader(Protocol):
    """Reads a visitor's session state in one round trip; with `page_key`, the cached page for
    this request rides along (SessionState.cached_page). Never raises for a store that is down:
    the state comes back with available=False and the page degrades."""

    def read(self, visitor_id: str, page_key: str | None = None) -> SessionState: ...


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
