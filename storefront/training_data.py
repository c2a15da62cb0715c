"""What training reads from the shop's database, as frames: order lines with the catalog's
products (in the store's taxonomy), and the event log with the identities that stitch visitors
to customers. The recommender library takes these frames as data and imports nothing of the
shop; this is the shop's side of that boundary."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import func, select

from storefront import db
from storefront.catalog import UNCATEGORISED


def read_orders(engine) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Order lines and the catalog's products (id, title, category, currency, category_name),
    as frames."""
    with engine.connect() as conn:
        lines = pd.read_sql(
            select(
                db.order_lines.c.invoice,
                db.order_lines.c.product_id,
                db.order_lines.c.customer_id,
                db.order_lines.c.quantity,
                db.order_lines.c.price,
                db.order_lines.c.ts,
                db.order_lines.c.country,
            ),
            conn,
        )
        # an imported catalog's titles, categories and prices win over those derived from order
        # lines (the shop does the same: storefront/catalog.py), so models and segments see them
        # too; its brand feeds LightFM's product features (cold.py)
        item = db.catalog_items
        products = pd.read_sql(
            select(
                db.products.c.id,
                func.coalesce(item.c.title, db.products.c.title).label("title"),
                func.coalesce(item.c.category, db.products.c.category).label("category"),
                func.coalesce(item.c.price, db.products.c.price).label("price"),
                item.c.brand,
            ).select_from(db.products.outerjoin(item, item.c.id == db.products.c.id)),
            conn,
        )
        # the catalog's currency (the amounts segments describe), which products it lists, and
        # the names of the store's categories (segments are named after them)
        listed = dict(conn.execute(select(item.c.id, item.c.currency)).all())
        names = dict(conn.execute(select(db.categories.c.slug, db.categories.c.name)).all())
        taxonomy = dict(
            conn.execute(select(db.catalog_categories.c.slug, db.catalog_categories.c.name)).all()
        )
    products["currency"] = products["id"].map(listed)
    if listed:  # the catalog's taxonomy is the store's (as in the shop): else uncategorised
        slug, name = UNCATEGORISED
        known = products["id"].isin(set(listed)) & products["category"].isin(set(taxonomy))
        products.loc[~known, "category"] = slug
        names = {**taxonomy, slug: name}
    products["category_name"] = products["category"].map(names)
    return lines, products


def read_events(engine) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The events (visitor, type, product_id, ts, device) and identities (visitor,
    customer_id) tables, for recommender.event_log.interactions."""
    with engine.connect() as conn:
        events = pd.read_sql(
            select(
                db.events.c.visitor,
                db.events.c.type,
                db.events.c.product_id,
                db.events.c.ts,
                db.events.c.device,
            ),
            conn,
        )
        identities = pd.read_sql(select(db.identities.c.visitor, db.identities.c.customer_id), conn)
    return events, identities
