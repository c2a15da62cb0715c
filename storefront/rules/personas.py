"""Synthetic visitors for the studio: a context built from stated facts (who, where, when, on
what device and operating system, how they came, what they viewed) instead of from a request.
The preview renders pages for one; the impact report samples many from the shop's event log
(storefront/rules/visits.py).

A persona that states a device but no operating system gets a plausible one for the device
(PLAUSIBLE_OS: Android on a phone, iOS on a tablet, Windows on a desktop), so a rule on the
operating system behaves in the preview as it would for most such visitors; "unknown" states
that it is not known (as for visits from an event log that does not record it).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from storefront.context import Consent, Context, segment_of
from storefront.session import LAPSED_AFTER, SessionState
from storefront.signals import (
    Location,
    country_timezone,
    local_time,
    override_location,
    parse_override_time,
)
from storefront.signals.channel import read_channel
from storefront.signals.device import OPERATING_SYSTEMS

DEVICES = ("mobile", "tablet", "desktop", "bot")
# the operating system most visitors on each device have, for a persona that states none
PLAUSIBLE_OS = {"mobile": "android", "tablet": "ios", "desktop": "windows", "bot": "other"}


@dataclass(frozen=True)
class Persona:
    """Everything the studio lets a merchandiser state about a visit."""

    country: str | None = None
    device: str = "desktop"
    os: str | None = None  # one of OPERATING_SYSTEMS; None: plausible for the device
    when: str | None = None  # local ISO time in the country's zone; None: now
    customer: str | None = None  # a customer of the order history (signed in)
    recency: str = "new"  # new | returning | lapsed
    views: tuple[str, ...] = ()  # product ids, newest first
    cart: dict[str, int] = field(default_factory=dict)
    utm_source: str | None = None
    utm_campaign: str | None = None
    utm_medium: str | None = None
    referrer: str | None = None

    def visitor_id(self) -> str:
        """Stable per persona, never a real visitor's id."""
        raw = repr(self).encode()
        return "preview-" + hashlib.blake2b(raw, digest_size=8).hexdigest()


def context_for(persona: Persona, store_tz: str, host: str = "localhost") -> Context:
    """The Context the shop would build for this visit; ValueError names a bad field."""
    if persona.country:
        try:
            location = override_location(persona.country)
        except ValueError as exc:
            raise ValueError(f"country: {exc}") from None
    else:
        location = Location(None, None, None, None, None, "none")
    now = datetime.now(UTC)
    if persona.when:
        tz = country_timezone(location.country, store_tz)
        try:
            now = parse_override_time(persona.when, tz)
        except ValueError as exc:
            raise ValueError(f"time: {exc}") from None
    if persona.device not in DEVICES:
        raise ValueError(f"device: one of {', '.join(DEVICES)}")
    os = persona.os or PLAUSIBLE_OS[persona.device]
    if os not in OPERATING_SYSTEMS:
        raise ValueError(f"os: one of {', '.join(OPERATING_SYSTEMS)}")
    seen = time.time()
    first, last = {
        "new": (None, None),
        "returning": (seen - 86400 * 7, seen - 3600),
        "lapsed": (seen - LAPSED_AFTER * 4, seen - LAPSED_AFTER * 2),
    }[persona.recency]
    visitor = persona.visitor_id()
    session = SessionState(
        visitor,
        views=persona.views,
        cart=dict(persona.cart),
        customer_id=persona.customer,
        first_seen=first,
        last_seen=last,
    )
    args = {
        k: v
        for k, v in (
            ("utm_source", persona.utm_source),
            ("utm_campaign", persona.utm_campaign),
            ("utm_medium", persona.utm_medium),
        )
        if v
    }
    return Context(
        visitor_id=visitor,
        new_visitor=persona.recency == "new",
        session=session,
        location=location,
        time=local_time(now, location.country, None, store_tz),
        device=persona.device,
        os=os,
        channel=read_channel(args, persona.referrer, host),
        consent=Consent(),
        recency=persona.recency,
        overridden=("preview",),
        seed="preview",
        segment=segment_of(persona.customer, {}),
    )
