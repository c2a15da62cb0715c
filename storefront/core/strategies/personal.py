"""Personal candidate strategies: for you, because you viewed, recently viewed, basket
complements. Each is keyed by the visitor and their session version."""

from __future__ import annotations

from typing import Any

from storefront.core.strategies.base import (
    FALLBACK_POOL,
    Exploration,
    Pick,
    Request,
    Strategy,
    has_taste,
    just_bought,
    known,
    personal_scope,
    register,
    settings_of,
    title_of,
    without_pressure,
)
from storefront.core.strategies.popular import favourites

TRAIT_LEAN = 0.15  # how far a lasting trait may lift a candidate's model score
EXPLORE_POOL = 200  # popular products a discovery pick is drawn from


def _for_you_exclude(req: Request) -> tuple[set[str], bool]:
    model = req.snap.model
    s = req.ctx.session
    # just seen ("because you viewed" covers them), in the basket, or just bought
    exclude = set(s.cart) | set(s.views[:10]) | just_bought(req)
    new_only = bool(req.params.get("new_only"))
    if (
        not new_only
        and model is not None
        and model.session_keeps_views
        and not model.knows_user(req.ctx.customer_id)
    ):
        # only a session, and this store's validation says what they looked at is what such
        # visitors buy next (recommender/session_fit.py): it stays in (all purchases only)
        exclude = set(s.cart) | just_bought(req)
    if new_only and model is not None and req.ctx.consent.history:
        exclude |= set(model.history(req.ctx.customer_id))  # fallbacks and discovery too
    return exclude, new_only


def for_you(req: Request) -> list[Pick]:
    """The served blend. params new_only: never a product the customer has ordered, for a
    page that shows "buy again" beside it (the home page): that rail already lists their own
    products, due ones first, so this one is for discovery. Elsewhere it keeps re-orders in,
    as kind "repeat" (the category cap leaves the shopper's own products alone)."""
    model = req.snap.model
    s = req.ctx.session
    exclude, new_only = _for_you_exclude(req)
    if model is not None and has_taste(req):
        # the served blend: ALS taste with the session folded in, neighbours, own re-orders
        scored = model.recommend_for(
            req.ctx.customer_id, s.signals(), req.n * 4, exclude, new_only=new_only
        )
        if scored:
            if s.bought:
                reason = "Picked for you from what you just bought"
            elif s.views or s.cart:
                reason = "Picked for you from what you looked at today"
            else:
                reason = "Picked for you from your past orders"
            candidates = lean_to_traits(req, scored)
            order = without_pressure(req, [pid for pid, _ in candidates])
            at = {pid: i for i, pid in enumerate(order)}
            ranked = sorted(candidates, key=lambda c: at[c[0]])
            own = set() if new_only else set(model.history(req.ctx.customer_id))
            picks = known(req, ranked, reason, "personal", exclude)
            picks = [
                Pick(p.product_id, p.score, p.reason, "repeat") if p.product_id in own else p
                for p in picks
            ]
            if picks:
                return picks
    return favourites(req, exclude)


def discovery_share(settings: Any, fitted: float | None) -> float:
    """The share of "for you" given to discovery: STOREFRONT_EXPLORE_SHARE where the shop set
    it (the merchandiser's choice wins, 0 turns discovery off); else what this store's
    customers do themselves, the share training fitted on its validation split
    (recommender/fit.py); else the setting's default (a model without a fitted share)."""
    configured = "explore_share" in getattr(settings, "model_fields_set", ())
    if configured or fitted is None:
        return float(settings.explore_share)
    return float(fitted)


def for_you_exploration(req: Request) -> Exploration | None:
    """Discovery for a rail built from the shopper's taste, at `discovery_share`; drawn from
    the rail's own later candidates first, then from popular products (core/pipeline.py
    discover). Not on a first visit (signed in, nothing bought, no session): with no usual
    categories there is nothing to discover beyond, the rail is the store's fitted first-visit
    list, and the share was fitted on what returning customers do."""
    model = req.snap.model
    if model is None or not has_taste(req):
        return None
    s = req.ctx.session
    if not (s.views or s.cart or s.bought or model.knows_user(req.ctx.customer_id)):
        return None
    share = discovery_share(settings_of(req), model.explore_share)
    if share <= 0:
        return None
    exclude, _ = _for_you_exclude(req)
    popular = [pid for pid, _ in model.popular("overall") if pid not in exclude]
    return Exploration(share, tuple(popular[:EXPLORE_POOL]))


def lean_to_traits(req: Request, scored: list[tuple[str, float]]) -> list[tuple[str, float]]:
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


register(
    Strategy(
        "for_you",
        for_you,
        personal_scope,
        title=lambda req, d: d if has_taste(req) else "Customer favourites to start with",
        explore=for_you_exploration,
    )
)


def because_you_viewed(req: Request) -> list[Pick]:
    views = list(req.ctx.session.views[:5])
    if not views or not req.ctx.consent.history:
        return []
    exclude = set(views) | set(req.ctx.session.cart) | just_bought(req)
    model = req.snap.model
    picks: list[Pick] = []
    if model is not None:
        neighbours = model.similar_to_many(views, req.n * 3)
        source = {pid: src for pid, _, src in neighbours}
        order = without_pressure(req, [pid for pid, _, _ in neighbours])
        for pid in order:
            if pid in exclude or pid not in req.snap.catalog.products:
                continue
            reason = f"Because you viewed {title_of(req, source[pid])}"
            picks.append(Pick(pid, 1.0, reason, "similar"))
            if len(picks) >= req.n:
                break
    if not picks:  # no model: the viewed product's category best sellers
        first = req.snap.catalog.get(views[0])
        if first is not None:
            ids = req.snap.catalog.by_category.get(first.category, [])[:FALLBACK_POOL]
            same = [(p, 1.0) for p in ids]
            reason = f"Because you viewed {first.display_title}"
            picks = known(req, same, reason, "similar", exclude)
    return picks


register(
    Strategy(
        "because_you_viewed",
        because_you_viewed,
        personal_scope,
        title=lambda req, d: (
            f"Because you viewed {title_of(req, req.ctx.session.views[0])}"
            if req.ctx.session.views
            else d
        ),
    )
)


def recently_viewed(req: Request) -> list[Pick]:
    views = [(p, 1.0) for p in req.ctx.session.views]
    return known(req, views, "You looked at this recently", "recent")


register(Strategy("recently_viewed", recently_viewed, personal_scope))


def cart_complements(req: Request) -> list[Pick]:
    cart = list(req.ctx.session.cart)
    if not cart or req.snap.model is None:
        return []
    picks: list[Pick] = []
    have = set(cart) | just_bought(req)
    for pid, score, source in req.snap.model.similar_to_many(cart, req.n * 3):
        if pid in have or req.snap.catalog.get(pid) is None:
            continue
        reason = f"Goes with the {title_of(req, source)} in your basket"
        picks.append(Pick(pid, score, reason, "complement"))
        if len(picks) >= req.n:
            break
    return picks


register(Strategy("cart_complements", cart_complements, personal_scope))
