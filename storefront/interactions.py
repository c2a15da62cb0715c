"""Import interactions from another system (views, clicks, add-to-carts, ratings, purchases).

A shop moving over with no order history still has behaviour: a previous platform's analytics
export, a reviews table, a recommendation vendor's event dump. `storefront import interactions
FILE` reads it (any format storefront.tables reads), maps its columns by name like the order
import does, and stores one row per interaction with its weight (recommender/imported.py:
the type's weight, a rating's scaled by its value). `storefront train` adds them to the orders.

Columns: who (customer_id), what (product_id), and optionally type, ts and value (a rating).
Without a type column, --type names the one type of the whole file (a ratings file is
"rating"). Types are matched loosely ("addtocart", "add-to-cart", "basket" are add_to_cart;
"transaction" and "order" purchase). Ratings are read on the file's scale (its highest value,
or --rating-scale) and only those above the middle count: a 2 of 5 is not a sign of liking,
and the model learns from positive signals only. The same guard as the order import applies:
a file that loads nothing, or rejects more than the allowed share, changes nothing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import delete, func, select
from sqlalchemy.engine import Engine

from recommender.imported import WEIGHTS, weights
from storefront import db, product_ids
from storefront.cleaning import MappingError, resolve_columns
from storefront.importer import (
    MAX_REJECT_SHARE,
    Bar,
    ImportRefused,
    Progress,
    plain_records,
    refusal_reasons,
    write_chunks,
)
from storefront.tables import printable, read_table
from storefront.timestamps import parse_times

ALIASES: dict[str, tuple[str, ...]] = {
    "customer_id": (
        "customer_id",
        "CustomerID",
        "customer",
        "user_id",
        "userid",
        "user",
        "visitor_id",
        "visitorid",
        "visitor",
        "client_id",
        "buyer_id",
        "account_id",
        "shopper_id",
    ),
    "product_id": (
        "product_id",
        "sku",
        "item_id",
        "itemid",
        "item",
        "product",
        "StockCode",
        "product_code",
        "article",
        "variant_sku",
    ),
    "type": ("type", "event", "event_type", "action", "interaction", "interaction_type", "kind"),
    "ts": (
        "ts",
        "timestamp",
        "time",
        "created_at",
        "created",
        "date",
        "datetime",
        "event_time",
        "occurred_at",
    ),
    "value": ("value", "rating", "score", "stars"),
}
REQUIRED = ("customer_id", "product_id")
ID_MAX = {"customer_id": 64, "product_id": 32}  # the interactions table's columns (db.py)
TYPE_NAMES: dict[str, str] = {
    **dict.fromkeys(("view", "views", "pageview", "productview", "detail", "detailview"), "view"),
    **dict.fromkeys(("click", "clicks", "productclick"), "click"),
    **dict.fromkeys(
        ("addtocart", "cart", "cartadd", "addtobasket", "basket", "add", "carts"), "add_to_cart"
    ),
    **dict.fromkeys(("rating", "rate", "rated", "review", "stars"), "rating"),
    **dict.fromkeys(
        ("purchase", "purchases", "transaction", "order", "buy", "bought", "sale"), "purchase"
    ),
}


@dataclass
class InteractionReport:
    """What an interaction import did (or, dry run, would do), and why rows were dropped."""

    rows_read: int
    rows_loaded: int
    rejected: dict[str, int]
    by_type: dict[str, int]
    customers: int
    products: int
    not_in_catalog: int  # loaded rows whose product the catalog does not (yet) have
    weights: dict[str, float]
    seconds: float = 0.0
    source: str = ""
    replaced: bool = True
    dry_run: bool = False
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        name = printable(Path(self.source).name) if self.source else "the file"
        verb = "replaced the stored interactions with" if self.replaced else "added"
        if self.dry_run:
            verb = "would replace the stored interactions with" if self.replaced else "would add"
        out = [
            f"Read {self.rows_read:,} rows from {name}; {verb} {self.rows_loaded:,} "
            f"interactions in {self.seconds:.1f} s."
            + (" Dry run: nothing was written." if self.dry_run else "")
        ]
        total = sum(self.rejected.values())
        out.append(f"Rejected {total:,} rows:" if total else "Rejected no rows.")
        for reason, count in sorted(self.rejected.items(), key=lambda kv: (-kv[1], kv[0])):
            out.append(f"  {count:>9,}  {reason}")
        for kind, count in sorted(self.by_type.items(), key=lambda kv: (-kv[1], kv[0])):
            out.append(f"  {count:>9,}  {kind} (weight {self.weights[kind]:g} of an order)")
        out.append(f"{self.customers:,} shoppers, {self.products:,} products.")
        if self.not_in_catalog:
            out.append(
                f"{self.not_in_catalog:,} interactions name products the catalog does not have "
                "yet; they count in training once it does."
            )
        out.extend(self.notes)
        return out


def _key(text: object) -> str:
    return "".join(ch for ch in str(text).lower() if ch.isalnum())


def _ids(series: pd.Series) -> pd.Series:
    s = series.astype("str").str.strip().where(series.notna())
    s = s.where(s != "")
    return s.str.replace(r"^(\d+)\.0+$", r"\1", regex=True)


def clean_interactions(
    raw: pd.DataFrame,
    mapping: Mapping[str, str],
    table: Mapping[str, float],
    *,
    default_type: str | None = None,
    rating_scale: float | None = None,
    source_tz: str | None = None,
    date_order: str | None = None,
    now: datetime | None = None,
) -> tuple[pd.DataFrame, dict[str, int], list[str]]:
    """raw rows -> (customer_id, product_id, type, value, weight, ts) rows, rejections by reason
    (first reason that applies), and notes for the operator."""
    notes: list[str] = []
    customer = _ids(raw[mapping["customer_id"]])
    product = _ids(raw[mapping["product_id"]]).str.upper()
    if "type" in mapping:
        given = raw[mapping["type"]].map(_key, na_action="ignore")
        kind = given.map(TYPE_NAMES)
        unknown = sorted(set(given[kind.isna() & given.notna()].unique()))[:5]
        if unknown:
            notes.append(f"Unknown interaction types (first few): {', '.join(unknown)}.")
    else:
        kind = pd.Series(default_type, index=raw.index, dtype=object)
    value = (
        pd.to_numeric(raw[mapping["value"]], errors="coerce")
        if "value" in mapping
        else pd.Series(np.nan, index=raw.index)
    )
    stamp = (now or datetime.now(UTC)).replace(tzinfo=None)
    if "ts" in mapping:
        times = parse_times(raw[mapping["ts"]], source_tz, date_order)
        ts, out_of_range = times.ts, times.out_of_range
        notes.extend(times.notes)
    else:
        ts = pd.Series(pd.Timestamp(stamp), index=raw.index).astype("datetime64[ns]")
        out_of_range = pd.Series(False, index=raw.index)
        notes.append("The file has no time column: every interaction is dated now.")
    is_rating = kind == "rating"
    scale = rating_scale or (float(value[is_rating].max()) if is_rating.any() else 0.0)
    if is_rating.any() and not scale > 0:
        scale = 1.0
    if is_rating.any():
        notes.append(f"Ratings read on a scale of 0 to {scale:g}; those above {scale / 2:g} count.")
    too_long = pd.Series(False, index=raw.index)
    for name, ids in (("customer_id", customer), ("product_id", product)):
        too_long |= ids.str.len().gt(ID_MAX[name]).fillna(False)
    checks = [
        ("missing customer id", customer.isna()),
        ("missing product id", product.isna()),
        ("unknown interaction type", kind.isna()),
        ("date out of range (before 1980 or in the future)", out_of_range),
        ("unparseable date", ts.isna()),
        ("id too long", too_long),
        ("rating missing or not a number", is_rating & value.isna()),
        ("rating out of range", is_rating & ((value < 0) | (value > scale))),
        ("rating at or below the middle of its scale", is_rating & (value <= scale / 2)),
    ]
    keep = pd.Series(True, index=raw.index)
    rejected: dict[str, int] = {}
    for reason, bad in checks:
        hit = keep & bad.fillna(False).astype(bool)
        if hit.any():
            rejected[reason] = int(hit.sum())
        keep &= ~hit
    base = kind[keep].map(table).astype("float64")
    factor = np.where(is_rating[keep], value[keep] / (scale or 1.0), 1.0)
    rows = pd.DataFrame(
        {
            "customer_id": customer[keep].astype(object),
            "product_id": product[keep].astype(object),
            "type": kind[keep].astype(object),
            "value": value[keep].astype("float64"),
            "weight": (base * factor).round(6),
            "ts": ts[keep].astype("datetime64[ns]"),
        }
    ).reset_index(drop=True)
    return rows, rejected, notes


def import_interactions(
    engine: Engine,
    path: str | Path,
    mapping_overrides: Mapping[str, str] | None = None,
    replace: bool = True,
    progress: Progress | None = None,
    *,
    default_type: str | None = None,
    weight_overrides: Mapping[str, float] | None = None,
    rating_scale: float | None = None,
    source_tz: str | None = None,
    date_order: str | None = None,
    max_reject_share: float = MAX_REJECT_SHARE,
    force: bool = False,
    dry_run: bool = False,
    bar: Bar | None = None,
) -> InteractionReport:
    """Import an interaction file and return what happened; raises ImportFileError,
    MappingError or ImportRefused with nothing written. replace=True replaces the stored
    interactions (never the orders); replace=False adds to them."""
    say = progress or (lambda _msg: None)
    t0 = time.perf_counter()
    started = datetime.now(UTC).replace(tzinfo=None)
    table = weights(dict(weight_overrides or {}))
    if default_type is not None and default_type not in WEIGHTS:
        raise ValueError(f"unknown interaction type {default_type!r}; known: {', '.join(WEIGHTS)}")
    say(f"reading {printable(path)}")
    raw = read_table(path)
    mapping = resolve_columns(list(raw.columns), mapping_overrides, ALIASES, REQUIRED)
    if "type" not in mapping and default_type is None:
        if "value" in mapping:
            default_type = "rating"
        else:
            raise MappingError(
                ["type"],
                list(raw.columns),
                "Name the type column with --map type=COLUMN, or give the whole file's type "
                f"with --type ({', '.join(WEIGHTS)}).",
                ALIASES,
            )
    say(f"cleaning {len(raw):,} rows")
    rows, rejected, notes = clean_interactions(
        raw,
        mapping,
        table,
        default_type=default_type,
        rating_scale=rating_scale,
        source_tz=source_tz,
        date_order=date_order,
    )
    db.create_schema(engine)
    store = product_ids.held(engine, orders=True, catalog=True)
    rows["product_id"], respelt = product_ids.respell(rows["product_id"], store)
    if said := product_ids.note(respelt):
        notes.append(said)
    with engine.connect() as conn:  # the order history's products and the catalog's
        catalog = set(conn.execute(select(db.products.c.id)).scalars())
        catalog |= set(conn.execute(select(db.catalog_items.c.id)).scalars())
    report = InteractionReport(
        rows_read=len(raw),
        rows_loaded=len(rows),
        rejected=rejected,
        by_type={str(k): int(v) for k, v in rows["type"].value_counts().items()},
        customers=int(rows["customer_id"].nunique()),
        products=int(rows["product_id"].nunique()),
        not_in_catalog=int((~rows["product_id"].isin(catalog)).sum()),
        weights=table,
        source=str(path),
        replaced=replace,
        dry_run=dry_run,
        notes=notes,
    )
    reasons = refusal_reasons(len(raw), len(rows), sum(rejected.values()), max_reject_share)
    if reasons and not force:
        raise ImportRefused(report, reasons, what="interactions")
    if reasons:
        report.notes.append("Imported despite: " + "; ".join(reasons) + " (--force).")
    if not dry_run:
        _write(engine, rows, replace, started, report, say, bar)
    report.seconds = round(time.perf_counter() - t0, 2)
    return report


def _write(engine, rows: pd.DataFrame, replace: bool, started, report, say, bar) -> None:
    """One transaction: readers and a concurrent `train` see the old interactions until commit."""
    records = plain_records(rows)
    with engine.begin() as conn:
        if replace:
            conn.execute(delete(db.interactions))
        write_chunks(conn, db.interactions, records, "interactions", say, bar)
        conn.execute(
            db.import_runs.insert(),
            [
                {
                    "source": f"interactions:{report.source}",
                    "started": started,
                    "rows_read": report.rows_read,
                    "rows_loaded": report.rows_loaded,
                    "rejected": json.dumps(report.rejected, sort_keys=True),
                }
            ],
        )


def count(engine: Engine) -> int:
    """How many interactions are stored (0 where the table is new)."""
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(db.interactions)).scalar_one())


def read_pairs(engine: Engine) -> pd.DataFrame:
    """The stored interactions as (shopper, product, weight, ts) pairs, for training."""
    from recommender.imported import pairs

    table = db.interactions
    with engine.connect() as conn:
        rows = pd.read_sql(
            select(table.c.customer_id, table.c.product_id, table.c.weight, table.c.ts), conn
        )
    return pairs(rows)
