"""What a page and each of its slots depend on: ONE description behind the fragment cache keys
(a slot's candidates, storefront/fragments.py) and the page stamps (storefront/page_cache.py),
and behind the discovery seed, so that whatever changes a page re-keys what was built from it.

A slot depends on its strategy's declared scope (visitor and session version for personal
rails, country and daypart for trending, ...), the shopper's avoided categories, their
experiment arms, the model and catalog versions, and the rules version with the slot's rule
policy. A page depends on all of that for every slot it could show, so its stamp is the wider
context: every part named in PAGE below.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from storefront.core import strategies
from storefront.traits import Traits

if TYPE_CHECKING:
    from storefront.context import Consent, Context
    from storefront.layouts import Slot
    from storefront.rules.apply import SlotPolicy

ROOT = "sf"
FRAGMENT = "frag"  # a slot's candidates after its rule effects (TTL: fragment_ttl)


def _traits(ctx: Context) -> str:
    return ctx.traits.digest()  # muted / excluded categories change even shared rails


def _arms(ctx: Context) -> str:
    return ctx.experiments.digest()  # two arms of an experiment never share anything


@lru_cache(maxsize=256)
def _consent_text(consent: Consent) -> str:
    """repr(consent), by value: a frozen Consent takes few values (every page stamps one)."""
    return repr(consent)


def _hour(local: datetime) -> str:
    """local.strftime("%Y%m%d%H"), without strftime for the four-digit years (every page)."""
    if local.year < 1000:  # strftime's own padding there (QA pins reach back to year 2)
        return local.strftime("%Y%m%d%H")
    return f"{local.year}{local.month:02d}{local.day:02d}{local.hour:02d}"


# Everything in the context that may shape a page, by name. Slots take the parts their
# strategy's scope does not already cover from SHARED; a page stamp takes every part.
PAGE: dict[str, Callable[[Any], str]] = {
    "session": lambda c: str(c.session.version),
    "consent": lambda c: _consent_text(c.consent),
    "location": lambda c: (
        f"{c.location.country}/{c.location.region}/{c.location.city}/{c.location.source}"
    ),
    "channel": lambda c: (
        f"{c.channel.kind}/{c.channel.source}/{c.channel.medium}/{c.channel.campaign}"
    ),
    "arms": lambda c: "holdout" if c.experiments.holdout else _arms(c),
    "traits": _traits,
    "segment": lambda c: c.segment.id if c.segment else "",
    "recency": lambda c: c.recency,
    "device": lambda c: c.device,
    "os": lambda c: c.os,
    "live": lambda c: str(c.live_epoch),
    "hour": lambda c: _hour(c.time.local),
    "timezone": lambda c: c.time.timezone or "",
    # the hemisphere's season: a GeoIP latitude may flip it where country, region and city do
    # not (a country-level record), so a page shared by place (page_memo.py) never needs the IP
    "season": lambda c: c.time.season,
}
SHARED = ("traits", "arms")  # what every slot depends on beyond its strategy's scope
_NO_TRAITS = Traits()  # a visitor with no traits of their own (stateless)


def key(*parts: object) -> str:
    """Join key parts under the root prefix: key(FRAGMENT, 'home', 'v1') -> sf:frag:home:v1."""
    return ":".join([ROOT, *(str(p) for p in parts)])


def params_digest(slot: Slot) -> str:
    return slot.params_digest  # computed once per slot, not per key and memo


def slot_parts(
    slot: Slot,
    req: strategies.Request,
    rules_version: str,
    variant: str,
    policy: SlotPolicy | None = None,
) -> tuple[str, ...]:
    """<slot>:<strategy>:<params>:<variant>:<scope...>[:x:<traits>][:e:<arms>]:m<model>:r<rules>.

    A slot's rule policy (pins, hides, lifts) depends on facts its scope may not hold (a
    trending rail is keyed by country, a rule may pin for phones only), so its digest is in
    the key: the same policy, the same candidates."""
    strategy = strategies.get(slot.strategy)
    scope = strategy.scope(req) if strategy else ()
    tags = {"traits": "x", "arms": "e"}
    for name in SHARED:
        value = PAGE[name](req.ctx) if name != "arms" else _arms(req.ctx)
        if value:
            scope = (*scope, tags[name], value)
    return (
        slot.id,
        slot.strategy,
        params_digest(slot),
        variant,
        *scope,
        "m" + req.snap.model_version + req.snap.catalog.version,
        "r" + rules_version + (f".{policy.digest()}" if policy else ""),
    )


def slot_key(
    slot: Slot,
    req: strategies.Request,
    rules_version: str,
    variant: str,
    policy: SlotPolicy | None = None,
) -> str:
    return key(FRAGMENT, *slot_parts(slot, req, rules_version, variant, policy))


def page_stamp(ctx: Context, model_version: str, rules_version: str) -> str:
    """Everything a page depends on beyond its key (the request's path and shaping headers),
    as this request's context has it. Some parts are implied by the key too (location,
    channel, consent come from its headers); they are here as well so that a page can never
    outlive a change the key did not foresee."""
    # PAGE is the one description of what a page depends on: the stamp is its parts, in order
    parts = [fn(ctx) for fn in PAGE.values()]
    return "|".join((*parts[:4], model_version, rules_version, *parts[4:]))


def stateless(ctx: Context, pinned: bool = False) -> bool:
    """Whether nothing of the visitor's own shapes their page: not signed in, nothing viewed,
    in the basket or bought, the session version a fresh visitor has, no exposure ledger (known
    to be empty: a new visitor's, or read with the session), no traits, preferences or segment,
    and no QA pin (`pinned`, or a pinned seed: pins have their own determinism). Such a page
    depends only on the request's context (the page stamp and the request's shaping parts), so
    visitors in the same context may share it (storefront/page_memo.py) and its discovery
    choice is seeded without the visitor (discovery_seed)."""
    s = ctx.session
    return (
        not pinned
        and ctx.seed is None
        and s.available
        and not s.retired
        and s.version == 0
        and s.customer_id is None
        and not s.views
        and not s.cart
        and not s.bought
        and not s.traits_raw
        and not s.prefs
        and ctx.segment is None
        and ctx.traits == _NO_TRAITS
        and (ctx.new_visitor or (s.exposures is not None and not len(s.exposures)))
    )


def discovery_seed(ctx: Context) -> tuple[str, ...]:
    """What a page's discovery choice is seeded with: what the page depends on. Under a QA
    snapshot (ctx.seed) that is the pinned seed and the shopper's history, never the visitor
    id, so personas with identical history get identical pages; for a visitor with no state of
    their own (stateless) the day alone, so that their page is every such visitor's in that
    context; otherwise the visitor, their session version and the day (the choice changes with
    a click or a new day)."""
    if ctx.seed:
        s = ctx.session
        history = json.dumps(
            [ctx.customer_id or "", list(s.views), sorted(s.cart.items())], default=str
        )
        return ("qa", ctx.seed, hashlib.blake2b(history.encode(), digest_size=8).hexdigest())
    if stateless(ctx):  # nothing of the visitor's on the page: neither in its seed
        return ("shared", str(ctx.session.version), ctx.time.local.date().isoformat())
    return (ctx.visitor_id, str(ctx.session.version), ctx.time.local.date().isoformat())
