"""Candidate strategies from what the customer owns: buy again, and what goes with it."""

from __future__ import annotations

from storefront.core.strategies.base import (
    Pick,
    Request,
    Strategy,
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
    for owned, score in rank(model.owned(req.ctx.customer_id), model.trending):
        product = req.snap.catalog.get(owned.product_id)
        if product is None or owned.product_id in req.ctx.session.cart:
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
    have = {o.product_id for o in owned} | set(req.ctx.session.cart)
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
