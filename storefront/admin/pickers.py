"""What the rule form's pickers ask for as the merchandiser types: products by words of their
name (or the start of their code), from the catalog the shop serves. Categories need no
endpoint: the form's selects list the store's taxonomy by path ("Fresh Food › Dairy")."""

from __future__ import annotations

from flask import abort, jsonify, request

from storefront.admin import auth, bp
from storefront.model_holder import snapshot

MAX_QUERY = 100
MAX_RESULTS = 20


@bp.get("/products/search")
@auth.requires("viewer")
def product_search():
    """JSON {query, products: [{id, title, category, category_label, price}]}, best first: an
    exact code first, then titles matching every word (the last may be a prefix)."""
    query = (request.args.get("q") or "").strip()
    if len(query) > MAX_QUERY:
        abort(400, description=f"q: at most {MAX_QUERY} characters")
    raw = request.args.get("limit", "")
    if raw and not (raw.isascii() and raw.isdigit() and 1 <= int(raw) <= MAX_RESULTS):
        abort(400, description=f"limit: a whole number from 1 to {MAX_RESULTS}")
    limit = int(raw) if raw else 10
    catalog = snapshot().catalog
    ids: list[str] = []
    for code in (query, query.upper()):
        if code and catalog.get(code) is not None and code not in ids:
            ids.append(code)
    if query:
        ids += [pid for pid, _ in catalog.search(query, limit + len(ids)) if pid not in ids]
    products = []
    for pid in ids[:limit]:
        p = catalog.get(pid)
        if p is None:
            continue
        products.append(
            {
                "id": p.id,
                "title": p.display_title,
                "category": p.category,
                "category_label": catalog.category_label(p.category) or p.category,
                "price": p.price_text,
            }
        )
    return jsonify({"query": query, "products": products})
