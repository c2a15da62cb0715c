"""The named candidate strategies: each turns a context into scored products with a reason.

A strategy also declares its cache scope: exactly the facts its output depends on. That scope
becomes the fragment cache key, so a personal rail is keyed by visitor and session version while
"trending near you" is shared by everyone in the same country and daypart.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import redis
from flask import current_app

from storefront import event_effects, exposure, policy
from storefront.context import Context
from storefront.countries import country_name
from storefront.model_holder import Snapshot
from storefront.redis_client import get_redis


@dataclass(frozen=True)
class Pick:
    product_id: str
    score: float
    reason: str


@dataclass(frozen=True)
class Request:
    """What a strategy is asked: the context, the page's own arguments, and how many."""

    ctx: Context
    snap: Snapshot
    page: Mapping[str, Any]  # e.g. {"product_id": ...}, {"category": ...}, {"query": ...}
    params: Mapping[str, Any]
    n: int


@dataclass(frozen=True)
class Strategy:
    name: str
    pick: Callable[[Request], list[Pick]]
    scope: Callable[[Request], tuple[str, ...]]
    title: Callable[[Request, str], str] = lambda req, default: default


REGISTRY: dict[str, Strategy] = {}


def register(strategy: Strategy) -> Strategy:
    REGISTRY[strategy.name] = strategy
    return strategy


def get(name: str) -> Strategy | None:
    return REGISTRY.get(name)


# ---- helpers ---------------------------------------------------------------------------------


def _personal_scope(req: Request) -> tuple[str, ...]:
    s = req.ctx.session
    return (
        "v",
        req.ctx.visitor_id,
        "s",
        str(s.version),
        "h",
        "1" if req.ctx.consent.history else "0",
    )


def _has_taste(req: Request) -> bool:
    """Is there anything personal to go on (and may it be used)?"""
    if not req.ctx.consent.history:
        return False
    return bool(req.ctx.session.views or req.ctx.session.cart or req.ctx.customer_id)


def _settings():
    return current_app.config["SETTINGS"]


# A rail that falls back to a category's best sellers looks at this many of them (best first),
# not the whole category: a big catalog's category holds tens of thousands of products.
FALLBACK_POOL = 200


def _in_catalog(
    req: Request,
    scored: list[tuple[str, float]],
    reason: str,
    exclude: set[str] = frozenset(),
    diverse: bool = True,
    own: set[str] = frozenset(),
) -> list[Pick]:
    """The first n usable candidates: in the catalog, not excluded, not in a category the
    shopper avoids (muted or never engaged with), and, for rails, category-diverse.

    own: the shopper's own products. They are their choice, not the recommender's monotony, so
    they do not count against the category cap: the cap applies to the rest, and a rail that is
    mostly a re-orderer's own products is hardly capped (docs/evaluation.md, issue #10)."""
    catalog = req.snap.catalog
    scores = dict(scored)
    ok = policy.allowed(catalog, (pid for pid, _ in scored), req.ctx.traits.avoid, exclude)
    if diverse and own:
        others = policy.diversify(
            catalog, [p for p in ok if p not in own], req.n, _settings().rail_category_share
        )
        keep = set(others[: req.n]) | own
        ok = [p for p in ok if p in keep]
    elif diverse:
        ok = policy.diversify(catalog, ok, req.n, _settings().rail_category_share)
    return [Pick(pid, scores[pid], reason) for pid in ok[: req.n]]


def _without_pressure(req: Request, pids: list[str]) -> list[str]:
    """Move products this shopper has been shown too often in vain to the back."""
    if not pids or not req.ctx.consent.history:
        return pids
    try:
        ledger = event_effects.read_ledger(get_redis(), req.ctx.visitor_id, pids)
    except redis.RedisError:
        return pids
    tired = exposure.backed_off(ledger, pids)
    return [p for p in pids if p not in tired] + [p for p in pids if p in tired]


def _title_of(req: Request, pid: str) -> str:
    p = req.snap.catalog.get(pid)
    return p.display_title if p else pid


def _place(req: Request) -> str | None:
    return country_name(req.ctx.country) if req.ctx.country else None


def _popular_near(req: Request, exclude: set[str]) -> list[Pick]:
    """Trending in the visitor's country, topped up from the overall recent list."""
    model = req.snap.model
    picks: list[Pick] = []
    place = _place(req)
    if model is not None:
        if req.ctx.country:
            picks = _in_catalog(
                req,
                model.popular("by_country", req.ctx.country),
                f"Popular in {place} lately",
                exclude,
            )
        if len(picks) < req.n:
            seen = exclude | {p.product_id for p in picks}
            rest = _in_catalog(req, model.popular("recent"), "Popular this month", seen)
            picks += rest[: req.n - len(picks)]
    if len(picks) < req.n:  # no model at all: best sellers from the catalog itself
        seen = exclude | {p.product_id for p in picks}
        best = req.snap.catalog.best_sellers(req.n + len(seen))
        picks += _in_catalog(
            req, [(p.id, float(p.units_sold)) for p in best], "One of our best sellers", seen
        )[: req.n - len(picks)]
    return picks


# ---- strategies ------------------------------------------------------------------------------


def _for_you(req: Request) -> list[Pick]:
    """The served blend. params new_only: never a product the customer has ordered, for a
    page that shows "buy again" beside it (the home page): that rail already lists their own
    products, due ones first, so this one is for discovery. Elsewhere it keeps re-orders in."""
    model = req.snap.model
    s = req.ctx.session
    exclude = set(s.cart) | set(s.views[:10])  # just seen: "because you viewed" covers them
    new_only = bool(req.params.get("new_only"))
    if (
        not new_only
        and model is not None
        and model.session_keeps_views
        and not model.knows_user(req.ctx.customer_id)
    ):
        # only a session, and this store's validation says what they looked at is what such
        # visitors buy next (recommender/session_fit.py): it stays in (all purchases only)
        exclude = set(s.cart)
    if new_only and model is not None and req.ctx.consent.history:
        exclude |= set(model.history(req.ctx.customer_id))  # fallbacks and discovery too
    if model is not None and _has_taste(req):
        # the served blend: ALS taste with the session folded in, neighbours, own re-orders
        scored = model.recommend_for(
            req.ctx.customer_id, s.signals(), req.n * 4, exclude, new_only=new_only
        )
        if scored:
            if s.views or s.cart:
                reason = "Picked for you from what you looked at today"
            else:
                reason = "Picked for you from your past orders"
            candidates = _lean_to_traits(req, scored)
            order = _without_pressure(req, [pid for pid, _ in candidates])
            ranked = sorted(candidates, key=lambda c: order.index(c[0]))
            own = set() if new_only else set(model.history(req.ctx.customer_id))
            picks = _in_catalog(req, ranked, reason, exclude, own=own)
            if picks:
                return _with_discovery(req, picks, exclude, own, [p for p, _ in ranked])
    return _favourites(req, exclude)


TRAIT_LEAN = 0.15  # how far a lasting trait may lift a candidate's model score


def _lean_to_traits(req: Request, scored: list[tuple[str, float]]) -> list[tuple[str, float]]:
    """Nudge candidates towards the shopper's lasting traits (favourite categories, usual price
    band); the model's order still dominates, traits break near-ties."""
    traits = req.ctx.traits
    if not scored or not (traits.affinities or traits.price_band):
        return scored
    liked = dict(traits.affinities)
    top = max(abs(s) for _, s in scored) or 1.0
    catalog = req.snap.catalog
    out = []
    for pid, score in scored:
        p = catalog.get(pid)
        lift = 0.0
        if p is not None:
            lift += TRAIT_LEAN * liked.get(p.category, 0.0)
            lift += TRAIT_LEAN / 2 if traits.price_band and p.band == traits.price_band else 0.0
        out.append((pid, score + lift * top))
    return sorted(out, key=lambda t: -t[1])


def _favourites(req: Request, exclude: set[str]) -> list[Pick]:
    """A first visit: the list this store's training chose on its validation split (all-time
    best sellers, this month's, or the visitor's country's: recommender/fit.py); trending near
    you follows it on the page and the page's de-duplication keeps the two apart."""
    model = req.snap.model
    if model is None:
        return _popular_near(req, exclude)
    reason = {
        "lightfm": f"Picked for visitors from {_place(req)}" if req.ctx.country else None,
        "recent": "A customer favourite this month",
        "recent_customers": "A customer favourite this month",
        "by_country": f"A favourite in {_place(req)}" if req.ctx.country else None,
    }.get("lightfm" if model.cold_visitors else model.first_visit) or "A customer favourite"
    scored = model.first_visit_list(req.ctx.country, _device(req))
    picks = _in_catalog(req, scored, reason, exclude)
    return picks or _popular_near(req, exclude)


def _with_discovery(
    req: Request,
    picks: list[Pick],
    exclude: set[str],
    own: set[str] = frozenset(),
    ranked: Sequence[str] = (),
) -> list[Pick]:
    """Swap a bounded, seeded share of the rail for popular products from categories outside
    the shopper's usual ones, so habits do not go stale; clicks on them feed the traits: first
    the blend's own next candidates from such categories, then popular ones (seeded). The
    share is what this store's customers do themselves (the model's fitted explore_share: of
    what they bought next, the share from categories new to them), at most the operator's
    STOREFRONT_EXPLORE_SHARE.

    The share never drops below one slot. For a strong re-orderer (most of the rail is their own
    products) the slot goes at the end of the rail rather than between their re-orders."""
    model = req.snap.model
    share = _settings().explore_share  # the operator's cap; the store's own share below it
    if model is not None and model.explore_share is not None:
        share = min(share, model.explore_share)
    k = policy.explore_count(req.n, share)
    if k == 0 or model is None:
        return picks
    catalog = req.snap.catalog
    usual = {catalog.products[p.product_id].category for p in picks}
    usual |= {cat for cat, _ in req.ctx.traits.affinities}
    day = req.ctx.time.local.date()
    rng = policy.seeded_rng(req.ctx.visitor_id, req.ctx.session.version, req.ctx.seed or day)
    taken = exclude | {p.product_id for p in picks}
    avoid = req.ctx.traits.avoid
    found = policy.personal_exploration(catalog, ranked, usual, avoid, taken, k)
    if len(found) < k:  # then popular products of other categories, a seeded choice
        popular = [pid for pid, _ in model.popular("overall")]
        usual |= {catalog.products[pid].category for pid in found}
        taken = taken | set(found)
        found += policy.exploration(catalog, popular, usual, avoid, taken, k - len(found), rng)
    extra = [Pick(pid, 0.0, "Something new for you") for pid in found]
    kept = picks[: req.n - len(extra)]
    if own and 2 * sum(p.product_id in own for p in kept) >= len(kept):
        return kept + extra
    return policy.insert_at_seeded_positions(kept, extra, rng)


register(
    Strategy(
        "for_you",
        _for_you,
        _personal_scope,
        title=lambda req, d: d if _has_taste(req) else "Customer favourites to start with",
    )
)


def _because_you_viewed(req: Request) -> list[Pick]:
    views = list(req.ctx.session.views[:5])
    if not views or not req.ctx.consent.history:
        return []
    exclude = set(views) | set(req.ctx.session.cart)
    model = req.snap.model
    picks: list[Pick] = []
    if model is not None:
        neighbours = model.similar_to_many(views, req.n * 3)
        source = {pid: src for pid, _, src in neighbours}
        order = _without_pressure(req, [pid for pid, _, _ in neighbours])
        usable = policy.allowed(req.snap.catalog, order, req.ctx.traits.avoid, exclude)
        for pid in usable[: req.n]:
            reason = f"Because you viewed {_title_of(req, source[pid])}"
            picks.append(Pick(pid, 1.0, reason))
    if not picks:  # no model: the viewed product's category best sellers
        first = req.snap.catalog.get(views[0])
        if first is not None:
            ids = req.snap.catalog.by_category.get(first.category, [])[:FALLBACK_POOL]
            same = [(p, 1.0) for p in ids]
            picks = _in_catalog(req, same, f"Because you viewed {first.display_title}", exclude)
    return picks


register(
    Strategy(
        "because_you_viewed",
        _because_you_viewed,
        _personal_scope,
        title=lambda req, d: (
            f"Because you viewed {_title_of(req, req.ctx.session.views[0])}"
            if req.ctx.session.views
            else d
        ),
    )
)


def _trending_scope(req: Request) -> tuple[str, ...]:
    return ("c", req.ctx.country or "-", "d", req.ctx.time.daypart)


def _trending_title(req: Request, default: str) -> str:
    place = _place(req)
    when = {
        "morning": "this morning",
        "afternoon": "this afternoon",
        "evening": "this evening",
        "night": "tonight",
    }[req.ctx.time.daypart]
    return f"Trending in {place} {when}" if place else f"Trending {when}"


register(
    Strategy(
        "trending_near_you",
        lambda req: _popular_near(req, set()),
        _trending_scope,
        title=_trending_title,
    )
)


def _seasonal(req: Request) -> list[Pick]:
    model = req.snap.model
    month = str(req.ctx.time.month)
    if model is not None:
        picks = _in_catalog(
            req, model.popular("by_month", month), f"In season this {req.ctx.time.season}"
        )
        if picks:
            return picks
    return _newest(req)  # shared by everyone in the season: never the personal picks


def _seasonal_scope(req: Request) -> tuple[str, ...]:
    t = req.ctx.time
    return ("m", str(t.month), "s", t.season, "h", t.upcoming_holiday or t.holiday or "-")


def _seasonal_title(req: Request, default: str) -> str:
    t = req.ctx.time
    if t.holiday:
        return f"For {t.holiday}"
    if t.upcoming_holiday:
        return f"Ready for {t.upcoming_holiday}"
    return f"In season this {t.season}"


register(Strategy("seasonal", _seasonal, _seasonal_scope, title=_seasonal_title))


def _device(req: Request) -> str | None:
    """The device class, where the shopper lets it shape what is recommended."""
    return req.ctx.device if req.ctx.consent.device else None


def _serves_cold_products(req: Request) -> bool:
    model = req.snap.model
    return model is not None and model.cold_products


def _new_arrivals(req: Request) -> list[Pick]:
    """The newest products that sold; where this store's version serves LightFM for products
    nobody has bought yet (it won on validation: recommender/cold.py), up to half the rail
    is those, best first for this shopper's history, session and context."""
    unsold: list[Pick] = []
    if _serves_cold_products(req):
        model, s = req.snap.model, req.ctx.session
        customer = req.ctx.customer_id
        signals = s.signals() if req.ctx.consent.history else ()
        scored = model.cold_products_for(
            customer, signals, req.ctx.country, _device(req), req.n * 4
        )
        unsold = _in_catalog(req, scored, "New in the shop, picked for you")[: (req.n + 1) // 2]
    taken = {p.product_id for p in unsold}
    return unsold + _newest(req, taken)[: req.n - len(unsold)]


def _newest(req: Request, taken: set[str] = frozenset()) -> list[Pick]:
    """The newest products that sold, the same for everyone."""
    newest = req.snap.catalog.new_arrivals
    window = req.n * 8  # enough to survive filtering; widened only when it does not
    while True:
        picks = _in_catalog(req, [(p, 1.0) for p in newest[:window]], "New in the shop", taken)
        if len(picks) + len(taken) >= req.n or window >= len(newest):
            return picks
        window *= 4


def _new_arrivals_scope(req: Request) -> tuple[str, ...]:
    """Shared by everyone, unless LightFM picks never-bought products for each shopper."""
    if not _serves_cold_products(req):
        return ()
    return (*_personal_scope(req), "c", req.ctx.country or "", "d", _device(req) or "")


register(Strategy("new_arrivals", _new_arrivals, _new_arrivals_scope))


def _category_top(req: Request) -> list[Pick]:
    """Best sellers of one category (params: category), e.g. a gifts rail a rule adds."""
    slug = str(req.params.get("category", ""))
    ids = req.snap.catalog.by_category.get(slug, [])
    name = req.snap.catalog.category_name(slug) or slug
    scored = [(p, 1.0) for p in ids[: req.n * 3]]
    return _in_catalog(req, scored, f"A best seller in {name}", diverse=False)


register(Strategy("category_top", _category_top, lambda req: ()))  # params are in the key


def _buy_again(req: Request) -> list[Pick]:
    """The customer's own products, most often and lately bought first, due ones lifted
    (recommender/repurchase.py)."""
    model = req.snap.model
    if model is None or not req.ctx.customer_id:
        return []
    from recommender.repurchase import cadence, rank

    picks = []
    avoid = req.ctx.traits.avoid
    for owned, score in rank(model.owned(req.ctx.customer_id), model.trending):
        product = req.snap.catalog.get(owned.product_id)
        if product is None or product.in_any(avoid) or owned.product_id in req.ctx.session.cart:
            continue
        interval = owned.interval_days
        if interval is not None:
            reason = f"You order this {cadence(interval)}"
        else:
            when = model.bought_on(owned)
            reason = f"You bought this in {when:%B %Y}" if when is not None else "You bought this"
        picks.append(Pick(owned.product_id, score, reason))
        if len(picks) >= req.n:
            break
    return picks


register(Strategy("buy_again", _buy_again, _personal_scope))


def _goes_with_what_you_own(req: Request) -> list[Pick]:
    """Bought together with the customer's recent purchases, never what they already have."""
    model = req.snap.model
    if model is None or not req.ctx.customer_id:
        return []
    from recommender.repurchase import rank

    owned = [o for o, _ in rank(model.owned(req.ctx.customer_id))]
    if not owned:
        return []
    have = {o.product_id for o in owned}
    sources = {o.product_id: o for o in sorted(owned, key=lambda o: o.age_days)[:10]}
    reasons = {}  # one per source, not per candidate
    for source, o in sources.items():
        when = model.bought_on(o)
        month = f" in {when:%B}" if when is not None else ""
        reasons[source] = f"Goes with the {_title_of(req, source)} you bought{month}"
    picks = []
    for pid, score, source in model.similar_to_many(list(sources), req.n * 4):
        if pid in have or req.snap.catalog.get(pid) is None:
            continue
        picks.append(Pick(pid, score, reasons[source]))
    usable = policy.allowed(
        req.snap.catalog,
        [p.product_id for p in picks],
        req.ctx.traits.avoid,
        set(req.ctx.session.cart),
    )
    keep = {p: i for i, p in enumerate(usable[: req.n])}
    return [p for p in picks if p.product_id in keep][: req.n]


register(Strategy("owned_complements", _goes_with_what_you_own, _personal_scope))


def _recently_viewed(req: Request) -> list[Pick]:
    return _in_catalog(
        req, [(p, 1.0) for p in req.ctx.session.views], "You looked at this recently"
    )


register(Strategy("recently_viewed", _recently_viewed, _personal_scope))


def _similar(req: Request) -> list[Pick]:
    pid = str(req.page.get("product_id", ""))
    product = req.snap.catalog.get(pid)
    if product is None:
        return []
    reason = f"Similar to {product.display_title}"
    picks: list[Pick] = []
    if req.snap.model is not None:
        picks = _in_catalog(req, req.snap.model.similar(pid, req.n * 2), reason, {pid})
    if len(picks) < req.n:
        seen = {pid} | {p.product_id for p in picks}
        ids = req.snap.catalog.by_category.get(product.category, [])[:FALLBACK_POOL]
        same = [(p, 0.0) for p in ids]
        picks += _in_catalog(
            req, same, f"More in {req.snap.catalog.category_name(product.category)}", seen
        )[: req.n - len(picks)]
    return picks


register(Strategy("similar", _similar, lambda req: ("p", str(req.page.get("product_id", "")))))


def _rerank(
    req: Request, candidates: list[tuple[str, float]], weight: float
) -> list[tuple[str, float]]:
    """Blend a listing's own order with the shopper's taste (fold-in vector), when there is one."""
    model = req.snap.model
    if model is None or not _has_taste(req) or not candidates:
        return candidates
    vector = model.user_vector(req.ctx.customer_id, req.ctx.session.signals())
    if vector is None:
        return candidates
    import numpy as np

    idx = [model.item_index(pid) for pid, _ in candidates]
    known = np.array([i if i is not None else 0 for i in idx])
    taste = np.asarray(model.item_factors[known] @ vector)
    taste[[k for k, i in enumerate(idx) if i is None]] = 0.0
    base = np.linspace(1.0, 0.0, num=len(candidates))
    spread = taste.max() - taste.min()
    taste = (taste - taste.min()) / spread if spread > 0 else np.zeros_like(taste)
    blended = (1 - weight) * base + weight * taste
    order = np.argsort(-blended, kind="stable")
    return [(candidates[k][0], float(blended[k])) for k in order]


def _listing_scope(req: Request) -> tuple[str, ...]:
    shared = tuple(f"{k}={req.page.get(k, '')}" for k in ("category", "query", "page"))
    return shared + (_personal_scope(req) if _has_taste(req) else ())


RERANK_TOP = 300  # a category's best sellers that the shopper's taste may reorder


def _category_listing(req: Request) -> list[Pick]:
    """Every product of the category, page by page: its first RERANK_TOP best sellers in the
    shopper's order, then the rest as best sellers (only the page asked for is built, so a
    category of tens of thousands costs no more than a small one)."""
    slug = str(req.page.get("category", ""))
    ids = req.snap.catalog.by_category.get(slug, [])
    head = _rerank(req, [(p, 0.0) for p in ids[:RERANK_TOP]], float(req.params.get("taste", 0.35)))
    reason = (
        "Ordered for you: best sellers, nudged by your taste"
        if _has_taste(req)
        else "Best sellers first"
    )
    return _page_of(req, head, reason, rest=ids)


def _search_results(req: Request) -> list[Pick]:
    query = str(req.page.get("query", ""))
    hits = req.snap.catalog.search(query)
    ranked = _rerank(req, hits, float(req.params.get("taste", 0.25)))
    reason = f"Matches “{query}”, ordered for you" if _has_taste(req) else f"Matches “{query}”"
    return _page_of(req, ranked, reason)


def _page_of(
    req: Request, ranked: list[tuple[str, float]], reason: str, rest: Sequence[str] = ()
) -> list[Pick]:
    """This page of `ranked`; past its end, `rest` continues it (the ids after the first
    len(ranked), in their own order), and only the slice shown is read from it."""
    page = max(1, int(req.page.get("page", 1) or 1))
    start = (page - 1) * req.n
    window = ranked[start : start + req.n]
    if len(window) < req.n and len(rest) > len(ranked):
        at = max(start, len(ranked))
        window = window + [(p, 0.0) for p in rest[at : at + req.n - len(window)]]
    return [Pick(pid, s, reason) for pid, s in window]


register(Strategy("category_listing", _category_listing, _listing_scope))
register(Strategy("search_results", _search_results, _listing_scope))


def _cart_complements(req: Request) -> list[Pick]:
    cart = list(req.ctx.session.cart)
    if not cart or req.snap.model is None:
        return []
    picks: list[Pick] = []
    for pid, score, source in req.snap.model.similar_to_many(cart, req.n * 3):
        if pid in req.ctx.session.cart or req.snap.catalog.get(pid) is None:
            continue
        picks.append(Pick(pid, score, f"Goes with the {_title_of(req, source)} in your basket"))
        if len(picks) >= req.n:
            break
    return picks


register(Strategy("cart_complements", _cart_complements, _personal_scope))
