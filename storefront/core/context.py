"""The request context as pure values: who is looking, where, when, on what, what they did,
and what they allow. No Flask, no Redis: storefront/context.py builds it from a request.

Built once per request and frozen, so every strategy and rule sees the same facts and cache
keys can be derived from them. The one consent function lives here too: a page, an event and
the holdout all decide what may shape a page with it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

from storefront.core.visit import LAPSED_AFTER as LAPSED_AFTER  # re-exported
from storefront.core.visit import Visit, recency_of
from storefront.signals.channel import Channel
from storefront.signals.clock import LocalTime
from storefront.signals.geo import Location
from storefront.traits import Traits

if TYPE_CHECKING:
    from recommender.segments import Segment

SIGNALS = ("location", "history", "device")  # the signals a shopper can switch off one by one


@dataclass(frozen=True)
class SessionState:
    """What this visitor did lately, read in one round trip at the start of a request
    (a SessionReader, core/ports.py, reads it)."""

    visitor_id: str
    views: tuple[str, ...] = ()  # product ids, newest first
    cart: dict[str, int] = field(default_factory=dict)
    # products bought in this session, newest first: history at once (fold-in, "for you"
    # leaves them out), never offered as new again
    bought: tuple[str, ...] = ()
    version: int = 0
    customer_id: str | None = None  # set when the visitor signed in as a known customer
    first_seen: float | None = None
    last_seen: float | None = None
    traits_raw: dict[str, str] = field(default_factory=dict)  # see traits.py
    prefs: dict[str, str] = field(default_factory=dict)  # see preferences.py
    available: bool = True  # False when the store could not be read: the page degrades
    cached_page: bytes | None = None  # this request's page as cached (page_cache.py), as bytes
    provisional: bool = False  # only a cookie-less first page so far (SessionStore.touch)
    retired: bool = False  # merged into a customer's id at a sign-in or sign-out (identity.py)
    # the fragments of this request's page that came with the read (a click made the page
    # stale): key -> HTML (None: not cached); None when the read brought none
    cached_fragments: Mapping[str, str | None] | None = None
    # the visitor's exposure ledger (every field), when it came with the read: a page that
    # will be built (not served whole) and a ledger small enough; None: not read, ask for it
    exposures: Mapping[str, str] | None = None
    # the visit this page belongs to, as kept in the visitor's record (core/visit.py)
    visit_fields: Mapping[str, str] = field(default_factory=dict)

    @property
    def cart_count(self) -> int:
        return sum(self.cart.values())

    def recency(self, now: float, lapsed_after: float = LAPSED_AFTER) -> str:
        """new (first visit), returning, or lapsed (back after a long absence), as of now;
        a page's recency is its visit's (core/visit.py), decided on the visit's first page."""
        return recency_of(self.first_seen, self.last_seen, now, lapsed_after)

    def signals(self) -> list[tuple[str, str]]:
        """(product, signal) pairs for fold-in, newest first: purchases, cart adds, then views
        (each weighed by the one table, recommender/signals.py)."""
        out = [(pid, "purchase") for pid in self.bought]
        out += [(pid, "add_to_cart") for pid in self.cart]
        out += [(pid, "view") for pid in self.views]
        return out


@dataclass(frozen=True)
class Assignment:
    """The visitor's arm of each running experiment, or the permanent holdout."""

    holdout: bool = False
    arms: tuple[tuple[str, str], ...] = ()  # (experiment id, arm name), sorted

    def digest(self) -> str:
        return _arms_digest(self.arms) if self.arms else ""

    def arm(self, experiment_id: str) -> str | None:
        return dict(self.arms).get(experiment_id)


@lru_cache(maxsize=1024)
def _arms_digest(arms: tuple[tuple[str, str], ...]) -> str:
    """Assignment.digest by its arms (every page's stamp and keys ask; few distinct arms)."""
    raw = ";".join(f"{e}={a}" for e, a in arms)
    return hashlib.blake2b(raw.encode(), digest_size=5).hexdigest()


@dataclass(frozen=True)
class Consent:
    """What may shape this page. Sec-GPC / DNT turn off tracking beyond the session and
    history-based picks; the shopper's own switches (/me) turn off single signals or all."""

    track: bool = True
    history: bool = True
    location: bool = True
    device: bool = True
    personalize: bool = True
    reason: str | None = None


def signal_off(prefs: Mapping[str, str], signal: str) -> bool:
    """Has the shopper switched this signal (or personalization as a whole) off?"""
    return prefs.get("off:personalization") == "1" or prefs.get(f"off:{signal}") == "1"


def consent(
    gpc: bool = False,
    dnt: bool = False,
    prefs: Mapping[str, str] | None = None,
    holdout: bool = False,
) -> Consent:
    """THE consent rule: the browser's privacy signals (Global Privacy Control, Do Not Track),
    the shopper's own switches, and the experiments' permanent holdout, in that order of
    reading; the strictest wins. Pages, events and previews all ask this function."""
    return _consent(gpc, dnt, tuple(prefs.items()) if prefs else (), holdout)


@lru_cache(maxsize=1024)
def _consent(gpc: bool, dnt: bool, items: tuple[tuple[str, str], ...], holdout: bool) -> Consent:
    """consent() by its exact inputs (the shopper's switches as their items, in order): a
    frozen Consent, remembered per worker; most pages ask with no switches at all."""
    prefs = dict(items)
    track, history, reason = True, True, None
    if gpc:
        track, history, reason = False, False, "Global Privacy Control"
    elif dnt:
        track, history, reason = False, False, "Do Not Track"
    if prefs.get("off:personalization") == "1":
        given = Consent(track, False, False, False, False, "personalization switched off")
    else:
        given = Consent(
            track=track,
            history=history and not signal_off(prefs, "history"),
            location=not signal_off(prefs, "location"),
            device=not signal_off(prefs, "device"),
            reason=reason,
        )
    if holdout:  # measures personalization as a whole: the device still shapes the layout
        return Consent(given.track, False, False, given.device, False, "holdout")
    return given


@dataclass(frozen=True)
class Context:
    visitor_id: str
    new_visitor: bool
    session: SessionState
    location: Location
    time: LocalTime
    device: str
    channel: Channel
    consent: Consent
    recency: str
    overridden: tuple[str, ...] = ()
    traits: Traits = Traits()
    seed: str | None = None  # pinned exploration seed (QA snapshot); None: per visit and day
    experiments: Assignment = Assignment()  # arms of running experiments, or the holdout
    segment: Segment | None = None  # the micro-segment a signed-in customer's buying put them in
    os: str = "unknown"  # operating system (signals/device.py), "unknown" when device is off
    visit: Visit | None = None  # the visit (core/visit.py); None where no request made one
    # the refresh epoch of live trending (STOREFRONT_TRENDING_REFRESH periods of this context's
    # clock): in trending's fragment key and the page stamp, so both follow the live window
    live_epoch: int = 0

    @property
    def country(self) -> str | None:
        return self.location.country

    @property
    def compact(self) -> bool:
        """Phones get the compact layout; the rules decide what, CSS decides how it fits."""
        return self.device == "mobile"

    @property
    def customer_id(self) -> str | None:
        return self.session.customer_id if self.consent.history else None
