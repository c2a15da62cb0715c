"""One description of what a page and its slots depend on (core/dependencies.py): behind the
fragment keys, the page stamps and the discovery seed."""

from __future__ import annotations

from dataclasses import replace

from storefront import page_cache
from storefront.core import dependencies
from storefront.session import SessionState
from tests.unit.test_fragment_keys import ctx


def test_every_slot_dependency_is_a_page_dependency():
    assert set(dependencies.SHARED) <= set(dependencies.PAGE)


def test_the_page_stamp_changes_with_what_the_page_depends_on():
    base = page_cache.stamp(ctx(), "m1", "r1")
    assert base == dependencies.page_stamp(ctx(), "m1", "r1")
    assert page_cache.stamp(ctx(version=1), "m1", "r1") != base  # a click
    assert page_cache.stamp(ctx(), "m2", "r1") != base  # a new model
    assert page_cache.stamp(ctx(), "m1", "r2") != base  # a publish
    assert page_cache.stamp(ctx(hour=10), "m1", "r1") != base  # the next hour
    assert page_cache.stamp(ctx(device="mobile"), "m1", "r1") != base
    assert page_cache.stamp(ctx(visitor="w" * 22), "m1", "r1") == base  # the key has the visitor


def test_discovery_seed_under_a_snapshot_is_the_history_not_the_visitor():
    a = replace(ctx(visitor="a" * 22), seed="qa")
    b = replace(ctx(visitor="b" * 22), seed="qa")
    assert dependencies.discovery_seed(a) == dependencies.discovery_seed(b)
    other = replace(b, session=SessionState("b" * 22, views=("B2",)))
    assert dependencies.discovery_seed(other) != dependencies.discovery_seed(a)
    # live (no snapshot): per visitor, session version and day
    assert dependencies.discovery_seed(ctx(visitor="a" * 22)) != dependencies.discovery_seed(
        ctx(visitor="b" * 22)
    )
