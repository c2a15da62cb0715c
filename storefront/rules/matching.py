"""Which rules hold for a request: facts from the context, the condition tree, schedules.

Schedules are wall-clock times in the store's time zone; the request's own instant (which a QA
override or a preview may set) is compared with them, so a preview of next Friday evening shows
what next Friday evening will show.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from storefront.catalog import Catalog
from storefront.rules.facts import Facts, atoms_of, show_actual
from storefront.rules.schema import Condition, Rule, precedence

if TYPE_CHECKING:  # a type only: matching needs no web module (core/plan.py uses it)
    from storefront.context import Context


def facts_for(ctx: Context, page: str, page_args: Mapping[str, Any], catalog: Catalog) -> Facts:
    """Flatten a request's context (and the page's own arguments) into the facts rules test."""
    t = ctx.time
    s = ctx.session
    ch = ctx.channel
    # UTM tags set a medium or campaign, or make the kind "campaign"; otherwise the source is
    # the referrer's host (see signals/channel.py)
    tagged = ch.kind == "campaign" or ch.medium is not None or ch.campaign is not None
    viewed = frozenset(s.views) if ctx.consent.history else frozenset()
    # a product is in every level of its category path: "viewed something in dairy" holds for
    # a cheese, and a favourite leaf makes its parents favourites too
    viewed_cats = frozenset(
        c for p in viewed if p in catalog.products for c in catalog.products[p].category_path
    )
    # a rule for a category holds on the pages of the categories below it too ("fresh-food" on
    # the "dairy" page), as viewed_category and affinity do
    page_category = page_args.get("category")
    on_category = frozenset(catalog.path_of(page_category)) if page_category else frozenset()
    cart_value = sum(
        catalog.products[p].price * q for p, q in s.cart.items() if p in catalog.products
    )
    return Facts(
        page=page,
        category=on_category,
        product=page_args.get("product_id"),
        device=ctx.device,
        os=ctx.os,
        country=ctx.location.country,
        region=ctx.location.region,
        daypart=t.daypart,
        weekday=t.weekday,
        weekend=t.is_weekend,
        date=t.local.date(),
        month=t.month,
        season=t.season,
        holiday=t.holiday,
        upcoming_holiday=t.upcoming_holiday,
        channel=ctx.channel.kind,
        utm_source=ch.source if tagged else None,
        utm_campaign=ch.campaign,
        referrer=ch.source if not tagged else None,
        recency=ctx.recency,
        viewed_category=viewed_cats,
        viewed_product=viewed,
        cart_value=round(cart_value, 2),
        cart_items=s.cart_count,
        affinity=frozenset(c for a, _ in ctx.traits.affinities for c in catalog.path_of(a)),
        price_band=ctx.traits.price_band,
        segment=ctx.segment.id if ctx.segment else None,
        instant=t.local,
        currency=getattr(catalog, "currency", None),
    )


def holds(cond: Condition, facts: Facts) -> bool:
    """Does the condition tree hold for these facts?"""
    if not all(atom.holds(facts) for atom in atoms_of(cond)):
        return False
    if cond.all_ and not all(holds(c, facts) for c in cond.all_):
        return False
    if cond.any_ and not any(holds(c, facts) for c in cond.any_):
        return False
    return not (cond.not_ is not None and holds(cond.not_, facts))


@dataclass(frozen=True)
class Reason:
    ok: bool
    text: str
    depth: int = 0


def explain(cond: Condition, facts: Facts, depth: int = 0) -> list[Reason]:
    """Each test of the tree with its outcome, in words: why a rule matched or did not."""
    out = []
    for atom in atoms_of(cond):
        label = atom.dim.replace("_", " ")
        text = f"{label} is {show_actual(facts, atom.dim)} (wants {atom.wanted()})"
        out.append(Reason(atom.holds(facts), text, depth))
    if cond.all_:
        out.append(Reason(all(holds(c, facts) for c in cond.all_), "all of:", depth))
        for c in cond.all_:
            out += explain(c, facts, depth + 1)
    if cond.any_:
        out.append(Reason(any(holds(c, facts) for c in cond.any_), "any of:", depth))
        for c in cond.any_:
            out += explain(c, facts, depth + 1)
    if cond.not_ is not None:
        out.append(Reason(not holds(cond.not_, facts), "none of:", depth))
        out += explain(cond.not_, facts, depth + 1)
    if not out:
        out.append(Reason(True, "no conditions: every request", depth))
    return out


def in_schedule(rule: Rule, instant: datetime, store_tz: str) -> bool:
    """Is the rule live at this instant? Start included, end excluded, in the store's zone."""
    if rule.schedule is None:
        return True
    local = instant.astimezone(ZoneInfo(store_tz)).replace(tzinfo=None)
    if rule.schedule.start is not None and local < rule.schedule.start:
        return False
    return not (rule.schedule.end is not None and local >= rule.schedule.end)


def schedule_reason(rule: Rule, instant: datetime, store_tz: str) -> Reason | None:
    if rule.schedule is None:
        return None
    s = rule.schedule
    when = f"{s.start or '…'} to {s.end or '…'} ({store_tz})"
    local = instant.astimezone(ZoneInfo(store_tz)).strftime("%Y-%m-%d %H:%M")
    return Reason(in_schedule(rule, instant, store_tz), f"schedule {when}; store time {local}")


def matched(rules: Iterable[Rule], facts: Facts, store_tz: str) -> list[Rule]:
    """The enabled, live rules whose conditions hold, the winning one first."""
    out = [
        r
        for r in rules
        if r.enabled and in_schedule(r, facts.instant, store_tz) and holds(r.when, facts)
    ]
    return sorted(out, key=precedence)


def why(rule: Rule, facts: Facts, store_tz: str) -> tuple[bool, list[Reason]]:
    """Whether a rule applies to these facts, and every reason (for the studio's preview)."""
    reasons = []
    if not rule.enabled:
        reasons.append(Reason(False, "the rule is disabled"))
    sched = schedule_reason(rule, facts.instant, store_tz)
    if sched is not None:
        reasons.append(sched)
    reasons += explain(rule.when, facts)
    ok = rule.enabled and in_schedule(rule, facts.instant, store_tz) and holds(rule.when, facts)
    return ok, reasons
