"""The one poll-and-swap holder (storefront/versioned.py) behind the model, rules and
experiments: it probes at most once per interval, loads only on a new version, keeps what it
holds when the source fails, and loads once however many callers ask at once."""

from __future__ import annotations

import threading
import time

import pytest

from storefront.versioned import Versioned


class Source:
    """A version that tests move by hand, counting probes and loads."""

    def __init__(self):
        self.version = 1
        self.probes = 0
        self.loads = 0
        self.fail = False

    def probe(self):
        self.probes += 1
        if self.fail:
            raise OSError("source down")
        return self.version

    def load(self, version, previous):
        self.loads += 1
        return f"value-{version}"


def test_probes_once_per_interval_and_loads_only_a_new_version():
    src, now = Source(), [0.0]
    held = Versioned("t", src.probe, src.load, 5.0, clock=lambda: now[0])
    assert held.get() == "value-1" and (src.probes, src.loads) == (1, 1)
    src.version = 2
    assert held.get() == "value-1" and src.probes == 1  # within the interval: no probe
    now[0] = 5.0
    assert held.get() == "value-2" and (src.probes, src.loads) == (2, 2)
    now[0] = 10.0
    assert held.get() == "value-2" and (src.probes, src.loads) == (3, 2)  # same version
    src.version = 3
    assert held.reload() == "value-3"  # a publish in this process: at once
    assert held.reload(force=True) == "value-3" and src.loads == 4


def test_a_failing_source_keeps_what_is_held_or_serves_the_fallback():
    src, now = Source(), [0.0]
    held = Versioned("t", src.probe, src.load, 1.0, clock=lambda: now[0])
    assert held.get() == "value-1"
    src.fail, src.version, now[0] = True, 2, 1.0
    assert held.get() == "value-1"
    src.fail, now[0] = False, 2.0
    assert held.get() == "value-2"
    down = Source()
    down.fail = True
    assert Versioned("t", down.probe, down.load, 1.0, fallback="none").get() == "none"
    with pytest.raises(OSError):
        Versioned("t", down.probe, down.load, 1.0).get()


def test_the_previous_value_is_handed_to_the_loader():
    seen = []
    src = Source()

    def load(version, previous):
        seen.append(previous.version if previous else None)
        return version

    held = Versioned("t", src.probe, load, 0.0)
    held.get()
    src.version = 2
    held.get()
    assert seen == [None, 1]


def test_many_callers_at_once_load_once():
    src = Source()
    gate = threading.Event()

    def slow_load(version, previous):
        gate.wait(2)
        src.loads += 1
        return version

    held = Versioned("t", src.probe, slow_load, 60.0)
    out = []
    threads = [threading.Thread(target=lambda: out.append(held.get())) for _ in range(8)]
    for t in threads:
        t.start()
    time.sleep(0.05)
    gate.set()
    for t in threads:
        t.join()
    assert out == [1] * 8 and src.loads == 1


def test_pinned_versions_are_loaded_once_and_bounded():
    loads = []
    held = Versioned("t", lambda: 0, lambda v, p: v, 60.0, pinned_max=2)

    def load(v):
        loads.append(v)
        return f"pinned-{v}"

    assert held.pinned("a", load) == "pinned-a"
    assert held.pinned("a", load) == "pinned-a"
    held.pinned("b", load)
    held.pinned("c", load)  # "a" is the oldest: dropped
    held.pinned("a", load)
    assert loads == ["a", "b", "c", "a"]
