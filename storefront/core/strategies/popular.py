"""Popular candidate strategies: trending near you, first-visit favourites, in season, new
arrivals and a category's best sellers. Shared by everyone in the same scope."""

from __future__ import annotations

from storefront.core.ports import LiveTrend
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
    settings_of,
)


def popular_near(req: Request, exclude: set[str]) -> list[Pick]:
    """The trained lists: popular in the visitor's country in past orders, topped up from
    the store's recent orders, then from the catalog's best sellers (no model at all)."""
    model = req.snap.model
    picks: list[Pick] = []
    where = place(req)
    if model is not None:
        if req.ctx.country:
            scored = model.popular("by_country", req.ctx.country)
            reason = f"Popular in {where} in past orders"
            picks = known(req, scored, reason, "trending", exclude)
        if len(picks) < req.n:
            seen = exclude | {p.product_id for p in picks}
            reason = "Popular in the shop's recent orders"
            rest = known(req, model.popular("recent"), reason, "trending", seen)
            picks += rest[: req.n - len(picks)]
    if len(picks) < req.n:  # no model at all: best sellers from the catalog itself
        seen = exclude | {p.product_id for p in picks}
        scored = req.snap.catalog.best_seller_units(req.n + len(seen))
        picks += known(req, scored, "One of our best sellers", "popular", seen)[
            : req.n - len(picks)
        ]
    return picks


MIN_LIVE_PRODUCTS = 4  # a live window with fewer products than a phone's rail is thin


def live_window(req: Request) -> LiveTrend | None:
    """The live window of the visitor's country (every country's, where the shop cannot
    place them) and part of day, or None when it is too thin to speak: less weight than
    STOREFRONT_TRENDING_LIVE_MIN or fewer than MIN_LIVE_PRODUCTS products."""
    t = req.ctx.time
    got = req.trends.window(req.ctx.country, t.daypart, t.local.date(), req.ctx.live_epoch)
    least = getattr(settings_of(req), "trending_live_min", 5.0)
    if got.weight < least or len(got.items) < MIN_LIVE_PRODUCTS:
        return None
    return got


_WHEN = {"morning": "this morning", "afternoon": "this afternoon", "evening": "this evening"}


def trending(req: Request) -> list[Pick]:
    """What shoppers near the visitor engaged with in recent days at this time of day (the
    live window), topped up from the trained lists; the trained lists alone when the live
    window is thin. Each pick's reason says which it is."""
    live = live_window(req)
    if live is None:
        return popular_near(req, set())
    where = place(req)
    daypart = req.ctx.time.daypart
    who = f"shoppers in {where}" if where else "shoppers"
    reason = f"Trending now: viewed, added and bought by {who} in recent {daypart}s"
    picks = known(req, list(live.items), reason, "trending")
    if len(picks) < req.n:
        seen = {p.product_id for p in picks}
        picks += popular_near(req, seen)[: req.n - len(picks)]
    return picks


def _trending_scope(req: Request) -> tuple[str, ...]:
    ctx = req.ctx
    return ("c", ctx.country or "-", "d", ctx.time.daypart, "t", str(ctx.live_epoch))


def _trending_title(req: Request, default: str) -> str:
    """Honest about what the rail shows: "Trending ... this evening" only when it is the live
    window of this part of the day; the trained lists are "Popular in <country>"."""
    where = place(req)
    if live_window(req) is None:
        return f"Popular in {where}" if where else "Popular with our customers"
    when = _WHEN.get(req.ctx.time.daypart, "tonight")
    return f"Trending in {where} {when}" if where else f"Trending {when}"


register(Strategy("trending_near_you", trending, _trending_scope, title=_trending_title))


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
