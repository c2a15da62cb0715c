"""The page stamp (core/dependencies.page_stamp) says exactly what joining PAGE's parts says,
and every part it stands for changes it; the arms digest's memo answers by arms."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from storefront.core import dependencies
from storefront.core.context import Assignment, Consent, _arms_digest
from storefront.signals import Location, local_time
from storefront.signals.channel import Channel
from storefront.traits import Traits
from tests.unit.test_fragment_keys import ctx


def joined(c, model: str, rules: str) -> str:
    """The stamp as PAGE describes it: its parts in order, the versions after the fourth."""
    parts = [fn(c) for fn in dependencies.PAGE.values()]
    return "|".join((*parts[:4], model, rules, *parts[4:]))


SEGMENT = SimpleNamespace(id="xmas")  # the stamp reads only a segment's id
VARIANTS = {
    "session": lambda c: replace(c, session=replace(c.session, version=7)),
    "consent": lambda c: replace(c, consent=Consent(False, False, reason="Do Not Track")),
    "country": lambda c: replace(c, location=replace(c.location, country="DE")),
    "region": lambda c: replace(c, location=replace(c.location, region="BY")),
    "city": lambda c: replace(c, location=replace(c.location, city="Leeds")),
    "source": lambda c: replace(c, location=replace(c.location, source="geoip")),
    "channel": lambda c: replace(c, channel=Channel("campaign", "news", "email", "xmas")),
    "medium": lambda c: replace(c, channel=Channel("direct", None, "cpc")),
    "arms": lambda c: replace(c, experiments=Assignment(False, (("e1", "b"),))),
    "holdout": lambda c: replace(c, experiments=Assignment(True)),
    "traits": lambda c: replace(c, traits=Traits(muted=("toys",))),
    "segment": lambda c: replace(c, segment=SEGMENT),
    "recency": lambda c: replace(c, recency="lapsed"),
    "device": lambda c: replace(c, device="mobile"),
    "os": lambda c: replace(c, os="ios"),
    "live": lambda c: replace(c, live_epoch=3),
    "hour": lambda c: replace(
        c, time=local_time(datetime(2011, 12, 5, 10, 0, tzinfo=UTC), "GB", "UTC", "UTC")
    ),
    "timezone": lambda c: replace(
        c,
        time=local_time(datetime(2011, 12, 5, 9, 0, tzinfo=UTC), "GB", "Asia/Tokyo", "UTC"),
    ),
    "year 2": lambda c: replace(
        c, time=local_time(datetime(2, 12, 5, 9, 0, tzinfo=UTC), "GB", "UTC", "UTC")
    ),
}


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_the_written_out_stamp_is_the_page_description_and_moves_with_each_part(name):
    base = ctx()
    changed = VARIANTS[name](base)
    for c in (base, changed):
        assert dependencies.page_stamp(c, "m1", "r1") == joined(c, "m1", "r1")
    assert dependencies.page_stamp(changed, "m1", "r1") != dependencies.page_stamp(base, "m1", "r1")


def test_the_stamp_moves_with_the_versions_and_a_missing_place():
    c = ctx()
    base = dependencies.page_stamp(c, "m1", "r1")
    assert dependencies.page_stamp(c, "m2", "r1") != base
    assert dependencies.page_stamp(c, "m1", "r2") != base
    nowhere = replace(c, location=Location())
    assert dependencies.page_stamp(nowhere, "m1", "r1") == joined(nowhere, "m1", "r1")


def test_the_arms_digest_memo_answers_by_its_arms():
    a = Assignment(False, (("e1", "a"),))
    b = Assignment(False, (("e1", "b"),))
    assert a.digest() != b.digest()
    assert a.digest() == Assignment(False, (("e1", "a"),)).digest()
    assert Assignment(False, (("e1", "a"), ("e2", "a"))).digest() != a.digest()
    assert Assignment().digest() == ""
    assert _arms_digest.cache_info().maxsize == 1024
