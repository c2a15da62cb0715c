"""One poll-and-swap holder for everything a worker serves from and swaps without a restart.

A `Versioned[T]` keeps one value (the published model and catalog, the published rules, the
running experiments) and, at most every `check_seconds`, asks a cheap `probe` for the current
version (a stat, one indexed row); only when the version differs does it call `load`. The swap
is one reference assignment of an immutable (version, value) pair, so a reader never sees a
value of one version paired with another version's label.

Safe under threads and gevent greenlets (gevent patches `threading.Lock`): one caller refreshes
while the others keep serving the value they have; only the very first load makes callers
wait. No Flask here: the web layer reads each holder once per request (storefront/holders.py).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

from storefront.core import bounded

log = logging.getLogger(__name__)
T = TypeVar("T")
_UNSET = object()


@dataclass(frozen=True)
class Current(Generic[T]):
    """A value and the version it was loaded for, swapped together."""

    version: Hashable
    value: T


class Versioned(Generic[T]):
    """`probe() -> version` every `check_seconds`; `load(version, previous) -> value` when the
    version changed (`previous`: the Current it replaces, or None, so a loader can reuse what
    did not change). A probe or load that fails keeps the value held (and is retried after the
    interval); with nothing held yet, `fallback` serves if given, else the error propagates."""

    def __init__(
        self,
        name: str,
        probe: Callable[[], Hashable],
        load: Callable[[Hashable, Current[T] | None], T],
        check_seconds: float,
        fallback: T | object = _UNSET,
        errors: tuple[type[BaseException], ...] = (Exception,),
        clock: Callable[[], float] = time.monotonic,
        pinned_max: int = 4,
    ):
        self.name = name
        self.check_seconds = check_seconds
        self._probe = probe
        self._load = load
        self._fallback = fallback
        self._errors = errors
        self._clock = clock
        self._lock = threading.Lock()
        self._current: Current[T] | None = None
        self._next = 0.0
        self._pinned: OrderedDict[Hashable, T] = OrderedDict()
        self._pinned_max = pinned_max

    @property
    def current(self) -> Current[T] | None:
        """What is held now, without checking (None before the first load)."""
        return self._current

    def get(self) -> T:
        """The value for the newest version, checking at most every `check_seconds`."""
        held = self._current
        if held is not None and self._clock() < self._next:
            return held.value
        if held is not None:
            # someone else is refreshing: serve what we have rather than queue behind a load
            if not self._lock.acquire(blocking=False):
                return held.value
        else:
            self._lock.acquire()
        try:
            if self._current is None or self._clock() >= self._next:
                self._refresh()
            return self._current.value  # type: ignore[union-attr]
        finally:
            self._lock.release()

    def reload(self, force: bool = False) -> T:
        """Probe and (if the version changed, or `force`) load now: after a publish in this
        process, or an import the probe cannot see."""
        with self._lock:
            self._refresh(force)
            return self._current.value  # type: ignore[union-attr]

    def _refresh(self, force: bool = False) -> None:
        """Under the lock: probe, load on a change, schedule the next check."""
        held = self._current
        try:
            version = self._probe()
            if held is None or force or version != held.version:
                value = self._load(version, None if force else held)
                self._current = Current(version, value)
                log.info("%s: version %s in use", self.name, version)
        except self._errors as exc:
            if held is None and self._fallback is _UNSET:
                raise
            log.warning("%s: keeping what is held, could not refresh: %s", self.name, exc)
            if held is None:
                self._current = Current(None, self._fallback)  # type: ignore[arg-type]
        self._next = self._clock() + self.check_seconds

    def pinned(self, version: Hashable, load: Callable[[Hashable], T]) -> T:
        """The value of a given (not necessarily current) version, loaded once by `load` and
        kept among the last few asked for: QA snapshots and experiment arms pin versions."""
        with self._lock:
            found = self._pinned.get(version, _UNSET)
            if found is not _UNSET:
                self._pinned.move_to_end(version)
                return found  # type: ignore[return-value]
        found = load(version)  # outside the lock: a model load must not stall the shop
        with self._lock:
            bounded.put(self._pinned, version, found, self._pinned_max)
        return found
