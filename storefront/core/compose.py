"""The ONE compose: a page plan -> every slot's candidates (one cache round trip) -> the one
pipeline -> the tiles each slot shows. Used by shop pages, the JSON API, the studio preview
and the evaluation replay; rendering (HTML or JSON) is the caller's, from the same picks.

What is cached per slot is its candidates after the slot's rule effects (JSON of id, score,
reason, kind), under a key holding exactly what they depend on (core/dependencies.py). The
page-level stages (de-duplication, caps, discovery, the cut) are cheap and run on every page,
so their guarantees hold for the page as shown.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from storefront.core import bounded, pipeline, strategies
from storefront.core.dependencies import discovery_seed, slot_key
from storefront.core.pipeline import SlotWork
from storefront.core.plan import PagePlan
from storefront.core.ports import ExposureLedger, FragmentCache, NoExposures, NoTrends, TrendWindow
from storefront.core.strategies import Pick, Request
from storefront.layouts import Slot
from storefront.rules.apply import FIXED_TITLE, SlotPolicy

if TYPE_CHECKING:
    from storefront.context import Context
    from storefront.core.snapshot import Snapshot

log = logging.getLogger(__name__)
SPARE = 2  # a rail's candidates: this many rails' worth beyond its size (for the page stages)
# cached candidates decoded in this worker, by slot and the exact JSON the cache returned: a
# shared rail's candidates (the same bytes for every visitor) are parsed once, not per page.
# SlotWork is frozen, so one decoded value serves every page. Bounded: the oldest goes first.
_DECODED: dict[tuple, SlotWork] = {}
_DECODED_MAX = 256  # shared rails are tens; at most ~1-2 MB of JSON and picks per worker


@dataclass
class Timings:
    """Milliseconds spent per phase, reported in the Server-Timing header."""

    phases: dict[str, float] = field(default_factory=dict)

    def add(self, name: str, started: float) -> None:
        self.phases[name] = self.phases.get(name, 0.0) + (time.perf_counter() - started) * 1000

    def header(self) -> str:
        return ", ".join(f"{name};dur={ms:.2f}" for name, ms in self.phases.items())


@dataclass(frozen=True)
class Composed:
    """One slot as the page shows it."""

    slot: Slot
    title: str
    picks: tuple[Pick, ...]
    hit: bool  # its candidates came from the cache


def request_for(
    slot: Slot,
    ctx: Context,
    snap: Snapshot,
    page_args: Mapping[str, Any],
    settings: Any = None,
    ledger: ExposureLedger | None = None,
    trends: TrendWindow | None = None,
) -> Request:
    """What the slot's strategy is asked: a rail asks for spare candidates (the page stages
    drop repeats, cap categories and draw discovery from them); a grid for its page only."""
    n = slot.size * (1 + SPARE) if slot.template == "rail" else slot.size
    return Request(
        ctx,
        snap,
        page_args,
        slot.params,
        n,
        settings,
        ledger or NoExposures(),
        trends or NoTrends(),
    )


def slot_candidates(slot: Slot, req: Request, policy: SlotPolicy | None) -> SlotWork:
    """A slot's candidates after the pipeline's first stages (showable, rule effects): what
    is cached. Raises LookupError for an unknown strategy."""
    strategy = strategies.get(slot.strategy)
    if strategy is None:
        raise LookupError(f"unknown strategy {slot.strategy!r}")
    catalog = req.snap.catalog
    avoid = req.ctx.traits.avoid
    picks = pipeline.showable(strategy.pick(req), catalog, avoid)
    first = int(req.page.get("page", 1) or 1) == 1
    ranked, pins = pipeline.rule_effects(picks, policy, catalog, avoid, first)
    explore = strategy.explore(req) if strategy.explore is not None else None
    # a title a merchandiser wrote wins over the strategy's own ("Trending in France ...")
    title = slot.title if slot.params.get(FIXED_TITLE) else strategy.title(req, slot.title)
    return SlotWork(
        slot.id, slot.size, tuple(ranked), tuple(pins), strategy.diverse, explore, title
    )


def _decoded(slot: Slot, raw: str) -> SlotWork:
    """SlotWork.from_json, memoised per worker (_DECODED)."""
    memo = (slot.id, slot.size, slot.strategy, raw)
    work = _DECODED.get(memo)
    if work is None:
        work = SlotWork.from_json(slot.id, slot.size, _diverse(slot), raw)
        bounded.put(_DECODED, memo, work, _DECODED_MAX)
    return work


def _diverse(slot: Slot) -> bool:
    strategy = strategies.get(slot.strategy)
    return strategy.diverse if strategy is not None else True


def compose(
    plan: PagePlan,
    ctx: Context,
    page_args: Mapping[str, Any],
    settings: Any,
    cache: FragmentCache,
    ledger: ExposureLedger | None = None,
    timings: Timings | None = None,
    slots: tuple[Slot, ...] | None = None,
    trends: TrendWindow | None = None,
) -> list[Composed]:
    """The page's slots as shown: candidates from the cache (one MGET) or computed and
    stored, then the pipeline's page stages over all of them in order. A slot whose strategy
    fails is left out and logged: a broken slot never breaks a page. Slots with nothing to
    show are left out."""
    timings = timings or Timings()
    snap = plan.snap
    chosen = plan.layout.slots if slots is None else slots
    variant = "c" if ctx.compact else "f"
    reqs = [request_for(s, ctx, snap, page_args, settings, ledger, trends) for s in chosen]
    policies = plan.policies
    keys = [
        slot_key(s, r, plan.rules_version, variant, policies.get(s.id) or None)
        for s, r in zip(chosen, reqs, strict=True)
    ]
    t = time.perf_counter()
    cached = cache.mget(keys)
    timings.add("cache", t)
    works: list[SlotWork] = []
    hits: dict[str, bool] = {}
    to_store: dict[str, str] = {}
    for slot, req, k, raw in zip(chosen, reqs, keys, cached, strict=True):
        if raw is not None:
            works.append(_decoded(slot, raw))
            hits[slot.id] = True
            continue
        t = time.perf_counter()
        try:
            work = slot_candidates(slot, req, policies.get(slot.id) or None)
        except Exception:
            log.exception(
                "slot %s (strategy %s) failed; left out of the page", slot.id, slot.strategy
            )
            continue
        finally:
            timings.add("recs", t)  # strategy time: only on a miss
        to_store[k] = work.to_json()
        works.append(work)
        hits[slot.id] = False
    t = time.perf_counter()
    shown = {str(page_args["product_id"])} if "product_id" in page_args else set()
    seed = discovery_seed(ctx)
    done = pipeline.run_page(
        works,
        snap.catalog,
        settings.rail_category_share,
        lambda slot_id: pipeline.seeded_rng(slot_id, *seed),
        shown,
        frozenset(cat for cat, _ in ctx.traits.affinities),
        ctx.traits.avoid,
    )
    timings.add("pipeline", t)
    if to_store:
        t = time.perf_counter()
        cache.set_many(to_store, settings.fragment_ttl)
        timings.add("cache", t)
    by_id = {s.id: s for s in chosen}
    return [
        Composed(by_id[w.slot_id], w.title, tuple(picks), hits[w.slot_id])
        for w, picks in done
        if picks
    ]
