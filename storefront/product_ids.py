"""One product, one id, whichever case an export writes it in.

The order and interaction importers upper-case product ids (the demo export writes one product
as "85123a" and "85123A"), while the catalog import keeps the catalog's spelling (docs/rules.md:
rules name products as the catalog writes them). A store whose ids have lower-case letters
would get every product twice: the catalog's "sku-a1" and the order history's "SKU-A1", the
one with the details, the other with the sales. So each import writes a product id that
differs from a product the store already holds only in case with the store's spelling: orders
and interactions take the catalog's (and, added to a store, the order history's); a catalog
takes the order history's. Where the store holds two spellings of one id, neither is assumed.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from storefront import db


def fold(product_id: str) -> str:
    return product_id.upper()


def spellings(ids: Iterable[str]) -> dict[str, str]:
    """{folded id: the one spelling the store holds}, for ids held in one spelling only."""
    out: dict[str, str] = {}
    twice: set[str] = set()
    for pid in ids:
        key = fold(pid)
        if out.setdefault(key, pid) != pid:
            twice.add(key)
    for key in twice:
        del out[key]
    return out


def held(engine: Engine, *, orders: bool, catalog: bool) -> dict[str, str]:
    """The store's spellings: of the order history's products and/or of the catalog's (none
    in a store without tables yet)."""
    ids: list[str] = []
    try:
        with engine.connect() as conn:
            if orders:
                ids += conn.execute(select(db.products.c.id)).scalars().all()
            if catalog:
                ids += conn.execute(select(db.catalog_items.c.id)).scalars().all()
    except SQLAlchemyError:
        return {}
    return spellings(ids)


def spell(product_id: str, store: dict[str, str]) -> str:
    """`product_id` as the store writes it (itself where the store holds no one spelling)."""
    return store.get(fold(product_id), product_id)


def respell(ids: pd.Series, store: dict[str, str]) -> tuple[pd.Series, dict[str, str]]:
    """`ids` with each one the store holds in another case written as the store writes it, and
    {as written: as the store writes it} for those changed (each distinct id looked up once)."""
    if not store or ids.empty:
        return ids, {}
    pairs = {}
    for pid in ids.dropna().unique():
        if (spelt := spell(str(pid), store)) != pid:
            pairs[pid] = spelt
    if not pairs:
        return ids, {}
    return ids.map(lambda pid: pairs.get(pid, pid)), pairs


def note(pairs: dict[str, str]) -> str | None:
    """The operator's line for what respell changed (None: nothing)."""
    if not pairs:
        return None
    shown = ", ".join(f"{a} -> {b}" for a, b in sorted(pairs.items())[:3])
    return (
        f"{len(pairs):,} product ids differ from the store's only in case and are written as "
        f"the store writes them (first few: {shown})."
    )
