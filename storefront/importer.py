"""Import a shop's order export into the store: read, clean, check, then write it all in one go.

One transaction covers every write (order lines, products, customers, categories and the
import_runs record), so a failed import leaves the previous store exactly as it was, and readers
see the old store until the new one is committed. Before anything is written the result is
checked: an import that would load no rows, or would reject more than `max_reject_share` of
them (half, by default), is refused with its reasons (ImportRefused) unless forced, since such
a file is nearly always the wrong file or a wrong mapping, and a replace would empty the shop.
Works on
SQLite and PostgreSQL alike through SQLAlchemy Core; values are converted to plain Python types
(str, int, float, naive UTC datetime) before they reach the driver.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from sqlalchemy import delete, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from storefront import db, deletions, product_ids
from storefront.categories import CATEGORIES, categorize, category_by_slug
from storefront.cleaning import clean_order_lines, resolve_mapping
from storefront.countries import country_name
from storefront.tables import ImportFileError, printable, read_table

__all__ = [
    "ImportFileError",
    "ImportRefused",
    "ImportReport",
    "import_orders",
    "load_demo",
    "printable",
    "read_table",
]

DEMO_PATH = Path(__file__).resolve().parent.parent / "data" / "online_retail_2010-2011.parquet"
DEMO_CANCEL_PREFIX = "C"  # the UCI export marks cancelled invoices "C536379"; other shops don't
CHUNK_ROWS = 20_000
MAX_REJECT_SHARE = 0.5

Progress = Callable[[str], None]
Bar = Callable[[int, int], None]  # (rows written so far, rows to write)


@dataclass
class ImportReport:
    """What an import did: counts for the operator, and the reasons rows were dropped."""

    rows_read: int
    rows_loaded: int
    rejected: dict[str, int]
    guest_rows: int
    products: int
    customers: int
    categories: dict[str, int]  # category slug -> number of products
    seconds: float
    source: str = ""
    repaired_text: int = 0
    replaced: bool = True
    notes: list[str] = field(default_factory=list)
    dry_run: bool = False

    def lines(self) -> list[str]:
        """A human summary, one line per fact, biggest rejection reasons and categories first."""
        name = Path(self.source).name if self.source else "the file"
        verb = "replaced the store with" if self.replaced else "added"
        if self.dry_run:
            verb = "would replace the store with" if self.replaced else "would add"
        out = [
            f"Read {self.rows_read:,} rows from {printable(name)}; {verb} "
            f"{self.rows_loaded:,} order lines in {self.seconds:.1f} s."
            + (" Dry run: nothing was written." if self.dry_run else ""),
        ]
        total_rejected = sum(self.rejected.values())
        if total_rejected:
            out.append(f"Rejected {total_rejected:,} rows:")
            for reason, count in sorted(self.rejected.items(), key=lambda kv: (-kv[1], kv[0])):
                out.append(f"  {count:>9,}  {reason}")
        else:
            out.append("Rejected no rows.")
        out.append(
            f"{self.guest_rows:,} lines without a customer kept as guest orders "
            "(they count for popularity and trending, not for personal history)."
        )
        if self.repaired_text:
            out.append(f"Repaired the text encoding of {self.repaired_text:,} descriptions.")
        out.append(f"{self.products:,} products, {self.customers:,} customers.")
        out.append("Products per category:")
        for slug, count in sorted(self.categories.items(), key=lambda kv: (-kv[1], kv[0])):
            cat = category_by_slug(slug)
            out.append(f"  {count:>9,}  {cat.name if cat else slug}")
        out.extend(self.notes)
        return out


class ImportRefused(ValueError):
    """An import that would leave the store worse than it found it; nothing was written.

    str() gives the reasons, the rejections behind them, and how to go ahead anyway.
    """

    def __init__(self, report: ImportReport, reasons: list[str], what: str = "order lines"):
        self.report = report
        self.reasons = reasons
        name = Path(report.source).name if report.source else "the file"
        parts = [f"Refused to import {name}: " + "; ".join(reasons) + "."]
        for reason, count in sorted(report.rejected.items(), key=lambda kv: (-kv[1], kv[0])):
            parts.append(f"  {count:>9,}  {reason}")
        parts.extend(report.notes)
        parts.append(
            f"Nothing was changed. Check the file and the column mapping (--map), or pass "
            f"--force to import the {report.rows_loaded:,} {what} anyway."
        )
        super().__init__(printable("\n".join(parts)))


def refusal_reasons(rows_read: int, rows_loaded: int, rejected: int, max_share: float) -> list[str]:
    """Why an import should not go ahead: no rows, or more than max_share of them rejected."""
    reasons = []
    if rows_loaded == 0:
        reasons.append(f"none of its {rows_read:,} rows could be loaded")
    elif rows_read and rejected / rows_read > max_share:
        reasons.append(
            f"{rejected:,} of {rows_read:,} rows ({rejected / rows_read:.0%}) would be rejected, "
            f"more than the {max_share:.0%} allowed (--max-reject-share)"
        )
    return reasons


def chunked(records: list[dict], size: int) -> Iterator[list[dict]]:
    for start in range(0, len(records), size):
        yield records[start : start + size]


def plain_records(frame: pd.DataFrame) -> list[dict]:
    """Rows as dicts of plain Python values (no numpy scalars, no Timestamps, no NaN)."""
    columns: dict[str, list] = {}
    for name in frame.columns:
        s = frame[name]
        if pd.api.types.is_datetime64_any_dtype(s):
            values = s.dt.to_pydatetime().tolist()
            columns[name] = [None if pd.isna(v) else v for v in values]
        elif pd.api.types.is_integer_dtype(s):
            columns[name] = s.tolist()
        elif pd.api.types.is_float_dtype(s):  # NaN is NULL (PostgreSQL would store 'NaN')
            columns[name] = [None if v != v else v for v in s.tolist()]
        else:
            columns[name] = [None if v is None or v != v else v for v in s.astype(object)]
    keys = list(columns)
    return [dict(zip(keys, row, strict=True)) for row in zip(*columns.values(), strict=True)]


def _products(lines: pd.DataFrame) -> pd.DataFrame:
    grouped = lines.groupby("product_id", sort=True)
    products = grouped.agg(
        title=("title", "first"),
        price=("price", "median"),
        first_sold=("ts", "min"),
        units_sold=("quantity", "sum"),
    ).reset_index()
    cats = {t: categorize(t).slug for t in products["title"].unique()}
    products["category"] = products["title"].map(cats)
    products["price"] = products["price"].round(2)
    return products.rename(columns={"product_id": "id"})


def _customers(lines: pd.DataFrame) -> pd.DataFrame:
    known = lines[lines["customer_id"].notna()]
    spans = known.groupby("customer_id").agg(first_order=("ts", "min"), last_order=("ts", "max"))
    by_country = (
        known.dropna(subset=["country"])
        .groupby(["customer_id", "country"])
        .size()
        .reset_index(name="n")
        .sort_values(["customer_id", "n", "country"], ascending=[True, False, True])
        .drop_duplicates("customer_id")
        .set_index("customer_id")["country"]
    )
    customers = spans.join(by_country, how="left").reset_index()
    customers = customers.rename(columns={"customer_id": "id"})
    customers["country"] = (
        customers["country"].astype(object).where(customers["country"].notna(), None)
    )
    customers["country_name"] = [country_name(c) for c in customers["country"]]
    return customers


def _merge_existing(conn: Connection, table, frame: pd.DataFrame, how: dict[str, str]) -> None:
    """Append mode: fold rows already stored for the same ids into frame, then drop them."""
    ids = frame["id"].tolist()
    old_rows = []
    for start in range(0, len(ids), 500):
        part = ids[start : start + 500]
        old_rows += conn.execute(select(table).where(table.c.id.in_(part))).mappings().all()
        conn.execute(delete(table).where(table.c.id.in_(part)))
    if not old_rows:
        return
    old = pd.DataFrame([dict(r) for r in old_rows]).set_index("id")
    idx = frame.set_index("id").index
    for col, rule in how.items():
        prev = old[col].reindex(idx)
        cur = pd.Series(frame[col].to_numpy(), index=idx)
        if rule == "min":
            merged = pd.concat([prev, cur], axis=1).min(axis=1)
        elif rule == "max":
            merged = pd.concat([prev, cur], axis=1).max(axis=1)
        elif rule == "sum":
            merged = prev.fillna(0) + cur
        else:  # "keep": the stored value wins where there is one
            merged = prev.where(prev.notna(), cur)
        frame[col] = merged.to_numpy()


def without_deleted(engine: Engine, lines: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """The order lines but those of customers in the deletion ledger (storefront/deletions.py),
    and how many were left out: a re-import of the shop's export never brings back a person
    deleted since."""
    try:
        ledger = deletions.hashes(engine)
    except SQLAlchemyError:  # a store without the ledger's table yet: nobody was deleted
        return lines, 0
    gone = deletions.deleted_mask(lines["customer_id"], ledger)
    if not gone.any():
        return lines, 0
    return lines[~gone].reset_index(drop=True), int(gone.sum())


def import_orders(
    engine: Engine,
    path: str | Path,
    mapping_overrides: Mapping[str, str] | None = None,
    replace: bool = True,
    progress: Progress | None = None,
    *,
    source_tz: str | None = None,
    cancel_prefix: str | None = None,
    date_order: str | None = None,
    max_reject_share: float = MAX_REJECT_SHARE,
    force: bool = False,
    dry_run: bool = False,
    bar: Bar | None = None,
) -> ImportReport:
    """Import an order export into the store and return what happened.

    replace=True (the default) makes the file the whole store: existing order lines, products,
    customers and categories are deleted first. replace=False adds the lines and folds the
    products and customers into those already stored. Nothing is written unless everything
    is: an ImportFileError, a MappingError, an ImportRefused (no rows, or more than
    max_reject_share rejected; force=True goes ahead) or a database error leaves the store
    unchanged. dry_run=True reads, cleans and checks, and writes nothing.
    source_tz: time zone of naive timestamps in the file (None: they are already UTC).
    cancel_prefix: an invoice prefix that marks cancellations (the demo's "C"); negative
    quantities are cancellations regardless. date_order: "dmy" or "mdy" for dates that read
    both ways (timestamps.py). bar(done, total) is told how the write advances.
    """
    say = progress or (lambda _msg: None)
    started = datetime.now(UTC).replace(tzinfo=None)
    t0 = time.perf_counter()
    say(f"reading {printable(path)}")
    raw = read_table(path)
    mapping = resolve_mapping(list(raw.columns), mapping_overrides)
    say(f"cleaning {len(raw):,} rows")
    result = clean_order_lines(
        raw, mapping, source_tz=source_tz, cancel_prefix=cancel_prefix, date_order=date_order
    )
    del raw
    lines, forgotten = without_deleted(engine, result.lines)
    store = product_ids.held(engine, orders=not replace, catalog=True)
    lines["product_id"], respelt = product_ids.respell(lines["product_id"], store)
    products = _products(lines)
    customers = _customers(lines)
    say(f"{len(lines):,} clean lines, {len(products):,} products, {len(customers):,} customers")
    counts = products["category"].value_counts()
    report = ImportReport(
        rows_read=result.rows_read,
        rows_loaded=len(lines),
        rejected=dict(result.rejected),
        guest_rows=result.guest_rows,
        products=len(products),
        customers=len(customers),
        categories={
            c.slug: int(counts.get(c.slug, 0)) for c in CATEGORIES if counts.get(c.slug, 0)
        },
        seconds=0.0,
        source=str(path),
        repaired_text=result.repaired_text,
        replaced=replace,
        notes=list(result.notes),
        dry_run=dry_run,
    )
    reasons = refusal_reasons(
        result.rows_read, len(lines), sum(result.rejected.values()), max_reject_share
    )
    if said := product_ids.note(respelt):
        report.notes.append(said)
    if forgotten:
        report.notes.append(
            f"Left out {forgotten:,} lines of deleted customers (the deletion ledger, "
            "`storefront privacy delete`)."
        )
    if reasons and not force:
        raise ImportRefused(report, reasons)
    if reasons:
        report.notes.append("Imported despite: " + "; ".join(reasons) + " (--force).")
    if not dry_run:
        run = {
            "source": str(path),
            "started": started,
            "rows_read": result.rows_read,
            "rows_loaded": len(lines),
            "rejected": json.dumps(result.rejected, sort_keys=True),
        }
        _write(engine, lines, products, customers, replace, run, say, bar)
    report.seconds = round(time.perf_counter() - t0, 2)
    return report


def _write(engine, lines, products, customers, replace: bool, run: dict, say, bar) -> None:
    """Every write of one import in one transaction (see the module docstring)."""
    db.create_schema(engine)
    with engine.begin() as conn:
        if replace:
            for table in (db.order_lines, db.products, db.customers, db.categories):
                conn.execute(delete(table))
        else:
            conn.execute(delete(db.categories))
            _merge_existing(
                conn,
                db.products,
                products,
                {"title": "keep", "category": "keep", "first_sold": "min", "units_sold": "sum"},
            )
            _merge_existing(
                conn,
                db.customers,
                customers,
                {
                    "first_order": "min",
                    "last_order": "max",
                    "country": "keep",
                    "country_name": "keep",
                },
            )
        conn.execute(
            db.categories.insert(),
            [{"slug": c.slug, "name": c.name, "position": i} for i, c in enumerate(CATEGORIES)],
        )
        product_cols = ["id", "title", "category", "price", "first_sold", "units_sold"]
        products["units_sold"] = products["units_sold"].astype("int64")
        for chunk in chunked(plain_records(products[product_cols]), CHUNK_ROWS):
            conn.execute(db.products.insert(), chunk)
        customer_cols = ["id", "country", "country_name", "first_order", "last_order"]
        for chunk in chunked(plain_records(customers[customer_cols]), CHUNK_ROWS):
            conn.execute(db.customers.insert(), chunk)
        line_cols = ["invoice", "product_id", "customer_id", "quantity", "price", "ts", "country"]
        write_chunks(conn, db.order_lines, plain_records(lines[line_cols]), "order lines", say, bar)
        conn.execute(db.import_runs.insert(), [run])


def write_chunks(conn, table, records: list[dict], what: str, say: Progress, bar) -> None:
    """Insert records in chunks, telling the bar (or, without one, say) how far it got."""
    for done, chunk in enumerate(chunked(records, CHUNK_ROWS), start=1):
        conn.execute(table.insert(), chunk)
        written = min(done * CHUNK_ROWS, len(records))
        if bar:
            bar(written, len(records))
        else:
            say(f"wrote {written:,} of {len(records):,} {what}")


def load_demo(
    engine: Engine,
    progress: Progress | None = None,
    *,
    source_tz: str | None = None,
    bar: Bar | None = None,
) -> ImportReport:
    """Import the bundled UCI Online Retail file, replacing the store.

    Its invoice times are UK wall-clock times; by default they are stored as they are, exactly
    as `storefront import orders` stores the same data from a CSV. Pass source_tz
    ("Europe/London") to store true UTC instead. Its invoices starting "C" are cancellations
    (DEMO_CANCEL_PREFIX), a convention of this export only.
    """
    return import_orders(
        engine,
        DEMO_PATH,
        progress=progress,
        source_tz=source_tz,
        cancel_prefix=DEMO_CANCEL_PREFIX,
        bar=bar,
    )
