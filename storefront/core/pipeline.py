"""The ONE ordered post-pick pipeline: every slot of every page goes through it, in this order.

    candidates (a strategy: core/strategies/)
      -> showable      in the catalog, not in a category the shopper avoids
      -> rule_effects  hide, boost / bury, pin (rule priority settled in rules/apply.py)
      -> dedupe        a product appears once a page; a pin keeps its slot, earlier unpinned
                       slots give the product up
      -> cap           no category over the configured share of the rail as it will be CUT
                       (when the candidates allow it)
      -> discover      the configured share of discovery, placed inside the visible rail
      -> cut           pins at their positions, the rest in order, the slot's size
      -> reasons       every tile with its reason and kind (data-reason)

Each stage is a small pure function (no Flask, no Redis, no HTML); `run_page` chains them over
a page's slots in order. The first two stages run when a slot's candidates are computed (and
cached, core/compose.py); the rest run on every page, so their guarantees hold for the page
as shown, whatever was cached.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import TYPE_CHECKING

from storefront.core.strategies.base import Exploration, Pick

if TYPE_CHECKING:
    from storefront.catalog import Catalog, Product
    from storefront.rules.apply import SlotPolicy

PINNED_REASON = "Featured by our team"
DISCOVERY_REASON = "Something new for you"
UNCAPPED = frozenset({"repeat"})  # the shopper's own products: their choice, not monotony
DISCOVERY_POOL = 60  # popular products a seeded discovery choice is drawn from


@dataclass(frozen=True)
class SlotWork:
    """One slot on its way through the pipeline."""

    slot_id: str
    size: int
    picks: tuple[Pick, ...] = ()  # ranked candidates, pins apart
    pins: tuple[tuple[Pick, int], ...] = ()  # (pinned pick, 0-based position), winner first
    diverse: bool = True  # the category cap applies
    explore: Exploration | None = None  # discovery, where the slot has it
    title: str = ""

    def __init__(
        self,
        slot_id: str,
        size: int,
        picks: tuple[Pick, ...] = (),
        pins: tuple[tuple[Pick, int], ...] = (),
        diverse: bool = True,
        explore: Exploration | None = None,
        title: str = "",
    ) -> None:
        """The generated __init__, its fields written to the instance's dict at once (as
        Pick's: each page stage makes a SlotWork per slot)."""
        self.__dict__.update(
            slot_id=slot_id,
            size=size,
            picks=picks,
            pins=pins,
            diverse=diverse,
            explore=explore,
            title=title,
        )

    def with_picks(self, picks: tuple[Pick, ...], pins=None) -> SlotWork:
        """dataclasses.replace(self, picks=..., pins=...), without its per-call field walk
        (the page stages run it for every slot of every page)."""
        return SlotWork(
            self.slot_id,
            self.size,
            picks,
            self.pins if pins is None else pins,
            self.diverse,
            self.explore,
            self.title,
        )

    def to_json(self) -> str:
        """The cached form of a slot's candidates after its rule effects (core/compose.py)."""
        return json.dumps(
            {
                "t": self.title,
                "p": [[p.product_id, p.score, p.reason, p.kind, p.rule] for p in self.picks],
                "n": [[p.product_id, at, p.rule] for p, at in self.pins],
                "x": [self.explore.share, list(self.explore.popular)] if self.explore else None,
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, slot_id: str, size: int, diverse: bool, raw: str) -> SlotWork:
        data = json.loads(raw)
        x = data.get("x")
        return cls(
            slot_id,
            size,
            tuple(Pick(*row) for row in data["p"]),
            tuple(
                (Pick(pid, 1.0, PINNED_REASON, "pinned", rule), at) for pid, at, rule in data["n"]
            ),
            diverse,
            Exploration(x[0], tuple(x[1])) if x else None,
            data.get("t", ""),
        )


# ---- stage 1: showable -----------------------------------------------------------------------


def showable(picks: Iterable[Pick], catalog: Catalog, avoid: frozenset[str]) -> list[Pick]:
    """The candidates that are in the catalog and not in a category the shopper avoids (muted,
    or shown often and never engaged with): their choice wins over everything below."""
    get = catalog.get
    if not avoid:  # nothing avoided: in the catalog is enough (every built page's candidates)
        return [pick for pick in picks if get(pick.product_id) is not None]
    out = []
    for pick in picks:
        p = get(pick.product_id)
        if p is not None and not p.in_any(avoid):
            out.append(pick)
    return out


# ---- stage 2: rule effects -------------------------------------------------------------------


def _lift_matches(p: Product, attr: str, value: str, newest) -> bool:
    if attr == "category":  # any level of the taxonomy: "dairy" lifts its cheeses too
        return value in p.category_path
    if attr == "price_band":
        return p.band == value
    if attr == "tag":
        from storefront.catalog import tokens

        return value in tokens(p.title)
    if attr == "new_days":
        if p.first_sold is None or newest is None:
            return False
        return p.first_sold >= newest - timedelta(days=int(value))
    return False


def _newest(catalog: Catalog):
    """ "New" is measured against the catalog's own newest product, so it means the same on
    historic demo data as on a live shop."""
    if not catalog.new_arrivals:
        return None
    return catalog.products[catalog.new_arrivals[0]].first_sold


def rule_effects(
    picks: Sequence[Pick],
    policy: SlotPolicy | None,
    catalog: Catalog,
    avoid: frozenset[str] = frozenset(),
    first_page: bool = True,
) -> tuple[list[Pick], list[tuple[Pick, int]]]:
    """The slot's rule policy on its candidates: hide (unless a higher-ranked pin exempts the
    product), boost / bury (a stable sort by the summed weights; a lifted product's kind
    becomes "boosted"), and the pins (first page only; never a product the shopper avoids).
    Returns the ranked picks without the pinned products, and the pins with 0-based slots."""
    if not policy:
        return list(picks), []

    def hidden(pid: str) -> bool:
        if pid in policy.exempt:
            return False
        p = catalog.get(pid)
        return pid in policy.hide_products or (p is not None and p.in_any(policy.hide_categories))

    out = [p for p in picks if not hidden(p.product_id)]
    if policy.lifts:
        newest = _newest(catalog)

        def weight(pick: Pick) -> int:
            p = catalog.get(pick.product_id)
            if p is None:
                return 0
            return sum(w for a, v, w in policy.lifts if _lift_matches(p, a, v, newest))

        weighted = [(pick, weight(pick)) for pick in out]
        weighted.sort(key=lambda pw: -pw[1])  # stable: the strategy's order within a tier
        out = [replace(pick, kind="boosted") if w > 0 else pick for pick, w in weighted]
    pins: list[tuple[Pick, int]] = []
    if first_page:
        for pid, position, rule in policy.pins:
            p = catalog.get(pid)
            if p is None or p.in_any(avoid):
                continue
            pins.append((Pick(pid, 1.0, PINNED_REASON, "pinned", rule), max(0, position - 1)))
    pinned = {p.product_id for p, _ in pins}
    return [p for p in out if p.product_id not in pinned], pins


# ---- stage 3: page-level de-duplication ------------------------------------------------------


def dedupe(work: SlotWork, shown: set[str], pinned_on_page: set[str]) -> SlotWork:
    """A product appears at most once a page. A pinned product keeps its pinned slot: every
    other slot gives it up, earlier ones included; products shown by an earlier slot (or the
    page's own product) leave this one."""
    pins = tuple((p, at) for p, at in work.pins if p.product_id not in shown)
    seen: set[str] = set()
    picks = []
    for p in work.picks:
        pid = p.product_id
        if pid in shown or pid in pinned_on_page or pid in seen:
            continue
        seen.add(pid)
        picks.append(p)
    return work.with_picks(tuple(picks), pins)


# ---- stage 4: caps and diversity -------------------------------------------------------------


def cap_of(size: int, share: float) -> int:
    """Most tiles one category may have in a rail of `size`."""
    return max(1, math.ceil(size * share))


def cap(work: SlotWork, catalog: Catalog, share: float) -> SlotWork:
    """Order the candidates so that the rail as it will be cut (its size less its pins) holds
    no more than the share from one category: products over the cap move behind the others
    and fill the rail only when nothing else is left. Every prefix keeps the cap, so the
    discovery picks that take later places never break it. Pins count towards their
    category; the shopper's own products (kind "repeat") are not capped."""
    if not work.diverse:
        return work
    limit = cap_of(work.size, share)
    room = max(0, work.size - len(work.pins))
    counts: Counter[str] = Counter(catalog.products[p.product_id].category for p, _ in work.pins)
    chosen: list[Pick] = []
    held: list[Pick] = []
    rest = iter(work.picks)
    get = catalog.get  # catalog.products[...] without the Mapping's own call per candidate
    for p in rest:
        product = get(p.product_id)
        if product is None:
            raise KeyError(p.product_id)
        cat = product.category
        if p.kind in UNCAPPED:
            chosen.append(p)
        elif counts[cat] < limit:
            chosen.append(p)
            counts[cat] += 1
        else:
            held.append(p)
        if len(chosen) >= room:
            break
    return work.with_picks((*chosen, *held, *rest))


# ---- stage 5: discovery ----------------------------------------------------------------------


def seeded_rng(*parts: object) -> random.Random:
    digest = hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=8).digest()
    return random.Random(int.from_bytes(digest, "big"))


def explore_count(n: int, share: float, rng: random.Random | None = None) -> int:
    """How many discovery picks a rail of n gets. With an rng the fraction is rounded at
    random (seeded), so over many rails the share is the configured one exactly; without,
    at least one whenever there is a share."""
    if share <= 0 or n < 3:
        return 0
    exact = n * share
    if rng is None:
        return max(1, math.floor(exact))
    whole = math.floor(exact)
    return min(n - 1, whole + (1 if rng.random() < exact - whole else 0))


def _one_per_category(catalog: Catalog, pids: Iterable[str], k: int, used: set[str]) -> list[str]:
    chosen: list[str] = []
    for pid in pids:
        if len(chosen) >= k:
            break
        cat = catalog.products[pid].category
        if cat in used:
            continue
        chosen.append(pid)
        used.add(cat)
    return chosen


def _pool(
    popular: Sequence[str],
    catalog: Catalog,
    skip: set[str],
    used: set[str],
    avoid: frozenset[str],
) -> list[str]:
    """The first DISCOVERY_POOL popular products a discovery pick may be: in the catalog, not
    in `skip`, in none of the avoided categories and not in a used one (read in order, only as
    far as needed; each product looked up once)."""
    pool: list[str] = []
    for pid in popular:
        if pid in skip:
            continue
        product = catalog.get(pid)
        if product is None or product.category in used or product.in_any(avoid):
            continue
        pool.append(pid)
        if len(pool) == DISCOVERY_POOL:
            break
    return pool


def discover(
    work: SlotWork,
    catalog: Catalog,
    rng: random.Random,
    usual: frozenset[str] = frozenset(),
    avoid: frozenset[str] = frozenset(),
    taken: set[str] = frozenset(),
) -> SlotWork:
    """Swap the slot's discovery share of its visible rail for products from categories
    outside the shopper's usual ones (those in view, and their lasting affinities): first the
    slot's own later candidates, then popular ones (a seeded choice), one per category. They
    take seeded places in the second half of the visible rail (never first); for a strong
    re-orderer (most of the rail their own products) the last places."""
    if work.explore is None:
        return work
    k = explore_count(work.size, work.explore.share, rng)
    room = max(0, work.size - len(work.pins))
    if k == 0 or room < 2:
        return work
    k = min(k, room - 1)
    view = list(work.picks[:room])
    in_view = {p.product_id for p in work.picks} | {p.product_id for p, _ in work.pins}
    used = set(usual) | {catalog.products[p.product_id].category for p in view}
    used |= {catalog.products[p.product_id].category for p, _ in work.pins}
    later = [p.product_id for p in work.picks[room:]]
    found = _one_per_category(catalog, later, k, used)
    if len(found) < k:
        pool = _pool(work.explore.popular, catalog, in_view | set(taken), used, avoid)
        found += _one_per_category(catalog, rng.sample(pool, len(pool)), k - len(found), used)
    if not found:
        return work
    extra = [Pick(pid, 0.0, DISCOVERY_REASON, "discovery") for pid in found]
    gone = set(found)
    ranked = [p for p in work.picks if p.product_id not in gone]
    kept = ranked[: room - len(extra)]
    if 2 * sum(p.kind == "repeat" for p in kept) >= max(1, len(kept)) and kept:
        merged = kept + extra
    else:
        merged = list(kept)
        for item in extra:
            lo = max(1, len(merged) // 2)
            merged.insert(rng.randint(lo, max(lo, len(merged))), item)
    return work.with_picks((*merged, *ranked[len(kept) :]))


# ---- stage 6: cut ----------------------------------------------------------------------------


def cut(work: SlotWork) -> list[Pick]:
    """The rail as shown: each pin at its position (a lower-ranked pin for a taken position
    goes just after; one past the end takes the last free place), the ranked picks around
    them, `size` tiles at most."""
    placed: dict[int, Pick] = {}
    for pick, position in work.pins:
        at = min(position, work.size - 1)
        while at in placed and at < work.size:
            at += 1
        if at >= work.size:
            free = [i for i in range(work.size) if i not in placed]
            if not free:
                continue
            at = free[-1]
        placed[at] = pick
    rest = iter(work.picks)
    out: list[Pick] = []
    for i in range(work.size):
        if i in placed:
            out.append(placed[i])
            continue
        nxt = next(rest, None)
        if nxt is not None:
            out.append(nxt)
    return out


# ---- stage 7: reasons ------------------------------------------------------------------------


def reasons(picks: Sequence[Pick], default_kind: str) -> list[Pick]:
    """Every tile with a reason a shopper reads and a kind a QA script reads (data-reason)."""
    return [p if p.kind else replace(p, kind=default_kind) for p in picks]


# ---- the page --------------------------------------------------------------------------------


def run_page(
    works: Sequence[SlotWork],
    catalog: Catalog,
    share: float,
    rng_for: Callable[[str], random.Random],
    shown: Iterable[str] = (),
    usual: frozenset[str] = frozenset(),
    avoid: frozenset[str] = frozenset(),
) -> list[tuple[SlotWork, list[Pick]]]:
    """The page-level stages over every slot in page order: dedupe -> cap -> discover -> cut
    -> reasons. `shown`: products already on the page (a product page's own product)."""
    seen = set(shown)
    pinned = {p.product_id for w in works for p, _ in w.pins}
    out = []
    for w in works:
        w = dedupe(w, seen, pinned - {p.product_id for p, _ in w.pins})
        w = cap(w, catalog, share)
        if w.explore is not None:  # a seeded rng costs a Mersenne Twister seeding: only here
            w = discover(w, catalog, rng_for(w.slot_id), usual, avoid, seen | pinned)
        picks = reasons(cut(w), "recommended")
        seen.update(p.product_id for p in picks)
        out.append((w, picks))
    return out
