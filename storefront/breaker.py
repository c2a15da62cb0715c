"""A circuit breaker for one backing service, probed off the request path.

A hung service (a stopped Redis: connects succeed, nothing answers) makes every call wait out
its timeout, and a page makes a dozen calls. The breaker opens on the first call that fails
with a connection error or a timeout; while it is open every call is refused at once, so a page
costs one short timeout, not twelve. A daemon thread then probes the service every
`probe_every` seconds with the caller's `probe` (which must bound its own wait) and closes the
breaker on the first success. Unlike a half-open state that lets a shopper's request try the
service (pybreaker's), no request ever pays for a probe.

Pure logic: the service and how to probe it are the caller's (redis_client.py).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


class Breaker:
    """Closed (calls go through) or open (calls refused until a probe succeeds)."""

    def __init__(self, name: str, probe: Callable[[], bool], probe_every: float = 0.25):
        self.name = name
        self.probe = probe
        self.probe_every = probe_every
        self.opened_at: float | None = None
        self.trips = 0  # how often it opened, for /healthz and the logs
        self._lock = threading.Lock()
        self._prober: threading.Thread | None = None
        self._pid = os.getpid()

    @property
    def is_open(self) -> bool:
        if self._pid != os.getpid():  # a forked child starts closed, with no prober of its own
            self._reset_after_fork()
        return self.opened_at is not None

    def open(self, reason: object) -> None:
        """A call failed: refuse the next ones and start probing (once)."""
        if self._pid != os.getpid():
            self._reset_after_fork()
        with self._lock:
            if self.opened_at is not None:
                return
            self.opened_at = time.monotonic()
            self.trips += 1
            self._prober = threading.Thread(
                target=self._probe_until_back, name=f"breaker-{self.name}", daemon=True
            )
            self._prober.start()
        log.warning("%s unavailable (%s): calls refused until it answers again", self.name, reason)

    def _probe_until_back(self) -> None:
        while True:
            time.sleep(self.probe_every)
            try:
                ok = self.probe()
            except Exception:  # a probe that raises is a failed probe
                ok = False
            if ok:
                with self._lock:
                    down = time.monotonic() - (self.opened_at or time.monotonic())
                    self.opened_at = None
                    self._prober = None
                log.warning("%s answers again after %.1f s", self.name, down)
                return

    def _reset_after_fork(self) -> None:
        self._lock = threading.Lock()
        self.opened_at = None
        self._prober = None
        self._pid = os.getpid()
