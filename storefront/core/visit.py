"""A visit: what holds from a visitor's first page until they stay away VISIT_IDLE seconds.

The arrival channel and campaign, and whether the visitor is new, returning or lapsed, are
decided on the visit's first page and hold for every later page of the visit: the second
page of a visit that came from an email link is still an email visit (its referrer is the
shop itself), and a first-time visitor stays "new" until the visit ends. A visit ends after
VISIT_IDLE seconds without a page; the next page starts a new one with its own arrival.

A new arrival tagged with UTM parameters that differ from the visit's also starts a new visit
(a second campaign link clicked within half an hour); an untagged referrer does not (a shopper
back from a payment provider or a search tab is still on the same visit).

Pure values: storefront/session.py keeps the fields in the visitor's record (`v:` fields of
`sf:visitor:<id>`, under its TTL) and storefront/context.py decides with `resolve`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from storefront.signals.channel import Channel

VISIT_IDLE = 30 * 60  # seconds without a page that end a visit
LAPSED_AFTER = 60 * 60 * 24 * 30  # a visitor unseen this long is lapsed (STOREFRONT_LAPSED_DAYS)
SEEN_EVERY = 60  # the visit's last-seen time is written at most once a minute (one write saved)
PREFIX = "v:"  # the visit's fields in the visitor's record


@dataclass(frozen=True)
class Visit:
    """The visit this request belongs to."""

    channel: Channel  # how the visit arrived: held for every page of it
    recency: str  # new | returning | lapsed, as of the visit's first page
    started: float  # epoch seconds
    seen: float  # the last page of it that was recorded
    fresh: bool = False  # this request began the visit: its fields are to be written


def recency_of(
    first_seen: float | None, last_seen: float | None, now: float, lapsed_after: float
) -> str:
    """new (never seen before this visit), returning, or lapsed (back after a long gap)."""
    if first_seen is None:
        return "new"
    if last_seen is not None and now - last_seen > lapsed_after:
        return "lapsed"
    return "returning"


def tagged(channel: Channel) -> bool:
    """Did the arrival carry UTM tags (rather than only a referrer)?"""
    return channel.kind == "campaign" or channel.medium is not None or channel.campaign is not None


def _same(a: Channel, b: Channel) -> bool:
    return (a.kind, a.source, a.medium, a.campaign) == (b.kind, b.source, b.medium, b.campaign)


STORED_MAX = 4096  # visits remembered per worker (LRU), by their exact fields


def stored(fields: Mapping[str, str]) -> Visit | None:
    """The visit kept in the visitor's record (its `v:` fields), or None (none, or unreadable).
    A pure function of the fields, remembered by them: every page of a visit reads the same
    fields, which change on its first page and on each last-seen write (at most once a minute)."""
    return _stored(tuple(fields.items()))


@lru_cache(maxsize=STORED_MAX)
def _stored(items: tuple[tuple[str, str], ...]) -> Visit | None:
    fields = dict(items)
    try:
        started, seen = float(fields[PREFIX + "start"]), float(fields[PREFIX + "seen"])
        kind, recency = fields[PREFIX + "kind"], fields[PREFIX + "recency"]
    except (KeyError, ValueError):
        return None
    channel = Channel(
        kind,
        fields.get(PREFIX + "source") or None,
        fields.get(PREFIX + "medium") or None,
        fields.get(PREFIX + "campaign") or None,
    )
    return Visit(channel, recency, started, seen)


def resolve(
    kept: Visit | None,
    arrival: Channel,
    now: float,
    first_seen: float | None,
    last_seen: float | None,
    new_visitor: bool,
    idle: float = VISIT_IDLE,
    lapsed_after: float = LAPSED_AFTER,
) -> Visit:
    """The visit of this request: the kept one while it lasts (its channel and recency),
    else a new one that takes this request's arrival and the visitor's recency now."""
    if (
        kept is not None
        and not new_visitor
        and now - kept.seen <= idle
        and not (tagged(arrival) and not _same(arrival, kept.channel))
    ):
        return kept
    recency = "new" if new_visitor else recency_of(first_seen, last_seen, now, lapsed_after)
    return Visit(arrival, recency, now, now, fresh=True)


def to_write(visit: Visit, now: float) -> dict[str, str]:
    """The fields to write for this page: all of a fresh visit's, else its last-seen time when
    it is older than SEEN_EVERY, else nothing."""
    if visit.fresh:
        c = visit.channel
        return {
            PREFIX + "kind": c.kind,
            PREFIX + "source": c.source or "",
            PREFIX + "medium": c.medium or "",
            PREFIX + "campaign": c.campaign or "",
            PREFIX + "recency": visit.recency,
            PREFIX + "start": f"{visit.started:.0f}",
            PREFIX + "seen": f"{now:.0f}",
        }
    if now - visit.seen >= SEEN_EVERY:
        return {PREFIX + "seen": f"{now:.0f}"}
    return {}
