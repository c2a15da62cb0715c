"""Links the shop's page templates build on every page, without url_for's cost each time.

url_for costs about 12 µs. A cold page called it some 25 times for links that never change
(the header, the category menu, the assets) and twice for each product tile (about 90 on a
home page of seven rails). These give exactly url_for's strings, more cheaply:

- `link(endpoint, **values)`: memoised per script root, endpoint and values (bounded; the
  templates' own fixed links and the shop's categories);
- `product_links(product_id)`: a tile's link and image, from url_for's links with a placeholder
  that the quoted id replaces (kept per app, its URL map, and script root);
- `channel_links(product_id, absolute)`: the same for other channels (the JSON API, emails),
  on the configured public URL (STOREFRONT_PUBLIC_URL), never on the request's Host header.
  Without one, links are relative, and only where an absolute link can't be avoided (an email
  fragment) they fall back to the request's host.
"""

from __future__ import annotations

import functools
from urllib.parse import quote

from flask import Flask, current_app, request, url_for

_PLACEHOLDER = "0product0"
_FORMS = "sf.product_links"  # app.extensions: script root -> the two links with the placeholder
_FORMS_MAX = 64  # script roots an app is mounted under (one, mostly)
_SAFE = "!$&'()*+,/:;=@"  # what Werkzeug's path converter leaves unquoted


@functools.lru_cache(maxsize=1024)
def _memo(blueprint: str, script_root: str, endpoint: str, values: tuple) -> str:
    return url_for(endpoint, **dict(values))


def link(endpoint: str, **values) -> str:
    """url_for(endpoint, **values), memoised: for links that depend on nothing per visitor."""
    req = request._get_current_object()  # one proxy lookup, not two: some 25 links a page
    return _memo(req.blueprint or "", req.script_root, endpoint, tuple(values.items()))


def product_links(product_id: str) -> tuple[str, str]:
    """(url_for("shop.product", ...), url_for("shop.product_image", ...)) for one product."""
    app = current_app._get_current_object()
    root = request.script_root
    forms = app.extensions.get(_FORMS)
    if forms is None:
        forms = app.extensions.setdefault(_FORMS, {})
    pair = forms.get(root)
    if pair is None:
        pair = (
            url_for("shop.product", product_id=_PLACEHOLDER),
            url_for("shop.product_image", product_id=_PLACEHOLDER),
        )
        if len(forms) >= _FORMS_MAX:
            forms.clear()
        forms[root] = pair
    pid = quote(str(product_id), safe=_SAFE)
    return pair[0].replace(_PLACEHOLDER, pid), pair[1].replace(_PLACEHOLDER, pid)


def channel_links(product_id: str, absolute: bool) -> tuple[str, str]:
    """(page, image) links of a product for another channel: on the public URL when one is
    configured; else relative, or on the request's host when `absolute` must be had."""
    page, image = product_links(product_id)
    base = current_app.config["SETTINGS"].public_url
    if base:
        root = len(request.script_root)
        return base + page[root:], base + image[root:]
    if absolute:
        host = request.host_url.rstrip("/")
        return host + page, host + image
    return page, image


def init_app(app: Flask) -> None:
    from storefront.catalog import format_money

    app.jinja_env.globals.update(
        link=link, product_links=product_links, money=format_money, store_currency=store_currency
    )


def store_currency() -> str | None:
    """The catalog's currency (None: pounds), for amounts of no one product (revenue)."""
    holder = current_app.extensions.get("models")
    return getattr(holder.get().catalog, "currency", None) if holder else None
