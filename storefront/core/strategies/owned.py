"""Candidate strategies from what the customer owns: buy again, what goes with it, and what
goes with the order they just placed."""

from __future__ import annotations

from storefront.core.strategies.base import (
    FALLBACK_POOL,
    Pick,
    Request,
    Strategy,
    just_bought,
    personal_scope,
    register,
    title_of,
)


def buy_again(req: Request) -> list[Pick]:
    """The customer's own products, most often and lately bought first, due ones lifted
    (recommender/repurchase.py)."""
    model = req.snap.model
    if model is None or not req.ctx.customer_id:
        return []
    from recommender.repurchase import cadence, rank

    picks = []
    skip = set(req.ctx.session.cart) | just_bought(req)  # in the basket, or just bought again
    for owned, score in rank(model.owned(req.ctx.customer_id), model.trending):
        product = req.snap.catalog.get(owned.product_id)
        if product is None or owned.product_id in skip:
            continue
        interval = owned.interval_days
        if interval is not None:
            reason = f"You order this {cadence(interval)}"
        else:
            when = model.bought_on(owned)
            reason = f"You bought this in {when:%B %Y}" if when is not None else "You bought this"
        picks.append(Pick(owned.product_id, score, reason, "repeat"))
        if len(picks) >= req.n:
            break
    return picks


register(Strategy("buy_again", buy_again, personal_scope))


def owned_complements(req: Request) -> list[Pick]:
    """Bought together with the customer's recent purchases, never what they already have."""
    model = req.snap.model
    if model is None or not req.ctx.customer_id:
        return []
    from recommender.repurchase import rank

    owned = [o for o, _ in rank(model.owned(req.ctx.customer_id))]
    if not owned:
        return []
    have = {o.product_id for o in owned} | set(req.ctx.session.cart) | just_bought(req)
    sources = {o.product_id: o for o in sorted(owned, key=lambda o: o.age_days)[:10]}
    reasons = {}  # one per source, not per candidate
    for source, o in sources.items():
        when = model.bought_on(o)
        month = f" in {when:%B}" if when is not None else ""
        reasons[source] = f"Goes with the {title_of(req, source)} you bought{month}"
    picks: list[Pick] = []
    for pid, score, source in model.similar_to_many(list(sources), req.n * 4):
        if pid in have or req.snap.catalog.get(pid) is None:
            continue
        picks.append(Pick(pid, score, reasons[source], "complement"))
        if len(picks) >= req.n:
            break
    return picks


register(Strategy("owned_complements", owned_complements, personal_scope))


def _order_products(req: Request) -> list[str]:
    return [p for p in str(req.page.get("products", "")).split(",") if p]


def order_complements(req: Request) -> list[Pick]:
    """What goes with the order just placed (page argument `products`, in basket order): the
    model's neighbours of its products, never one of them, nor anything else the shopper has
    in the basket or bought this session; without a model, best sellers of their categories."""
    bought = _order_products(req)
    if not bought:
        return []
    have = set(bought) | set(req.ctx.session.cart) | just_bought(req)
    catalog = req.snap.catalog
    picks: list[Pick] = []
    if req.snap.model is not None:
        for pid, score, source in req.snap.model.similar_to_many(bought, req.n * 4):
            if pid in have or catalog.get(pid) is None:
                continue
            picks.append(
                Pick(
                    pid,
                    score,
                    f"Goes with the {title_of(req, source)} you just bought",
                    "complement",
                )
            )
            if len(picks) >= req.n:
                return picks
    taken = have | {p.product_id for p in picks}
    for source in bought:  # no model, or too few neighbours: the same categories' best sellers
        product = catalog.get(source)
        if product is None:
            continue
        for pid in catalog.by_category.get(product.category, [])[:FALLBACK_POOL]:
            if pid in taken or catalog.get(pid) is None:
                continue
            taken.add(pid)
            reason = f"Often chosen with the {product.display_title}"
            picks.append(Pick(pid, 0.0, reason, "complement"))
            if len(picks) >= req.n:
                return picks
    return picks


def _order_scope(req: Request) -> tuple[str, ...]:
    """The visitor's session (what to leave out) and the order's products."""
    return (*personal_scope(req), "o", ",".join(_order_products(req)))


register(Strategy("order_complements", order_complements, _order_scope))
