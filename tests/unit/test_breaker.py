"""The circuit breaker (storefront/breaker.py): opens on a failure, stays open while its probe
fails, closes on the probe's first success, and never lets a request pay for probing."""

from __future__ import annotations

import os
import threading
import time
import warnings

from storefront.breaker import Breaker


def wait_for(condition, within: float = 2.0) -> float:
    t = time.perf_counter()
    while not condition():
        assert time.perf_counter() - t < within, "condition not met in time"
        time.sleep(0.005)
    return time.perf_counter() - t


def test_opens_on_a_failure_and_closes_when_the_probe_answers():
    up = threading.Event()
    probes: list[float] = []

    def probe() -> bool:
        probes.append(time.monotonic())
        return up.is_set()

    b = Breaker("test service", probe, probe_every=0.01)
    assert not b.is_open
    b.open("timeout")
    b.open("timeout again")  # already open: one prober, one trip
    assert b.is_open and b.trips == 1
    wait_for(lambda: len(probes) >= 3)
    assert b.is_open  # failing probes keep it open
    up.set()
    wait_for(lambda: not b.is_open)
    b.open("down again")
    assert b.is_open and b.trips == 2
    wait_for(lambda: not b.is_open)


def test_a_probe_that_raises_counts_as_down():
    calls = []

    def probe() -> bool:
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionError("refused")
        return True

    b = Breaker("test service", probe, probe_every=0.01)
    b.open("refused")
    wait_for(lambda: not b.is_open)
    assert len(calls) == 3


def test_a_forked_child_starts_closed():
    b = Breaker("test service", lambda: False, probe_every=10)
    b.open("down")
    r, w = os.pipe()
    with warnings.catch_warnings():  # a fork with a thread running is the case under test
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # the child: no prober thread came along, so it must not stay open forever
        os.write(w, b"1" if not b.is_open else b"0")
        os._exit(0)
    os.waitpid(pid, 0)
    assert os.read(r, 1) == b"1"
    assert b.is_open  # the parent's state is its own
