"""The catalog's SQL adapter: products and the taxonomy read from the database into a Catalog.

storefront/catalog.py is the catalog itself (pure: the core reads it); this module is where it
comes from, so the core never reaches SQL through it.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.engine import Engine

from storefront import db
from storefront.catalog import UNCATEGORISED, Catalog, CategoryInfo, ProductDetails


def load_catalog(engine: Engine) -> Catalog:
    """Read products and categories from the database into a Catalog, column by column.

    With an imported catalog (catalog_items has rows) its rows are laid over the products of the
    order history, its taxonomy is the shop's, and a retired, hidden or unavailable product is
    left out altogether: no page, rail, search, API answer or email can show what the worker
    does not hold, whatever a model or a rule asks for."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                db.products.c.id,
                db.products.c.title,
                db.products.c.category,
                db.products.c.price,
                db.products.c.first_sold,
                db.products.c.units_sold,
            )
        ).all()
        items = conn.execute(select(db.catalog_items)).all()
        if items:
            cats = conn.execute(
                select(db.catalog_categories).order_by(db.catalog_categories.c.position)
            ).all()
        else:
            cats = conn.execute(select(db.categories).order_by(db.categories.c.position)).all()
    if items:
        return _with_catalog(rows, items, cats)
    ids = [r[0] for r in rows]
    categories_of = [r[2] for r in rows]
    counts: dict[str, int] = defaultdict(int)
    for c in categories_of:
        counts[c] += 1
    categories = [CategoryInfo(c.slug, c.name, counts.get(c.slug, 0)) for c in cats]
    return Catalog.from_columns(
        ids,
        [r[1] for r in rows],
        categories_of,
        [float(r[3]) for r in rows],
        [r[4] for r in rows],
        [int(r[5] or 0) for r in rows],
        categories,
    )


def _with_catalog(rows, items, cats) -> Catalog:
    """The shop of a store with its own catalog: catalog rows over order-history products."""
    sold = {r[0]: r for r in rows}
    parent = {c.slug: c.parent for c in cats}
    known = set(parent)
    other, other_name = UNCATEGORISED
    ids, titles, cats_of, prices, firsts, units, details = [], [], [], [], [], [], []
    listed = set()
    for it in items:
        listed.add(it.id)
        if it.retired is not None or it.hidden or not it.available:
            continue
        order = sold.get(it.id)
        price = it.price if it.price is not None else (order[3] if order else None)
        if price is None:  # a product nobody can price cannot be sold
            continue
        ids.append(it.id)
        titles.append(it.title)
        cats_of.append(it.category if it.category in known else other)
        prices.append(float(price))
        firsts.append(it.launch_date or (order[4] if order else None))
        units.append(int(order[5] or 0) if order else 0)
        details.append(
            ProductDetails(it.description, it.brand, it.image_url, it.currency, it.attributes)
        )
    for r in rows:  # seen only in orders: it exists, in no category of the catalog
        if r[0] not in listed:
            ids.append(r[0])
            titles.append(r[1])
            cats_of.append(other)
            prices.append(float(r[3]))
            firsts.append(r[4])
            units.append(int(r[5] or 0))
            details.append(None)
    counts: dict[str, int] = defaultdict(int)
    for slug in cats_of:
        seen = set()
        while slug is not None and slug not in seen:
            seen.add(slug)
            counts[slug] += 1
            slug = parent.get(slug)
    categories = [CategoryInfo(c.slug, c.name, counts.get(c.slug, 0), c.parent) for c in cats]
    categories.append(CategoryInfo(other, other_name, counts.get(other, 0)))
    catalog = Catalog.from_columns(ids, titles, cats_of, prices, firsts, units, categories, details)
    # "https://host/..." (the import accepts only http(s) URLs): the origin is before the 3rd /
    origins = {
        "/".join(d.image_url.split("/", 3)[:3]) for d in details if d is not None and d.image_url
    }
    catalog.image_origins = tuple(sorted(origins))
    latest = max(it.updated for it in items)
    catalog.version = f".c{latest:%Y%m%d%H%M%S%f}"  # every import stamps the rows it lists
    return catalog
