"""The pages' bound observe and inc (metrics.observer, metrics.incrementer) write the same
samples as prometheus_client's own observe and inc, in memory and in multiprocess files."""

from __future__ import annotations

import math

import pytest
from prometheus_client import CollectorRegistry, Counter, Histogram, values
from prometheus_client.multiprocess import MultiProcessCollector

from storefront import metrics

AMOUNTS = (
    0.0,
    -1.0,
    0.0004,
    0.0005,  # on a bound: that bucket (le is inclusive)
    0.00050001,
    0.003,
    0.01,
    5.0,
    5.5,
    1e9,
    math.inf,
    math.nan,  # in no bucket, as prometheus_client has it
)


def _samples(registry) -> list:
    out = []
    for family in registry.collect():
        for s in family.samples:
            if not s.name.endswith("_created"):
                value = "nan" if s.value != s.value else s.value
                out.append((s.name, tuple(sorted(s.labels.items())), value))
    return sorted(out)


def _fill(registry, fast: bool) -> None:
    h = Histogram("h", "h", ("page",), buckets=metrics.BUCKETS, registry=registry)
    c = Counter("c", "c", ("page",), registry=registry)
    child, counter = h.labels("home"), c.labels("home")
    observe = metrics.observer(child) if fast else child.observe
    inc = metrics.incrementer(counter) if fast else counter.inc
    for amount in AMOUNTS:
        observe(amount)
        inc()


def test_bound_observe_and_inc_write_what_prometheus_client_writes():
    slow, fast = CollectorRegistry(), CollectorRegistry()
    _fill(slow, fast=False)
    _fill(fast, fast=True)
    assert _samples(fast) == _samples(slow)
    assert len(_samples(fast)) == len(metrics.BUCKETS) + 1 + 2 + 1  # buckets, count, sum, total


def test_the_same_in_multiprocess_files(tmp_path, monkeypatch):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    found = {}
    for fast in (False, True):
        folder = tmp_path / str(fast)
        folder.mkdir()
        monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(folder))
        monkeypatch.setattr(values, "ValueClass", values.MultiProcessValue())
        _fill(None, fast)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(folder))
        found[fast] = _samples(registry)
    assert found[True] == found[False] and found[True]


def test_an_unknown_layout_falls_back_to_prometheus_client():
    class Child:
        def observe(self, amount):
            pass

        def inc(self, amount=1):
            pass

    child = Child()
    assert metrics.observer(child) == child.observe
    assert metrics.incrementer(child) == child.inc


@pytest.mark.parametrize("amount", [0.0005, 0.001, 4.9])
def test_a_bound_amount_lands_where_the_loop_puts_it(amount):
    slow, fast = CollectorRegistry(), CollectorRegistry()
    for registry, bound in ((slow, False), (fast, True)):
        child = Histogram("x", "x", buckets=metrics.BUCKETS, registry=registry)
        (metrics.observer(child) if bound else child.observe)(amount)
    assert _samples(fast) == _samples(slow)
