"""Import a shop's order export into the store: read, clean, then write it all in one go.

One transaction covers every write (order lines, products, customers, categories and the
import_runs record), so a failed import leaves the previous store exactly as it was. Works on
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

from storefront import db
from storefront.categories import CATEGORIES, categorize, category_by_slug
from storefront.cleaning import clean_order_lines, resolve_mapping
from storefront.countries import country_name

DEMO_PATH = Path(__file__).resolve().parent.parent / "data" / "online_retail_2010-2011.parquet"
CHUNK_ROWS = 20_000

Progress = Callable[[str], None]


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

    def lines(self) -> list[str]:
        """A human summary, one line per fact, biggest rejection reasons and categories first."""
        name = Path(self.source).name if self.source else "the file"
        verb = "replaced the store with" if self.replaced else "added"
        out = [
            f"Read {self.rows_read:,} rows from {name}; {verb} {self.rows_loaded:,} order lines "
            f"in {self.seconds:.1f} s.",
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


def read_table(path: str | Path) -> pd.DataFrame:
    """Read an order export: Parquet, or CSV (also .csv.gz, .tsv) with every column as text.

    CSV columns stay text so ids keep their exact form ("17850", "00123"); cleaning parses
    numbers and dates. Only an empty cell counts as missing ("NA" is Namibia). Encodings are
    tried in order utf-8, cp1252, latin-1, since spreadsheet exports are often Windows-encoded.
    """
    path = Path(path)
    name = path.name.lower()
    if name.endswith((".parquet", ".pq")):
        return pd.read_parquet(path)
    if name.endswith((".jsonl", ".ndjson", ".jsonl.gz")):  # one JSON object per line
        return pd.read_json(path, lines=True, dtype=False)
    if not name.endswith((".csv", ".csv.gz", ".csv.bz2", ".csv.zip", ".tsv", ".tsv.gz", ".txt")):
        raise ValueError(f"{path}: expected a .csv, .csv.gz, .tsv or .parquet file")
    sep = "\t" if ".tsv" in name else ","
    last_error: Exception | None = None
    for encoding in ("utf-8-sig", "cp1252", "latin-1"):
        try:
            df = pd.read_csv(
                path, dtype=str, sep=sep, encoding=encoding, keep_default_na=False, na_values=[""]
            )
        except UnicodeDecodeError as exc:
            last_error = exc
            continue
        if df.shape[1] == 1 and ";" in str(df.columns[0]):  # a European-style export
            df = pd.read_csv(
                path, dtype=str, sep=";", encoding=encoding, keep_default_na=False, na_values=[""]
            )
        return df
    raise ValueError(f"{path}: cannot decode the file ({last_error})")


def _chunks(records: list[dict], size: int) -> Iterator[list[dict]]:
    for start in range(0, len(records), size):
        yield records[start : start + size]


def _records(frame: pd.DataFrame) -> list[dict]:
    """Rows as dicts of plain Python values (no numpy scalars, no Timestamps, no NaN)."""
    columns: dict[str, list] = {}
    for name in frame.columns:
        s = frame[name]
        if pd.api.types.is_datetime64_any_dtype(s):
            values = s.dt.to_pydatetime().tolist()
            columns[name] = [None if pd.isna(v) else v for v in values]
        elif pd.api.types.is_integer_dtype(s) or pd.api.types.is_float_dtype(s):
            columns[name] = s.tolist()
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


def import_orders(
    engine: Engine,
    path: str | Path,
    mapping_overrides: Mapping[str, str] | None = None,
    replace: bool = True,
    progress: Progress | None = None,
    *,
    source_tz: str | None = None,
) -> ImportReport:
    """Import an order export into the store and return what happened.

    replace=True (the default) makes the file the whole store: existing order lines, products,
    customers and categories are deleted first. replace=False adds the lines and folds the
    products and customers into those already stored. Nothing is written unless everything
    is: a MappingError, a bad file or a database error leaves the store unchanged.
    source_tz: time zone of naive timestamps in the file (None: they are already UTC).
    """
    say = progress or (lambda _msg: None)
    started = datetime.now(UTC).replace(tzinfo=None)
    t0 = time.perf_counter()
    say(f"reading {path}")
    raw = read_table(path)
    mapping = resolve_mapping(list(raw.columns), mapping_overrides)
    say(f"cleaning {len(raw):,} rows")
    result = clean_order_lines(raw, mapping, source_tz=source_tz)
    del raw
    lines = result.lines
    products = _products(lines)
    customers = _customers(lines)
    say(f"{len(lines):,} clean lines, {len(products):,} products, {len(customers):,} customers")

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
        for chunk in _chunks(_records(products[product_cols]), CHUNK_ROWS):
            conn.execute(db.products.insert(), chunk)
        customer_cols = ["id", "country", "country_name", "first_order", "last_order"]
        for chunk in _chunks(_records(customers[customer_cols]), CHUNK_ROWS):
            conn.execute(db.customers.insert(), chunk)
        line_cols = ["invoice", "product_id", "customer_id", "quantity", "price", "ts", "country"]
        records = _records(lines[line_cols])
        for done, chunk in enumerate(_chunks(records, CHUNK_ROWS), start=1):
            conn.execute(db.order_lines.insert(), chunk)
            say(f"wrote {min(done * CHUNK_ROWS, len(records)):,} of {len(records):,} order lines")
        conn.execute(
            db.import_runs.insert(),
            [
                {
                    "source": str(path),
                    "started": started,
                    "rows_read": result.rows_read,
                    "rows_loaded": len(lines),
                    "rejected": json.dumps(result.rejected, sort_keys=True),
                }
            ],
        )
    counts = products["category"].value_counts()
    return ImportReport(
        rows_read=result.rows_read,
        rows_loaded=len(lines),
        rejected=dict(result.rejected),
        guest_rows=result.guest_rows,
        products=len(products),
        customers=len(customers),
        categories={
            c.slug: int(counts.get(c.slug, 0)) for c in CATEGORIES if counts.get(c.slug, 0)
        },
        seconds=round(time.perf_counter() - t0, 2),
        source=str(path),
        repaired_text=result.repaired_text,
        replaced=replace,
    )


def load_demo(
    engine: Engine, progress: Progress | None = None, *, source_tz: str | None = None
) -> ImportReport:
    """Import the bundled UCI Online Retail file, replacing the store.

    Its invoice times are UK wall-clock times; by default they are stored as they are, exactly
    as `storefront import orders` stores the same data from a CSV. Pass source_tz
    ("Europe/London") to store true UTC instead.
    """
    return import_orders(engine, DEMO_PATH, progress=progress, source_tz=source_tz)
