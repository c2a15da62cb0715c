"""The shop's recent real visits, from the event log, as personas for the impact report.

A visit is a visitor's run of events with no gap over 30 minutes (as a session lasts). Each
sampled visit is one of its pages as the visitor had it: when it was (the server's receipt
time, in the visitor's own time zone), their country, device and operating system as recorded
with the event (the operating system since revision 0006; "unknown" for older events, and
`Sample.os_recorded` says how many visits have one),
the channel (an e-mail click is an e-mail visit), the products they had viewed before it, the
basket they had built in the visit, whether they were new, returning or lapsed (from their
earlier events), and the customer they had signed in as. Nothing comes from order dates: an
import's orders say nothing of who visits now, at what hour, on what device.

The sample is seeded (the same sample each time for the same log) and bounded: at most `n`
visitors are read, in chunks.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.engine import Engine

from storefront import db
from storefront.catalog import Catalog
from storefront.layouts import PAGE_TYPES
from storefront.rules.personas import Persona
from storefront.session import LAPSED_AFTER
from storefront.signals import country_timezone
from storefront.signals.device import OPERATING_SYSTEMS, os_name

VISIT_GAP = timedelta(minutes=30)  # a visit ends after 30 minutes idle
DEFAULT_DAYS = 14
MIN_VISITS = 30  # fewer recent visits than this: too few to judge a draft by
HISTORY = 10  # products viewed before the page, newest first
CHUNK = 500  # visitors per query


@dataclass(frozen=True)
class Visit:
    persona: Persona
    page: str
    page_args: dict[str, Any]
    visitor: str = ""  # the event log's visitor id (never shown, never a preview's)

    def describe(self) -> str:
        p = self.persona
        who = f"customer {p.customer}" if p.customer else f"{p.recency} visitor"
        where = p.country or "unknown country"
        arg = next(iter(self.page_args.values()), "")
        page = f"{self.page} {arg}".strip()
        system = f" ({os_name(p.os)})" if p.os and p.os != "unknown" else ""
        return f"{who}, {where}, {p.device}{system}, {p.when}, {page}"


@dataclass(frozen=True)
class Sample:
    """Visits drawn from the event log, with what they were drawn from."""

    visits: tuple[Visit, ...]
    days: int
    since: datetime  # UTC, naive (as the event log stores times)
    until: datetime
    visitors: int  # visitors seen in the period
    sampled_visitors: int  # of them, the ones whose visits were read
    drawn_from: int  # their visits in the period

    @property
    def enough(self) -> bool:
        return len(self.visits) >= MIN_VISITS

    @property
    def os_recorded(self) -> int:
        """Sampled visits whose operating system the event log records."""
        return sum(v.persona.os not in (None, "unknown") for v in self.visits)

    def os_note(self) -> str | None:
        """What the sample can say about rules on the operating system, when it cannot say
        all: None when every sampled visit has one."""
        n, known = len(self.visits), self.os_recorded
        if not n or known == n:
            return None
        if not known:
            return (
                "The event log records no operating system for these visits (it is recorded "
                "since revision 0006): rules with an operating-system condition cannot be "
                "judged from this history and match none of them here."
            )
        return (
            f"Only {known} of the {n} sampled visits have their operating system in the event "
            "log (it is recorded since revision 0006): rules with an operating-system condition "
            "can match only those."
        )

    def period(self) -> str:
        return f"{self.since:%d %b %Y} to {self.until:%d %b %Y}"

    def explain(self) -> str:
        """Where the sample comes from and how big it is, in a sentence or two."""
        n, days = len(self.visits), self.days
        if not n:
            return (
                f"No visits in the last {days} days ({self.period()}): too few recent visits "
                "to judge the draft's impact."
            )
        text = (
            f"{n} visits sampled from the last {days} days ({self.period()}): drawn from "
            f"the {self.drawn_from} visits of {self.sampled_visitors} of the {self.visitors} "
            "visitors who came in that time (their country, device, channel, local time and "
            "what they had viewed, as the event log has them)."
        )
        if not self.enough:
            text += (
                f" Too few recent visits to judge (at least {MIN_VISITS} are needed): the "
                "counts below say little."
            )
        return text

    def matched(self, count: int) -> str:
        """A rule's count in words: Matched 37 of 200 visits sampled from the last 14 days."""
        return (
            f"Matched {count} of {len(self.visits)} visits sampled from the last {self.days} days"
        )


@dataclass(frozen=True)
class _Event:
    visitor: str
    type: str
    product_id: str | None
    page: str | None
    query: str | None
    received: datetime
    country: str | None
    device: str | None
    channel: str | None
    quantity: int | None
    os: str | None


def _chunks(items: list[str]) -> Iterable[list[str]]:
    for i in range(0, len(items), CHUNK):
        yield items[i : i + CHUNK]


def recent(
    engine: Engine,
    catalog: Catalog,
    store_tz: str,
    n: int = 200,
    days: int = DEFAULT_DAYS,
    now: datetime | None = None,
    seed: int = 7,
) -> Sample:
    """Up to n visits from the last `days` days of the event log (seeded)."""
    until = (now or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None)
    since = until - timedelta(days=days)
    rng = random.Random(seed)
    e = db.events.c
    in_period = (e.received >= since) & (e.received <= until)
    with engine.connect() as conn:
        visitors = [
            r.visitor
            for r in conn.execute(
                select(e.visitor).where(in_period).group_by(e.visitor).order_by(e.visitor)
            )
        ]
        picked = sorted(rng.sample(visitors, min(len(visitors), n)))
        events: dict[str, list[_Event]] = defaultdict(list)
        customers: dict[str, str] = {}
        cols = (
            e.visitor,
            e.type,
            e.product_id,
            e.page,
            e.query,
            e.received,
            e.country,
            e.device,
            e.channel,
            e.quantity,
            e.os,
        )
        for chunk in _chunks(picked):
            rows = conn.execute(
                select(*cols)
                .where(e.visitor.in_(chunk), e.received <= until)
                .order_by(e.visitor, e.received)
            )
            for row in rows:
                events[row.visitor].append(_Event(*row))
            links = db.identities.c
            for row in conn.execute(
                select(links.visitor, links.customer_id).where(links.visitor.in_(chunk))
            ):
                customers[row.visitor] = row.customer_id
    candidates: list[Visit] = []
    for visitor in picked:
        candidates += _visits(
            events[visitor], since, customers.get(visitor), catalog, rng, store_tz
        )
    drawn_from = len(candidates)
    chosen = rng.sample(candidates, min(len(candidates), n))
    return Sample(tuple(chosen), days, since, until, len(visitors), len(picked), drawn_from)


def _sessions(events: list[_Event]) -> list[list[_Event]]:
    out: list[list[_Event]] = []
    for ev in events:
        if out and ev.received - out[-1][-1].received <= VISIT_GAP:
            out[-1].append(ev)
        else:
            out.append([ev])
    return out


def _visits(
    events: list[_Event],
    since: datetime,
    customer: str | None,
    catalog: Catalog,
    rng: random.Random,
    store_tz: str,
) -> list[Visit]:
    """One visit per session of the period: one of its pages, as the visitor had it."""
    out: list[Visit] = []
    sessions = _sessions(events)
    for i, session in enumerate(sessions):
        if session[0].received < since:
            continue
        pages = [k for k, ev in enumerate(session) if ev.page in PAGE_TYPES] or [0]
        k = rng.choice(pages)
        at = session[k]
        # what the visitor had done before this page was built (its own view comes after)
        before = [ev for s in sessions[:i] for ev in s] + session[:k]
        views: list[str] = []
        for ev in reversed(before):
            pid = ev.product_id
            if ev.type in ("view", "click") and pid in catalog.products and pid not in views:
                views.append(pid)
                if len(views) == HISTORY:
                    break
        cart: dict[str, int] = {}
        for ev in session[:k]:
            if ev.product_id not in catalog.products:
                continue
            if ev.type == "add_to_cart":
                cart[ev.product_id] = cart.get(ev.product_id, 0) + (ev.quantity or 1)
            elif ev.type in ("remove_from_cart", "purchase"):
                cart.pop(ev.product_id, None)
        out.append(
            _visit(session, at, views, cart, _recency(sessions, i), customer, catalog, store_tz)
        )
    return out


def _recency(sessions: list[list[_Event]], i: int) -> str:
    if i == 0:
        return "new"
    gap = sessions[i][0].received - sessions[i - 1][-1].received
    return "lapsed" if gap.total_seconds() > LAPSED_AFTER else "returning"


def _visit(
    session: list[_Event],
    at: _Event,
    views: list[str],
    cart: dict[str, int],
    recency: str,
    customer: str | None,
    catalog: Catalog,
    store_tz: str,
) -> Visit:
    country = next((ev.country for ev in session if ev.country), None)
    device = next((ev.device for ev in session if ev.device), None)
    os = next((ev.os for ev in session if ev.os in OPERATING_SYSTEMS), "unknown")
    email = any(ev.channel == "email" for ev in session)
    zone = ZoneInfo(country_timezone(country, store_tz))
    local = at.received.replace(tzinfo=UTC).astimezone(zone).replace(tzinfo=None)
    persona = Persona(
        country=country if country and len(country) == 2 else None,
        device=device if device in ("mobile", "tablet", "desktop", "bot") else "desktop",
        os=os,  # never guessed from the device: a visit without one is unknown
        when=local.isoformat(timespec="minutes"),
        customer=customer,
        recency=recency,
        views=tuple(views),
        cart=cart,
        utm_source="email" if email else None,
        utm_medium="email" if email else None,
    )
    page, args = _page(at, catalog)
    return Visit(persona, page, args, at.visitor)


def _page(at: _Event, catalog: Catalog) -> tuple[str, dict[str, Any]]:
    """The page type and arguments the event was on (home when they cannot be told)."""
    product = catalog.get(at.product_id) if at.product_id else None
    if at.page == "product" and product is not None:
        return "product", {"product_id": product.id}
    if at.page == "category" and product is not None:
        return "category", {"category": product.category, "page": 1}
    if at.page == "search" and at.query:
        return "search", {"query": at.query[:100], "page": 1}
    if at.page in PAGE_TYPES and at.page not in ("product", "category", "search"):
        return at.page, {}
    return "home", {}
