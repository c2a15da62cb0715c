"""Popular candidate strategies: trending near you, first-visit favourites, in season, new
arrivals and a category's best sellers. Shared by everyone in the same scope."""

from __future__ import annotations

from storefront.core.strategies.base import (
    Pick,
    Request,
    Strategy,
    device,
    just_bought,
    known,
    personal_scope,
    place,
    register,
)


def popular_near(req: Request, exclude: set[str]) -> list[Pick]:
    """Trending in the visitor's country, topped up from the overall recent list."""
    model = req.snap.model
    picks: list[Pick] = []
    where = place(req)
    if model is not None:
        if req.ctx.country:
            scored = model.popular("by_country", req.ctx.country)
            picks = known(req, scored, f"Popular in {where} lately", "trending", exclude)
        if len(picks) < req.n:
            seen = exclude | {p.product_id for p in picks}
            rest = known(req, model.popular("recent"), "Popular this month", "trending", seen)
            picks += rest[: req.n - len(picks)]
    if len(picks) < req.n:  # no model at all: best sellers from the catalog itself
        seen = exclude | {p.product_id for p in picks}
        best = req.snap.catalog.best_sellers(req.n + len(seen))
        scored = [(p.id, float(p.units_sold)) for p in best]
        picks += known(req, scored, "One of our best sellers", "popular", seen)[
            : req.n - len(picks)
        ]
    return picks


def favourites(req: Request, exclude: set[str]) -> list[Pick]:
    """A first visit: the list this store's training chose on its validation split (all-time
    best sellers, this month's, or the visitor's country's: recommender/fit.py); trending near
    you follows it on the page and the page's de-duplication keeps the two apart."""
    model = req.snap.model
    if model is None:
        return popular_near(req, exclude)
    where = place(req)
    reason = {
        "lightfm": f"Picked for visitors from {where}" if req.ctx.country else None,
        "recent": "A customer favourite this month",
        "recent_customers": "A customer favourite this month",
        "by_country": f"A favourite in {where}" if req.ctx.country else None,
    }.get("lightfm" if model.cold_visitors else model.first_visit) or "A customer favourite"
    scored = model.first_visit_list(req.ctx.country, device(req))
    picks = known(req, scored, reason, "popular", exclude)
    return picks or popular_near(req, exclude)


def _trending_scope(req: Request) -> tuple[str, ...]:
    return ("c", req.ctx.country or "-", "d", req.ctx.time.daypart)


def _trending_title(req: Request, default: str) -> str:
    where = place(req)
    when = {
        "morning": "this morning",
        "afternoon": "this afternoon",
        "evening": "this evening",
        "night": "tonight",
    }[req.ctx.time.daypart]
    return f"Trending in {where} {when}" if where else f"Trending {when}"


register(
    Strategy(
        "trending_near_you",
        lambda req: popular_near(req, set()),
        _trending_scope,
        title=_trending_title,
    )
)


def seasonal(req: Request) -> list[Pick]:
    model = req.snap.model
    month = str(req.ctx.time.month)
    if model is not None:
        scored = model.popular("by_month", month)
        picks = known(req, scored, f"In season this {req.ctx.time.season}", "seasonal")
        if picks:
            return picks
    return newest(req)  # shared by everyone in the season: never the personal picks


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


register(Strategy("seasonal", seasonal, _seasonal_scope, title=_seasonal_title))


def _serves_cold_products(req: Request) -> bool:
    model = req.snap.model
    return model is not None and model.cold_products


def new_arrivals(req: Request) -> list[Pick]:
    """The newest products that sold; where this store's version serves LightFM for products
    nobody has bought yet (it won on validation: recommender/cold.py), up to half the rail
    is those, best first for this shopper's history, session and context."""
    unsold: list[Pick] = []
    if _serves_cold_products(req):
        model, s = req.snap.model, req.ctx.session
        signals = s.signals() if req.ctx.consent.history else ()
        scored = model.cold_products_for(
            req.ctx.customer_id, signals, req.ctx.country, device(req), req.n * 4
        )
        reason = "New in the shop, picked for you"
        unsold = known(req, scored, reason, "new", just_bought(req))[: (req.n + 1) // 2]
    taken = {p.product_id for p in unsold}
    return unsold + newest(req, taken)[: req.n - len(unsold)]


def newest(req: Request, taken: set[str] = frozenset()) -> list[Pick]:
    """The newest products that sold, the same for everyone."""
    ids = req.snap.catalog.new_arrivals[: req.n + len(taken)]
    return known(req, [(p, 1.0) for p in ids], "New in the shop", "new", taken)


def _new_arrivals_scope(req: Request) -> tuple[str, ...]:
    """Shared by everyone, unless LightFM picks never-bought products for each shopper."""
    if not _serves_cold_products(req):
        return ()
    return (*personal_scope(req), "c", req.ctx.country or "", "d", device(req) or "")


register(Strategy("new_arrivals", new_arrivals, _new_arrivals_scope))


def category_top(req: Request) -> list[Pick]:
    """Best sellers of one category (params: category), e.g. a gifts rail a rule adds."""
    slug = str(req.params.get("category", ""))
    ids = req.snap.catalog.by_category.get(slug, [])
    name = req.snap.catalog.category_name(slug) or slug
    scored = [(p, 1.0) for p in ids[: req.n]]
    return known(req, scored, f"A best seller in {name}", "category")


# params are in the key; one category's own list is not capped by category
register(Strategy("category_top", category_top, lambda req: (), diverse=False))
