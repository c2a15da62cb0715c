"""What training reads from the shop's database, as frames: order lines with the catalog's
products (in the store's taxonomy), and the event log with the identities that stitch visitors
to customers. The recommender library takes these frames as data and imports nothing of the
shop; this is the shop's side of that boundary.

Every reader honours the deletion ledger (storefront/deletions.py): the order lines, imported
interactions, events and identities of a deleted visitor or customer never reach a frame,
whenever they were written (an orders import after the deletion that carries the customer id
again, an API caller's events for a deleted visitor id), so the next model holds no trace."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import func, select

from storefront import db, deletions
from storefront.catalog import UNCATEGORISED
from storefront.interactions import read_pairs


def read_orders(engine) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Order lines (but those of deleted customers) and the catalog's products (id, title,
    category, currency, category_name), as frames."""
    with engine.connect() as conn:
        ledger = deletions.hashes(conn)
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
        # and the catalog's products nobody has ordered yet (retired ones are gone for good):
        # the version's item space holds them, so LightFM (cold.py) learns and serves them
        unsold = pd.read_sql(
            select(item.c.id, item.c.title, item.c.category, item.c.price, item.c.brand).where(
                item.c.retired.is_(None), item.c.id.not_in(select(db.products.c.id))
            ),
            conn,
        )
        if not unsold.empty:
            products = pd.concat([products, unsold], ignore_index=True)
        # the catalog's currency (the amounts segments describe), which products it lists, and
        # the names of the store's categories (segments are named after them)
        listed = dict(conn.execute(select(item.c.id, item.c.currency)).all())
        names = dict(conn.execute(select(db.categories.c.slug, db.categories.c.name)).all())
        taxonomy = dict(
            conn.execute(select(db.catalog_categories.c.slug, db.catalog_categories.c.name)).all()
        )
    lines = lines[~deletions.deleted_mask(lines["customer_id"], ledger)].reset_index(drop=True)
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
    customer_id) tables, for recommender.event_log.interactions; without deleted visitors, nor
    the visitors stitched to a deleted customer."""
    with engine.connect() as conn:
        ledger = deletions.hashes(conn)
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
    if not ledger:
        return events, identities
    gone = deletions.deleted_mask(identities["visitor"], ledger) | deletions.deleted_mask(
        identities["customer_id"], ledger
    )
    dropped = set(identities.loc[gone, "visitor"])
    events = events[
        ~(deletions.deleted_mask(events["visitor"], ledger) | events["visitor"].isin(dropped))
    ].reset_index(drop=True)
    return events, identities[~gone].reset_index(drop=True)


def read_interactions(engine) -> pd.DataFrame:
    """The imported interactions as (shopper, product, weight, ts) pairs for training
    (storefront/interactions.read_pairs), without those of deleted customers."""
    pairs = read_pairs(engine)
    ledger = deletions.hashes(engine)
    if pairs.empty or not ledger:
        return pairs
    return pairs[~deletions.deleted_mask(pairs["customer_id"], ledger)].reset_index(drop=True)
