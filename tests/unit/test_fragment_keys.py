"""Fragment cache keys hold exactly what each strategy depends on, plus model and rules versions."""

from __future__ import annotations

from datetime import UTC, datetime

from storefront.catalog import Catalog, CategoryInfo, Product
from storefront.context import Consent, Context
from storefront.fragments import fragment_key
from storefront.layouts import DEFAULTS, Slot
from storefront.model_holder import Snapshot
from storefront.session import SessionState
from storefront.signals import Location, local_time
from storefront.signals.channel import Channel
from storefront.strategies import Request

CATALOG = Catalog(
    [Product("A1", "RED MUG", "kitchen-dining", 2.5, None, 10)],
    [CategoryInfo("kitchen-dining", "Kitchen", 1)],
)


def ctx(visitor="v" * 22, country="GB", hour=9, version=0, device="desktop", history=True):
    when = datetime(2011, 12, 5, hour, 0, tzinfo=UTC)
    return Context(
        visitor_id=visitor,
        new_visitor=False,
        session=SessionState(visitor, views=("A1",), version=version),
        location=Location(country, None, None, None, None, "header"),
        time=local_time(when, country, "UTC", "Europe/London"),
        device=device,
        channel=Channel("direct"),
        consent=Consent() if history else Consent(False, False, "GPC"),
        recency="returning",
    )


def key_for(slot: Slot, c: Context, page=None, rules="r1", model="none") -> str:
    snap = Snapshot(CATALOG, None)
    k = fragment_key(slot, Request(c, snap, page or {}, slot.params, slot.size), rules, "f")
    assert k.endswith(f":m{model}:r{rules}")
    return k


def slot(page: str, slot_id: str) -> Slot:
    return next(s for s in DEFAULTS[page].slots if s.id == slot_id)


def test_personal_slots_depend_on_visitor_and_session_version():
    s = slot("home", "for-you")
    base = key_for(s, ctx())
    assert base.startswith("sf:frag:for-you:for_you:")
    assert key_for(s, ctx(version=1)) != base  # a click invalidates
    assert key_for(s, ctx(visitor="w" * 22)) != base  # never shared between visitors
    assert key_for(s, ctx(country="DE", hour=20)) == base  # but not split by country or time
    assert key_for(s, ctx(history=False)) != base  # opting out never reuses a personal entry


def test_trending_is_shared_by_country_and_daypart_only():
    s = slot("home", "trending")
    base = key_for(s, ctx())
    assert key_for(s, ctx(visitor="w" * 22, version=5)) == base
    assert key_for(s, ctx(country="DE")) != base
    assert key_for(s, ctx(hour=20)) != base  # evening, not morning
    assert "v" * 22 not in base


def test_similar_depends_on_the_product():
    s = slot("product", "similar")
    a = key_for(s, ctx(), page={"product_id": "A1"})
    assert key_for(s, ctx(visitor="w" * 22), page={"product_id": "A1"}) == a
    assert key_for(s, ctx(), page={"product_id": "B2"}) != a


def test_rules_and_model_versions_are_part_of_every_key():
    s = slot("home", "new-arrivals")
    assert key_for(s, ctx(), rules="r1") != key_for(s, ctx(), rules="r2")


def test_slot_parameters_change_the_key():
    s = slot("home", "trending")
    other = Slot(s.id, s.strategy, "Another title", s.size, s.template, {"x": 1})
    assert key_for(s, ctx()) != key_for(other, ctx())
