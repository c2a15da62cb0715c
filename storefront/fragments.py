"""The web side of slots: the fragment cache adapter (Redis), the cache key, and rendering the
composed slots (core/compose.py) as HTML fragments or as the JSON API's items.

The cache holds each slot's candidates after its rule effects, one MGET per page; the HTML is
rendered from the pipeline's picks on every page (the page cache keeps warm pages whole).
"""

from __future__ import annotations

import functools
import logging
import threading
import weakref
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import redis
from flask import current_app, request
from jinja2 import meta, nodes
from markupsafe import Markup, escape

from storefront.core import bounded, strategies
from storefront.core.compose import Composed, Timings
from storefront.core.dependencies import params_digest, slot_key
from storefront.layouts import Slot
from storefront.links import product_links
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
    app = current_app._get_current_object()
    # the slot as its frame shows it (everything but the tiles: _frame), then what the tiles show
    shape = (
        request.script_root,
        c.slot.id,
        c.slot.strategy,
        c.slot.template,
        params_digest(c.slot),
        c.title,
        page,
        compact,
    )
    memo = (
        app.name,
        catalog.version,
        shape,
        tuple((p.product_id, p.reason, p.kind, p.rule) for p in c.picks),
    )
    html = _RENDERED.get(memo)
    if html is not None:
        return html
    items = [(catalog.products[p.product_id], p) for p in c.picks]
    # the environment's own render: a fragment reads none of the request globals that Flask's
    # render_template adds (its context processors cost more than the slot's few lines)
    template = app.jinja_env.get_template(f"fragments/{c.slot.template}.html")
    frame = _frame(app, template, shape, c, page, compact)
    if frame is not None:
        html = f"{frame[0]}{tiles(items, catalog)}{frame[1]}"
    else:
        html = template.render(
            slot=c.slot,
            title=c.title,
            items=items,
            tiles=tiles(items, catalog),
            page=page,
            compact=compact,
        )
    with _lock:
        bounded.put(_RENDERED, memo, html, _RENDERED_MAX)
    return html


# a slot's HTML around its tiles, by template, kept while the template is (a reloaded one is a
# new object): every fragment template but a personal pick's tiles is the slot's and title's
_FRAMES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_FRAMES_MAX = 1024  # per template: slots x titles x pages x variants (shared titles mostly)
_FRAMED = frozenset({"slot", "title", "tiles", "page", "compact"})
_TILES_MARK = "\x00tiles\x00"  # stands in for the tiles; escaping leaves it as it is


def _framed(app, template) -> bool:
    """Whether the template reads nothing but _FRAMED (no items, no globals, no other
    template): then its HTML is the same around any tiles, and is kept as two pieces."""
    env = app.jinja_env
    try:
        source = env.loader.get_source(env, template.name)[0]
        ast = env.parse(source)
    except Exception:  # no loader, or a template made from a string: rendered each time
        return False
    names = list(ast.find_all(nodes.Name))
    own = {n.name for n in names if n.ctx != "load"}  # what the template sets itself
    read = {n.name for n in names if n.ctx == "load"}  # globals too (find_undeclared_variables
    # leaves out the environment's globals, which may read the request)
    return read <= _FRAMED | own and not any(True for _ in meta.find_referenced_templates(ast))


def _frame(
    app, template, shape: tuple, c: Composed, page: str, compact: bool
) -> tuple[str, str] | None:
    """The slot's fragment HTML before and after its tiles (None: render it whole), kept by
    the template and `shape` (_render's: script root, slot, title, page, variant)."""
    entry = _FRAMES.get(template)
    if entry is None:
        with _lock:
            entry = _FRAMES.setdefault(template, (_framed(app, template), {}))
    framed, frames = entry
    if not framed:
        return None
    pieces = frames.get(shape)
    if pieces is None:
        mark = Markup(_TILES_MARK)
        html = template.render(
            slot=c.slot, title=c.title, items=(), tiles=mark, page=page, compact=compact
        )
        pieces = tuple(html.split(_TILES_MARK))
        if len(pieces) != 2:  # the slot's own text holds the mark, or no tiles: render whole
            return None
        _keep(frames, shape, pieces, _FRAMES_MAX)
    return pieces


# a product's tile pieces and a product page's <article> are kept per app (its URL map and
# templates) and catalog (the entry goes with the catalog), by script root and product: the
# links of a page are the app's URL map's under the request's script root
_TILES_MAX = 4096  # tiles per catalog; the oldest goes first (~0.6 KB each: ~2.5 MB at most)
_ARTICLES_MAX = 1024  # articles per catalog; oldest first out (~1 KB each, more with descriptions)


def _per_catalog(app, name: str, catalog) -> dict:
    tables = app.extensions.get(name)
    if tables is None:
        with _lock:
            tables = app.extensions.setdefault(name, weakref.WeakKeyDictionary())
    memo = tables.get(catalog)
    if memo is None:
        with _lock:
            memo = tables.setdefault(catalog, {})
    return memo


def _keep(memo: dict, key, value, limit: int) -> None:
    with _lock:
        bounded.put(memo, key, value, limit)


def _tile_pieces(p) -> tuple[str, str]:
    """The product's part of a tile, escaped, before and after the pick's kind and rule (the
    template include it replaces is kept in tests/unit/test_built_memos.py, which holds the
    two byte for byte equal)."""
    href, img = product_links(p.id)
    title = escape(p.display_title)
    head = f'<li class="tile" data-category="{escape(p.category_path[0])}" data-reason="'
    mid = (
        f' data-product-id="{escape(p.id)}">\n'
        f'  <a class="tile-link" href="{escape(href)}">\n'
        f'    <img src="{escape(p.details.image_url or img)}" alt="{title}" width="160"'
        ' height="160" loading="lazy" decoding="async">\n'
        f'    <span class="tile-title">{title}</span>\n'
        "  </a>\n"
        f'  <span class="price">{escape(p.price_text)}</span>\n'
        '  <details class="why"><summary>Why this?</summary><p>'
    )
    return head, mid


@functools.lru_cache(maxsize=4096, typed=True)
def _pick_parts(kind: str, rule: str, reason: str) -> tuple[str, str]:
    """A pick's kind (with its rule's attribute) and reason, escaped: a handful of reasons
    ("Trending near you", "Because you viewed ...") recur on every page."""
    attr = f' data-rule="{escape(rule)}"' if rule else ""
    return f'{escape(kind)}"{attr}', str(escape(reason))


def tiles(items: Sequence[tuple], catalog) -> Markup:
    """Each (product, pick) as its tile's HTML (`<li class="tile">`), one after the other: the
    product's pieces are built on a worker's first sight of the product and kept per app and
    catalog (bounded); a pick's kind, rule and reason are escaped once per worker (bounded)."""
    memo = _per_catalog(current_app._get_current_object(), "sf.tiles", catalog)
    root, version = request.script_root, catalog.version
    out = []
    for p, pick in items:
        key = (root, version, p.id)
        pieces = memo.get(key)
        if pieces is None:
            pieces = _tile_pieces(p)
            _keep(memo, key, pieces, _TILES_MAX)
        kind, reason = _pick_parts(pick.kind, pick.rule, pick.reason)
        out.append(f"{pieces[0]}{kind}{pieces[1]}{reason}</p></details>\n</li>")
    return Markup("".join(out))


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


_CSRF_MARK = "\x00csrf\x00"  # stands in for the token; escaping leaves it as it is


def _csrf_mark() -> str:
    return _CSRF_MARK


def product_article(product, catalog, approx: str | None) -> Markup:
    """A product page's `<article>` (shop/_article.html): rendered once per product, the
    approximate price in the visitor's currency (`approx_price`, the one thing the visitor's
    country changes) and script root, and kept per app and catalog (bounded); only the basket
    form's CSRF token is the visitor's, put in on every page."""
    app = current_app._get_current_object()
    env = app.jinja_env
    key = (request.script_root, catalog.version, product.id, approx)
    memo = _per_catalog(app, "sf.articles", catalog)
    pieces = memo.get(key)
    if pieces is None:
        template = env.get_template("shop/_article.html")
        values = {"product": product, "catalog": catalog, "approx": approx}
        pieces = tuple(template.render(values, csrf_token=_csrf_mark).split(_CSRF_MARK))
        if len(pieces) != 2:  # the product's own text holds the mark: rendered on every page
            return Markup(template.render(values))
        _keep(memo, key, pieces, _ARTICLES_MAX)
    return Markup(f"{pieces[0]}{escape(env.globals['csrf_token']())}{pieces[1]}")


def shows_template(slots: Sequence[Rendered], template: str) -> bool:
    """Whether a slot of the page uses this fragment template (base.html: the hero's styles);
    a filter chain (selectattr | list) cost several times more on every page."""
    return any(r.slot.template == template for r in slots)


def init_app(app) -> None:
    app.jinja_env.globals.update(
        category_nav=category_nav, shows_template=shows_template, product_article=product_article
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
