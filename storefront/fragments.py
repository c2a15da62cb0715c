"""The web side of slots: the fragment cache adapter (Redis), the cache key, and rendering the
composed slots (core/compose.py) as HTML fragments or as the JSON API's items.

The cache holds each slot's candidates after its rule effects, one MGET per page; the HTML is
rendered from the pipeline's picks on every page (the page cache keeps warm pages whole).
"""

from __future__ import annotations

import logging
import re
import threading
import weakref
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import redis
from flask import current_app, render_template, request
from markupsafe import Markup, escape

from storefront.core import strategies
from storefront.core.compose import Composed, Timings
from storefront.core.dependencies import params_digest, slot_key
from storefront.layouts import Slot
from storefront.rules.apply import SlotPolicy

log = logging.getLogger(__name__)
__all__ = ["RedisFragments", "Rendered", "Timings", "fragment_key", "render_html", "payload"]


@dataclass(frozen=True)
class Rendered:
    slot: Slot
    html: str
    hit: bool
    composed: Composed | None = None


def fragment_key(
    slot: Slot,
    req: strategies.Request,
    rules_version: str,
    variant: str,
    policy: SlotPolicy | None = None,
) -> str:
    """sf:frag:<slot>:<strategy>:<params>:<variant>:<scope...>:m<model>:r<rules>[.<policy>]
    (core/dependencies.py: the one description of what a slot depends on)."""
    return slot_key(slot, req, rules_version, variant, policy)


class RedisFragments:
    """The FragmentCache port on Redis: a failing Redis is a miss, never a broken page.

    With `defer`, the fragments to store are kept (`pending`) for the caller to write with the
    page in one round trip, after the response (page_cache.store, page_cache.behind)."""

    def __init__(self, client: redis.Redis, defer: bool = False):
        self.client = client
        self.defer = defer
        self.pending: dict[str, str] = {}
        self.ttl = 0

    def mget(self, keys: Sequence[str]) -> list[str | None]:
        try:
            return self.client.mget(keys)
        except redis.RedisError as exc:
            log.warning("fragment cache unavailable, computing every slot: %s", exc)
            return [None] * len(keys)

    def set_many(self, values: Mapping[str, str], ttl: int) -> None:
        if self.defer:
            self.pending.update(values)
            self.ttl = ttl
            return
        try:
            pipe = self.client.pipeline(transaction=False)
            self.queue(pipe, values, ttl)
            pipe.execute()
        except redis.RedisError as exc:
            log.warning("could not store fragments: %s", exc)

    @staticmethod
    def queue(pipe, values: Mapping[str, str], ttl: int) -> None:
        """Add the SETs of `values` to a pipeline."""
        for k, v in values.items():
            pipe.set(k, v, ex=ttl)


_RENDERED: OrderedDict[tuple, str] = OrderedDict()  # fragment HTML by everything it shows
_RENDERED_MAX = 4096
_lock = threading.Lock()


def _render(c: Composed, page: str, catalog, compact: bool) -> str:
    """One slot's HTML, memoised in the worker: the same picks, title and slot render the same
    bytes, so a shared rail (or an unchanged personal one) is rendered once, not per page."""
    memo = (
        current_app.name,
        request.script_root,
        catalog.version,
        c.slot.id,
        c.slot.strategy,
        c.slot.template,
        params_digest(c.slot),
        c.title,
        page,
        compact,
        tuple((p.product_id, p.reason, p.kind, p.rule) for p in c.picks),
    )
    html = _RENDERED.get(memo)
    if html is not None:
        return html
    items = [(catalog.products[p.product_id], p) for p in c.picks]
    html = render_template(
        f"fragments/{c.slot.template}.html",
        slot=c.slot,
        title=c.title,
        items=items,
        page=page,
        compact=compact,
    )
    with _lock:
        _RENDERED[memo] = html
        while len(_RENDERED) > _RENDERED_MAX:
            _RENDERED.popitem(last=False)
    return html


_TILES: OrderedDict[tuple, tuple] = OrderedDict()  # (product, its tile pieces): tile()
_TILES_MAX = 8192
# what a tile shows of its pick, as placeholders: _tile.html is rendered once per product with
# these, and each tile is its pieces with the pick's own (escaped) words put back
_FIELDS = ("kind", "rule", "reason")


@dataclass(frozen=True)
class _Holes:
    """A pick whose words are placeholders (`mark` around each field's name)."""

    mark: str
    has_rule: bool

    def __getattr__(self, name: str) -> str:
        if name not in _FIELDS:
            raise AttributeError(name)
        return f"{self.mark}{name}{self.mark}" if name != "rule" or self.has_rule else ""

    def split(self, html: str) -> tuple[str, ...]:
        holes = "|".join(re.escape(f"{self.mark}{name}{self.mark}") for name in _FIELDS)
        parts = re.split(f"({holes})", html)
        return tuple(part if i % 2 == 0 else part[1:-1] for i, part in enumerate(parts))


def _pieces(template, p, rule: bool) -> tuple[str, ...] | None:
    """_tile.html for product p, split at the pick's words: text, then a field's name, in
    turn. Rendered with two sets of placeholders, which must split alike: otherwise the
    product's own text holds one (None: the tile is rendered whole)."""
    one, two = (_Holes(mark, rule) for mark in ("\x00", "\x01"))
    pieces = one.split(template.render(p=p, pick=one))
    return pieces if pieces == two.split(template.render(p=p, pick=two)) else None


def tile(p, pick) -> Markup:
    """One product tile (fragments/_tile.html). The template is rendered once per product
    (memoised in the worker by the app, the script root its links are under and the product
    with all its fields) with placeholders for what it shows of the pick (kind, rule, reason;
    the template may test only whether there is a rule); each tile then fills them in, escaped
    as the template would. A personal rail's fragment, new as a whole, is mostly products
    other pages showed."""
    app = current_app._get_current_object()
    rule = bool(pick.rule)
    memo = (app.name, request._get_current_object().script_root, p.id, rule)
    kept = _TILES.get(memo)
    # the product itself checked: the catalog hands out the same object while it keeps it,
    # and an equal one (every field) after; another catalog's product of this id is not equal
    if kept is not None and (kept[0] is p or kept[0] == p):
        pieces = kept[1]
    else:
        template = app.jinja_env.get_template("fragments/_tile.html")
        pieces = _pieces(template, p, rule)
        if pieces is None:
            return Markup(template.render(p=p, pick=pick))
        with _lock:
            _TILES[memo] = (p, pieces)
            while len(_TILES) > _TILES_MAX:
                _TILES.popitem(last=False)
    return Markup(
        "".join(
            [
                piece if i % 2 == 0 else escape(getattr(pick, piece))
                for i, piece in enumerate(pieces)
            ]
        )
    )


# the category menu (shop/_categories.html) per catalog: a catalog's entry goes with it
_MENUS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_MENUS_MAX = 1024  # per catalog: the shop's categories (the current one marked) by script root


def category_nav(catalog, category_slug: str | None) -> Markup:
    """The category menu of every shop page, rendered once per catalog, app, script root and
    current category (the links are link()'s, which depend on nothing else)."""
    app = current_app._get_current_object()
    memo = (app.name, request.script_root, category_slug)
    menus = _MENUS.get(catalog)
    html = menus.get(memo) if menus is not None else None
    if html is not None:
        return html
    html = Markup(
        app.jinja_env.get_template("shop/_categories.html").render(
            catalog=catalog, category_slug=category_slug
        )
    )
    with _lock:
        menus = _MENUS.setdefault(catalog, {})
        if len(menus) >= _MENUS_MAX:
            menus.clear()
        menus[memo] = html
    return html


def shows_template(slots: Sequence[Rendered], template: str) -> bool:
    """Whether a slot of the page uses this fragment template (base.html: the hero's styles);
    a filter chain (selectattr | list) cost several times more on every page."""
    return any(r.slot.template == template for r in slots)


def init_app(app) -> None:
    app.jinja_env.globals.update(
        tile=tile, category_nav=category_nav, shows_template=shows_template
    )


def render_html(composed: Sequence[Composed], page: str, catalog, compact: bool) -> list[Rendered]:
    """Each composed slot as its HTML fragment (fragments/<template>.html); the shop, the
    studio preview and anything else that shows a page renders slots with this alone."""
    return [Rendered(c.slot, _render(c, page, catalog, compact), c.hit, c) for c in composed]


def payload(c: Composed, catalog) -> dict:
    """The JSON form of a slot for the headless API: the same picks as the HTML fragment."""
    items = []
    for p in c.picks:
        product = catalog.products[p.product_id]
        items.append(
            {
                "id": p.product_id,
                "title": product.display_title,
                "price": round(product.price, 2),
                "currency": product.details.currency or "GBP",
                "category": product.category,
                "reason": p.reason,
                "image_url": product.details.image_url,  # None: the API links the drawn tile
            }
        )
    return {
        "slot": c.slot.id,
        "strategy": c.slot.strategy,
        "title": c.title,
        "size": c.slot.size,
        "items": items,
    }
