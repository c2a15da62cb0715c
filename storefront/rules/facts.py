"""The facts a condition can test, and their atoms: how each is tested, explained and negated.

One table serves both matching (does this request satisfy the rule?) and conflict detection
(can two rules hold for the same request?), so the studio's warnings and the shop agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from recommender.money import format_money
from storefront.layouts import PAGE_TYPES
from storefront.rules.schema import (
    CHANNELS,
    DAYPARTS,
    DEVICES,
    OPERATING_SYSTEMS,
    PRICE_BANDS,
    RECENCY,
    SEASONS,
    WEEKDAYS,
    Condition,
    DateRange,
    NumberRange,
)

ONE = "one"  # one value from a known, finite list (device, daypart...)
OPEN = "open"  # one value from an open list, or none (country, holiday...)
MANY = "many"  # a set of values; the condition holds if any is in it (viewed categories...)
CONTAINS = "contains"  # text that must contain one of the given parts (referrer host)
RANGE = "range"  # a number within inclusive bounds (cart value in pence, dates as day numbers)


@dataclass(frozen=True)
class Dim:
    name: str
    kind: str
    label: str
    domain: tuple[Any, ...] = ()  # for ONE: every value the fact can take


DIMS: dict[str, Dim] = {
    d.name: d
    for d in (
        Dim("page", ONE, "page", PAGE_TYPES),
        Dim("category", MANY, "category page"),  # the page's category and those above it
        Dim("product", OPEN, "product page"),
        Dim("device", ONE, "device", DEVICES),
        Dim("os", ONE, "operating system", OPERATING_SYSTEMS),
        Dim("country", OPEN, "country"),
        Dim("region", OPEN, "region"),
        Dim("daypart", ONE, "part of day", DAYPARTS),
        Dim("weekday", ONE, "weekday", WEEKDAYS),
        Dim("weekend", ONE, "weekend", (True, False)),
        Dim("dates", RANGE, "local date"),
        Dim("month", ONE, "month", tuple(range(1, 13))),
        Dim("season", ONE, "season", SEASONS),
        Dim("holiday", OPEN, "holiday today"),
        Dim("upcoming_holiday", OPEN, "coming holiday"),
        Dim("channel", ONE, "arrived from", CHANNELS),
        Dim("utm_source", OPEN, "utm_source"),
        Dim("utm_campaign", OPEN, "utm_campaign"),
        Dim("referrer", CONTAINS, "referrer"),
        Dim("recency", ONE, "visitor", RECENCY),
        Dim("viewed_category", MANY, "viewed a product in"),
        Dim("viewed_product", MANY, "viewed product"),
        Dim("cart_value", RANGE, "basket value"),
        Dim("cart_items", RANGE, "items in basket"),
        Dim("affinity", MANY, "favourite category"),
        Dim("price_band", ONE, "usual price band", (*PRICE_BANDS, None)),
        Dim("segment", OPEN, "customer segment"),
    )
}


@dataclass(frozen=True)
class Facts:
    """What one request is, flattened for matching (built by matching.facts_for)."""

    page: str
    device: str
    daypart: str
    weekday: str
    weekend: bool
    date: date
    month: int
    season: str
    channel: str
    recency: str
    instant: datetime  # aware; schedules compare it in the store's time zone
    category: frozenset[str] = frozenset()  # the category page's slug and every level above it
    product: str | None = None
    country: str | None = None
    region: str | None = None
    holiday: str | None = None
    upcoming_holiday: str | None = None
    utm_source: str | None = None
    utm_campaign: str | None = None
    referrer: str | None = None
    viewed_category: frozenset[str] = frozenset()
    viewed_product: frozenset[str] = frozenset()
    cart_value: float = 0.0  # in the catalog's currency
    currency: str | None = None  # the catalog's (None: pounds), for explanations
    cart_items: int = 0
    affinity: frozenset[str] = frozenset()
    price_band: str | None = None
    segment: str | None = None  # the signed-in customer's micro-segment id
    os: str = "unknown"  # the operating system (signals/device.py)

    def value(self, dim: str) -> Any:
        if dim == "dates":
            return self.date.toordinal()
        if dim == "cart_value":
            return round(self.cart_value * 100)
        return getattr(self, dim)


CASE_KEPT = ("product", "viewed_product")  # product ids: "sku-1" and "SKU-1" are two products


def _fold(value: Any, dim: str = "") -> Any:
    return value.casefold() if isinstance(value, str) and dim not in CASE_KEPT else value


@dataclass(frozen=True)
class Atom:
    """One test of one fact: `value in values` (or within lo..hi for ranges), maybe negated."""

    dim: str
    values: frozenset[Any] = frozenset()
    lo: int | None = None
    hi: int | None = None
    negated: bool = False
    shown: tuple[str, ...] = field(default=(), compare=False)  # the values as written

    def negate(self) -> Atom:
        return Atom(self.dim, self.values, self.lo, self.hi, not self.negated, self.shown)

    def holds(self, facts: Facts) -> bool:
        kind = DIMS[self.dim].kind
        actual = facts.value(self.dim)
        if kind == RANGE:
            ok = (self.lo is None or actual >= self.lo) and (self.hi is None or actual <= self.hi)
        elif kind == MANY:
            ok = bool({_fold(v, self.dim) for v in actual} & self.values)
        elif kind == CONTAINS:
            ok = actual is not None and any(part in actual.casefold() for part in self.values)
        else:
            ok = _fold(actual, self.dim) in self.values
        return ok != self.negated

    def wanted(self) -> str:
        """What the rule asks of the fact, in words."""
        kind = DIMS[self.dim].kind
        if kind == RANGE:
            lo, hi = _show_bound(self.dim, self.lo), _show_bound(self.dim, self.hi)
            text = (
                f"from {lo} to {hi}" if lo and hi else (f"at least {lo}" if lo else f"at most {hi}")
            )
        elif self.values == frozenset({None}):  # holiday: true is "not none"
            return "any" if self.negated else "none"
        else:
            shown = sorted(self.shown or (str(v) for v in self.values))
            text = shown[0] if len(shown) == 1 else "one of " + ", ".join(shown)
            if kind == CONTAINS:
                text = "containing " + text
        return ("not " + text) if self.negated else text


def _show_bound(dim: str, bound: int | None) -> str:
    if bound is None:
        return ""
    if dim == "dates":
        return date.fromordinal(bound).isoformat()
    if dim == "cart_value":
        return f"{bound / 100:.2f}"  # the rule's own number, in the store's currency
    return str(bound)


def show_actual(facts: Facts, dim: str) -> str:
    value = getattr(facts, dim if dim != "dates" else "date")
    if isinstance(value, frozenset):
        return ", ".join(sorted(value)) or "nothing"
    if dim == "cart_value":
        return format_money(value, facts.currency)
    if value is None:
        return "none"
    return str(value)


def atoms_of(node: Condition) -> list[Atom]:
    """The leaf facts of one condition node as atoms (all must hold)."""
    out = []
    for name, value in node.facts().items():
        kind = DIMS[name].kind
        if isinstance(value, NumberRange):
            scale = 100 if name == "cart_value" else 1
            lo = None if value.min is None else round(value.min * scale)
            hi = None if value.max is None else round(value.max * scale)
            out.append(Atom(name, lo=lo, hi=hi))
        elif isinstance(value, DateRange):
            lo = value.from_.toordinal() if value.from_ else None
            hi = value.to.toordinal() if value.to else None
            out.append(Atom(name, lo=lo, hi=hi))
        elif isinstance(value, bool) and kind == OPEN:  # holiday: true = any holiday at all
            out.append(Atom(name, frozenset({None}), negated=value))
        elif isinstance(value, bool):
            out.append(Atom(name, frozenset({value})))
        else:
            shown = tuple(str(v) for v in value)
            out.append(Atom(name, frozenset(_fold(v, name) for v in value), shown=shown))
    return out
