"""The web side of the request context: builds the pure, frozen Context (core/context.py)
from a Flask request, the visitor's session state and the running experiments.

Context, Consent and SessionState live in the core (no Flask, no Redis); they are re-exported
here so `from storefront.context import Context` keeps working.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from flask import Request, current_app, g

from storefront.core.context import Assignment, Consent, consent
from storefront.core.context import Context as Context  # re-exported
from storefront.core.context import SessionState as SessionState  # re-exported
from storefront.core.lookup import header, lookup
from storefront.core.visit import resolve, stored
from storefront.experiments.assign import assign
from storefront.session import SessionStore
from storefront.signals import (
    GeoLocator,
    Location,
    local_time,
    override_location,
    parse_override_time,
)
from storefront.signals.channel import read_channel
from storefront.signals.device import OPERATING_SYSTEMS, read_device
from storefront.traits import infer

if TYPE_CHECKING:
    from recommender.segments import Segment


class OverrideError(ValueError):
    """A QA override parameter is malformed; the message names it."""


def read_consent(
    request: Request, prefs: dict[str, str] | None = None, holdout: bool = False
) -> Consent:
    """The request's privacy signals (Sec-GPC, DNT), the shopper's own switches and the
    holdout, put together by the one consent function (core/context.py)."""
    headers = request.headers
    return consent(
        gpc=header(headers, "Sec-GPC", "").strip() == "1",
        dnt=header(headers, "DNT", "").strip() == "1",
        prefs=prefs,
        holdout=holdout,
    )


def _override(request: Request, name: str) -> str | None:
    return lookup(request.args, f"qa_{name}") or header(request.headers, f"X-QA-{name.title()}")


def build_context(
    request: Request,
    visitor_id: str,
    new_visitor: bool,
    sessions: SessionStore,
    locator: GeoLocator,
    explicit: dict[str, str] | None = None,
    now: datetime | None = None,
    seed: str | None = None,
    arms: tuple[tuple[str, str], ...] | None = None,
    page_key: str | None = None,
    ledger: str = "0",
    known: SessionState | None = None,
) -> Context:
    """Read every signal from the request. `explicit` (country, time, device) comes from a
    trusted server-to-server caller; QA overrides from the request only when the setting
    enables them. `now` pins the clock (QA snapshots). `page_key` and `ledger`: what the
    session read brings along (SessionStore.read). `known`: the session as a note of this worker
    holds it (page_memo.py), not read again."""
    app = current_app._get_current_object()
    settings = app.config["SETTINGS"]
    overridden: list[str] = []
    explicit = dict(explicit or {})
    if settings.qa_overrides:
        for name in ("country", "time"):
            value = _override(request, name)
            if value and name not in explicit:
                explicit[name] = value
    # behind a trusted proxy, ProxyFix (security.py) has already put the address the proxy saw
    # here; the leftmost X-Forwarded-For entry is whatever the client wrote
    headers = request.headers  # werkzeug's cached property: read once here
    location = locator.locate(headers, request.remote_addr)
    now = now or datetime.now(UTC)
    if explicit.get("country"):
        try:
            location = override_location(explicit["country"])
        except ValueError as exc:
            raise OverrideError(f"country: {exc}") from None
        overridden.append("country")
    if location.country is None and settings.default_country:
        location = Location(settings.default_country, None, None, None, None, "default")
    session = sessions.read(visitor_id, page_key, ledger) if known is None else known
    running = app.extensions["experiments"].get()
    if arms is not None:  # a QA snapshot pins the arms: experiments started later change nothing
        assignment = Assignment(False, arms)
    else:
        assignment = assign(visitor_id, running, settings.holdout_share)
    # the permanent holdout measures personalization as a whole
    allowed = read_consent(request, session.prefs, assignment.holdout)
    if not allowed.location:  # switched off by the shopper: not even the time zone is used
        location = Location(None, None, None, None, None, "off")
    tz_hint = location.timezone
    if explicit.get("time"):
        from storefront.signals import country_timezone

        tz = tz_hint or country_timezone(location.country, settings.store_timezone)
        try:
            now = parse_override_time(explicit["time"], tz)
        except ValueError as exc:
            raise OverrideError(f"time: {exc}") from None
        overridden.append("time")
    seen = read_device(headers)  # client hints win over the User-Agent
    device = seen.kind
    if explicit.get("device"):
        if explicit["device"] not in ("mobile", "tablet", "desktop", "bot"):
            raise OverrideError("device: one of mobile, tablet, desktop, bot")
        device = explicit["device"]
        overridden.append("device")
    # a stated device is the visitor's, not the caller's: its system is theirs too, or unknown
    os = "unknown" if explicit.get("device") else seen.os
    if explicit.get("os"):
        if explicit["os"] not in OPERATING_SYSTEMS:
            raise OverrideError(f"os: one of {', '.join(OPERATING_SYSTEMS)}")
        os = explicit["os"]
        overridden.append("os")
    local = local_time(now, location.country, tz_hint, settings.store_timezone, location.latitude)
    traits = infer(session.traits_raw if allowed.history else {}, session.prefs)
    segment = segment_of(session.customer_id if allowed.history else None, session.prefs)
    if traits.exclusions and session.customer_id and allowed.history:
        traits = traits.sparing(bought_categories(session.customer_id))
    # the visit's arrival and recency hold for every page of it (core/visit.py); the host
    # (werkzeug works it out from the environ on each ask) matters only beside a referrer
    referrer = header(headers, "Referer")
    visit = resolve(
        stored(session.visit_fields),
        read_channel(request.args, referrer, request.host if referrer else ""),
        sessions.clock.now(),
        session.first_seen,
        session.last_seen,
        new_visitor,
        settings.visit_idle,
        settings.lapsed_days * 86400,
    )
    return Context(
        visitor_id=visitor_id,
        new_visitor=new_visitor,
        session=session,
        location=location,
        time=local,
        device=device if allowed.device else "unknown",
        channel=visit.channel,
        consent=allowed,
        recency=visit.recency,
        overridden=tuple(overridden),
        traits=traits,
        seed=seed,
        experiments=assignment,
        segment=segment,
        os=os if allowed.device else "unknown",
        visit=visit,
        live_epoch=int(now.timestamp() // settings.trending_refresh),
    )


def bought_categories(customer_id: str) -> frozenset[str]:
    """Every category (at any level) of what the customer bought in the serving model's data:
    never called uninteresting to them (traits.Traits.sparing)."""
    from storefront.model_holder import snapshot

    snap = snapshot()
    if snap.model is None:
        return frozenset()
    found: set[str] = set()
    for pid in snap.model.history(customer_id):
        product = snap.catalog.get(pid)
        if product is not None:
            found.update(product.category_path)
    return frozenset(found)


def segment_of(customer_id: str | None, prefs: dict[str, str]) -> Segment | None:
    """The customer's micro-segment in the serving model, unless they said "not true"."""
    if not customer_id or prefs.get("drop:segment") == "1":
        return None
    from storefront.model_holder import snapshot

    model = snapshot().model
    return model.segment_of(customer_id) if model is not None else None


def current_context() -> Context:
    return g.context
