"""The visit (core/visit.py): the arrival and the recency hold for every page of a visit, a
visit ends after half an hour idle, and another campaign link starts a new one."""

from __future__ import annotations

from storefront.core.visit import LAPSED_AFTER, VISIT_IDLE, Visit, resolve, stored, to_write
from storefront.signals.channel import Channel, read_channel

EMAIL = read_channel(
    {"utm_source": "newsletter", "utm_medium": "email", "utm_campaign": "dec"}, None, "shop.test"
)
INTERNAL = read_channel({}, "http://shop.test/", "shop.test")
T0 = 1_765_000_000.0


def _kept(visit: Visit, at: float) -> Visit:
    """The visit as the next page reads it back from the visitor's record."""
    return stored(to_write(visit, at))


def test_the_second_page_of_an_email_visit_is_still_an_email_visit():
    first = resolve(None, EMAIL, T0, None, None, new_visitor=True)
    assert first.fresh and first.channel.kind == "email" and first.recency == "new"
    second = resolve(_kept(first, T0), INTERNAL, T0 + 120, T0, T0, new_visitor=False)
    assert not second.fresh
    assert second.channel == EMAIL and second.channel.campaign == "dec"
    assert second.recency == "new"  # a first-time visitor stays new for the whole visit


def test_a_visit_ends_after_half_an_hour_idle_and_the_next_takes_the_new_arrival():
    first = resolve(None, EMAIL, T0, None, None, new_visitor=True)
    later = resolve(_kept(first, T0), INTERNAL, T0 + VISIT_IDLE + 1, T0, T0, False)
    assert later.fresh and later.channel.kind == "internal"
    assert later.recency == "returning"
    still = resolve(_kept(first, T0), INTERNAL, T0 + VISIT_IDLE - 1, T0, T0, False)
    assert still.channel.kind == "email"


def test_another_campaign_link_starts_a_new_visit_a_plain_referrer_does_not():
    first = resolve(None, EMAIL, T0, None, None, new_visitor=True)
    social = read_channel({"utm_source": "fb", "utm_medium": "social"}, None, "shop.test")
    assert resolve(_kept(first, T0), social, T0 + 60, T0, T0, False).channel.kind == "social"
    search = read_channel({}, "https://www.google.com/", "shop.test")
    assert resolve(_kept(first, T0), search, T0 + 60, T0, T0, False).channel == EMAIL
    again = resolve(_kept(first, T0), EMAIL, T0 + 60, T0, T0, False)  # the same link reloaded
    assert not again.fresh


def test_returning_and_lapsed_hold_from_the_first_page():
    seen = T0 - 3 * 86400
    back = resolve(None, Channel("direct"), T0, T0 - 90 * 86400, seen, False)
    assert back.recency == "returning"
    assert resolve(_kept(back, T0), INTERNAL, T0 + 60, T0 - 90 * 86400, T0, False).recency == (
        "returning"
    )
    away = resolve(None, Channel("direct"), T0, T0 - 90 * 86400, T0 - LAPSED_AFTER - 1, False)
    assert away.recency == "lapsed"
    # the visit's first page wrote last_seen = now: the rest of the visit stays lapsed
    assert resolve(_kept(away, T0), INTERNAL, T0 + 60, T0 - 90 * 86400, T0, False).recency == (
        "lapsed"
    )
    short = resolve(
        None, Channel("direct"), T0, T0 - 10 * 86400, T0 - 5 * 86400, False, lapsed_after=2 * 86400
    )
    assert short.recency == "lapsed"  # the gap is configurable


def test_a_cookie_less_request_never_continues_a_kept_visit():
    first = resolve(None, EMAIL, T0, None, None, new_visitor=True)
    assert resolve(_kept(first, T0), INTERNAL, T0 + 5, None, None, new_visitor=True).fresh


def test_what_a_page_writes():
    first = resolve(None, EMAIL, T0, None, None, new_visitor=True)
    fields = to_write(first, T0)
    assert fields["v:kind"] == "email" and fields["v:campaign"] == "dec"
    kept = stored(fields)
    assert to_write(resolve(kept, INTERNAL, T0 + 10, T0, T0, False), T0 + 10) == {}
    assert to_write(resolve(kept, INTERNAL, T0 + 90, T0, T0, False), T0 + 90) == {
        "v:seen": f"{T0 + 90:.0f}"
    }
    assert stored({"v:kind": "email"}) is None  # a partial record is no visit
