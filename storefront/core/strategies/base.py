"""What every candidate strategy shares: Pick, Request, Strategy, the registry, and helpers.

A strategy only generates candidates: products that are in the catalog, scored, each with a
reason and its kind. Everything a page then does to them (the shopper's avoided categories,
rule effects, de-duplication, caps, discovery, the cut) is the one pipeline's (core/pipeline.py).
A strategy also declares its cache scope: exactly the facts its output depends on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from storefront.core.keytags import visitor_tag
from storefront.core.ports import ExposureLedger, NoExposures, NoTrends, TrendWindow

if TYPE_CHECKING:  # types only: the core imports no web module at run time
    from storefront.context import Context
    from storefront.core.snapshot import Snapshot


@dataclass(frozen=True)
class Pick:
    product_id: str
    score: float
    reason: str  # the sentence a shopper reads under "Why this?"
    kind: str = ""  # data-reason: repeat, similar, discovery, pinned, boosted, trending, ...
    rule: str = ""  # the rule that pinned or boosted it

    def __init__(
        self, product_id: str, score: float, reason: str, kind: str = "", rule: str = ""
    ) -> None:
        """The generated __init__'s fields, written to the instance's own dict at once (a
        frozen dataclass's sets each through object.__setattr__): a built page makes
        hundreds of picks. The fields stay the dataclass's (eq, hash, repr, replace);
        tests/unit/test_frozen_inits.py holds this signature to them."""
        d = self.__dict__
        d["product_id"] = product_id
        d["score"] = score
        d["reason"] = reason
        d["kind"] = kind
        d["rule"] = rule


@dataclass(frozen=True)
class Exploration:
    """A slot's discovery: the share of its rail, and popular products to draw from."""

    share: float
    popular: tuple[str, ...] = ()


@dataclass(frozen=True)
class Request:
    """What a strategy is asked: the context, the page's own arguments, and how many."""

    ctx: Context
    snap: Snapshot
    page: Mapping[str, Any]  # e.g. {"product_id": ...}, {"category": ...}, {"query": ...}
    params: Mapping[str, Any]
    n: int
    settings: Any = None  # core.ports.Settings; None: the defaults of storefront.config
    ledger: ExposureLedger = field(default_factory=NoExposures)
    trends: TrendWindow = field(default_factory=NoTrends)  # the live window of trending


@dataclass(frozen=True)
class Strategy:
    name: str
    pick: Callable[[Request], list[Pick]]
    scope: Callable[[Request], tuple[str, ...]]
    title: Callable[[Request, str], str] = lambda req, default: default
    diverse: bool = True  # the category cap applies to its rail (not to a category's own list)
    explore: Callable[[Request], Exploration | None] | None = None  # discovery, where it has one


REGISTRY: dict[str, Strategy] = {}


def register(strategy: Strategy) -> Strategy:
    REGISTRY[strategy.name] = strategy
    return strategy


def get(name: str) -> Strategy | None:
    return REGISTRY.get(name)


# ---- helpers shared by the families --------------------------------------------------------

# A rail that falls back to a category's best sellers looks at this many of them (best first),
# not the whole category: a big catalog's category holds tens of thousands of products.
FALLBACK_POOL = 200


def personal_scope(req: Request) -> tuple[str, ...]:
    s = req.ctx.session
    return (
        "v",
        visitor_tag(req.ctx.visitor_id),  # the visitor's hash slot in a Redis Cluster
        "s",
        str(s.version),
        "h",
        "1" if req.ctx.consent.history else "0",
    )


def has_taste(req: Request) -> bool:
    """Is there anything personal to go on (and may it be used)?"""
    if not req.ctx.consent.history:
        return False
    s = req.ctx.session
    return bool(s.views or s.cart or s.bought or req.ctx.customer_id)


def just_bought(req: Request) -> set[str]:
    """What the shopper bought in this session: history now, never offered to them as new
    (or again in their own rails) on the pages that follow."""
    return set(req.ctx.session.bought)


def settings_of(req: Request) -> Any:
    if req.settings is not None:
        return req.settings
    from storefront.config import Settings

    return Settings()


def known(
    req: Request,
    scored: list[tuple[str, float]],
    reason: str,
    kind: str,
    exclude: set[str] | frozenset[str] = frozenset(),
) -> list[Pick]:
    """The first n candidates that are in the catalog and not excluded by the strategy."""
    get = req.snap.catalog.get  # `pid in catalog.products` without the Mapping's own call
    out: list[Pick] = []
    for pid, score in scored:
        if pid in exclude or get(pid) is None:
            continue
        out.append(Pick(pid, score, reason, kind))
        if len(out) >= req.n:
            break
    return out


def title_of(req: Request, pid: str) -> str:
    p = req.snap.catalog.get(pid)
    return p.display_title if p else pid


def place(req: Request) -> str | None:
    from storefront.countries import country_name

    return country_name(req.ctx.country) if req.ctx.country else None


def device(req: Request) -> str | None:
    """The device class, where the shopper lets it shape what is recommended."""
    return req.ctx.device if req.ctx.consent.device else None


def without_pressure(req: Request, pids: list[str]) -> list[str]:
    """Move products this shopper has been shown too often in vain to the back (the exposure
    ledger is read through its port; an unreachable ledger changes nothing)."""
    if not pids or not req.ctx.consent.history:
        return pids
    from storefront import exposure

    ledger = dict(req.ledger.read(req.ctx.visitor_id, pids))
    if not ledger:
        return pids
    tired = exposure.backed_off(ledger, pids)
    return [p for p in pids if p not in tired] + [p for p in pids if p in tired]
