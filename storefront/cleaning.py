"""Turn a raw order-line export into clean, canonical order lines.

Shops export orders with their own column names and their own dirt: cancellations, returns
(negative quantities), postage and fee lines, zero-price stock notes ("damaged", "check"),
missing descriptions, mis-encoded text ("Â£"), float customer ids ("17850.0") and country names
instead of codes. Everything here is vectorised pandas so the 541k-line demo file cleans in a
couple of seconds; every dropped row is counted under one reason so an import can say why.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from storefront.countries import country_code
from storefront.timestamps import parse_times

CANONICAL_COLUMNS = (
    "invoice",
    "product_id",
    "title",
    "quantity",
    "price",
    "ts",
    "customer_id",
    "country",
)
# Without these a line means nothing; customer and country may be absent (guest-only shops).
REQUIRED_COLUMNS = ("invoice", "product_id", "title", "quantity", "price", "ts")

DEFAULT_MAPPING = {
    "invoice": "InvoiceNo",
    "product_id": "StockCode",
    "title": "Description",
    "quantity": "Quantity",
    "ts": "InvoiceDate",
    "price": "UnitPrice",
    "customer_id": "CustomerID",
    "country": "Country",
}

# Column names other shops' exports use, compared case- and punctuation-insensitively.
ALIASES: dict[str, tuple[str, ...]] = {
    "invoice": (
        "Invoice",
        "InvoiceNo",
        "invoice_number",
        "order_id",
        "order",
        "order_no",
        "order_number",
        "transaction_id",
        "receipt",
    ),
    "product_id": (
        "StockCode",
        "stock_code",
        "sku",
        "product_id",
        "product_code",
        "item_id",
        "item_code",
        "article",
        "variant_sku",
    ),
    "title": (
        "Description",
        "title",
        "name",
        "product_name",
        "product_title",
        "item_name",
        "item",
        "product",
    ),
    "quantity": ("Quantity", "qty", "units", "quantity_ordered"),
    "price": ("UnitPrice", "Price", "unit_price", "price_each", "item_price", "sale_price"),
    "ts": (
        "InvoiceDate",
        "created_at",
        "order_date",
        "date",
        "datetime",
        "timestamp",
        "ordered_at",
        "purchase_date",
        "created",
        "created_on",
        "placed_at",
        "order_time",
        "ts",
        "time",
    ),
    "customer_id": (
        "CustomerID",
        "Customer ID",
        "customer",
        "customer_no",
        "user_id",
        "client_id",
        "buyer_id",
        "account_id",
    ),
    "country": ("Country", "country_code", "shipping_country", "billing_country", "ship_country"),
}

# Stock codes that are not things a shopper can buy: postage, carriage, manual adjustments,
# discounts, samples, bad debt, bank and marketplace fees, charity, padding, dotcom-only codes
# and gift vouchers.
NON_PRODUCT_CODES = frozenset(
    {
        "POST",
        "DOT",
        "M",
        "C2",
        "D",
        "S",
        "B",
        "BANK CHARGES",
        "AMAZONFEE",
        "CRUK",
        "PADS",
        "POSTAGE",
        "CARRIAGE",
        "DISCOUNT",
        "MANUAL",
        "SAMPLES",
        "ADJUST",
        "FEE",
    }
)
NON_PRODUCT_PREFIXES = ("DCGS", "GIFT_")
# Lines whose (cleaned) description names a service or money rather than goods, under an
# ordinary-looking stock code (e.g. 23444 "Next Day Carriage", 22016 "... Gift Voucher £100").
NON_PRODUCT_TITLE = re.compile(
    r"(?i)^(?:(?:dotcom )?postage|(?:next day )?carriage|manual|discount|samples|bank charges"
    r"|cruk commission|amazon fee|high resolution image)$|gift voucher"
)

_MOJIBAKE = re.compile("Â|Ã|â€")
REVERSED = "reversed by a later cancellation"
ID_MAX = 32  # the store's id columns (db.py) hold 32 characters
QUANTITY_MAX = 2**31 - 1  # the store's quantity column is a 32-bit integer
TITLE_MAX = 255


class MappingError(ValueError):
    """The file lacks a column the importer needs; the message names it and what exists."""

    def __init__(
        self,
        missing: Sequence[str],
        available: Sequence[str],
        notes: str = "",
        aliases: Mapping[str, Sequence[str]] | None = None,
    ):
        self.missing = list(missing)
        self.available = list(available)
        aliases = ALIASES if aliases is None else aliases
        parts = []
        if self.missing:
            looked = "; ".join(
                f"{name} (tried {', '.join(aliases[name][:4])}...)" for name in self.missing
            )
            parts.append(f"Cannot find a column for: {looked}.")
        if notes:
            parts.append(notes)
        parts.append(f"Columns in the file: {', '.join(self.available) or '(none)'}.")
        if self.missing:
            parts.append(f"Name one with FIELD=COLUMN, e.g. {self.missing[0]}=YourColumn.")
        super().__init__(" ".join(parts))


@dataclass
class CleanResult:
    """Clean lines in canonical columns plus an account of everything that was dropped."""

    lines: pd.DataFrame
    rows_read: int
    rejected: dict[str, int] = field(default_factory=dict)
    guest_rows: int = 0
    repaired_text: int = 0
    notes: list[str] = field(default_factory=list)  # decisions the operator should know of


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


def resolve_mapping(
    columns: Sequence[str], overrides: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Map canonical column -> file column: explicit overrides, then the default, then aliases.

    So that exports from other shops import without configuration; an optional column
    (customer_id, country) that is not found is simply left out. Raises MappingError naming
    every required column it cannot place, and the file's columns.
    """
    aliases = {
        c: tuple(dict.fromkeys((DEFAULT_MAPPING[c], *ALIASES[c]))) for c in CANONICAL_COLUMNS
    }
    return resolve_columns(columns, overrides, aliases, REQUIRED_COLUMNS)


def resolve_columns(
    columns: Sequence[str],
    overrides: Mapping[str, str] | None,
    aliases: Mapping[str, Sequence[str]],
    required: Sequence[str],
) -> dict[str, str]:
    """field -> file column for any kind of file: the overrides (--map), then each field's
    aliases in order (compared case- and punctuation-insensitively), a column used once.

    Raises MappingError naming each required field it cannot place, and why: not in the file,
    or taken by the mapping for another field, or one column mapped to two fields.
    """
    fields = list(aliases)
    columns = [str(c) for c in columns]
    by_key: dict[str, str] = {}
    for col in columns:
        by_key.setdefault(_key(col), col)
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - set(fields))
    if unknown:
        raise MappingError(
            [],
            columns,
            f"Unknown field(s) in the mapping: {unknown}; the fields are {', '.join(fields)}.",
            aliases,
        )
    mapping: dict[str, str] = {}
    notes: list[str] = []
    doubled = False  # one column named for two fields: refused even if nothing is missing
    for canon, wanted in overrides.items():
        found = wanted if wanted in columns else by_key.get(_key(wanted))
        if found is None:
            notes.append(f"The mapping names {wanted!r} for {canon}, which is not in the file.")
        elif found in mapping.values():
            other = next(c for c, v in mapping.items() if v == found)
            notes.append(f"The mapping gives column {found!r} to both {other} and {canon}.")
            doubled = True
        else:
            mapping[canon] = found
    used = set(mapping.values())
    taken: dict[str, str] = {}  # field -> the column it would have had, had --map not taken it
    for canon in (c for c in fields if c not in overrides):
        for cand in aliases[canon]:
            col = cand if cand in columns else by_key.get(_key(cand))
            if col is not None and col in used:
                taken.setdefault(canon, col)
            elif col is not None:
                mapping[canon] = col
                used.add(col)
                break
    missing = [c for c in fields if c not in mapping and (c in required or c in overrides)]
    for canon in missing:
        if canon in taken:
            owner = next(c for c, v in mapping.items() if v == taken[canon])
            notes.append(
                f"Column {taken[canon]!r} would be {canon}, but the mapping gives it to {owner}."
            )
    if missing or doubled:
        raise MappingError(missing, columns, " ".join(notes), aliases)
    return {c: mapping[c] for c in fields if c in mapping}


def _text(series: pd.Series) -> pd.Series:
    """Strings with surrounding blanks removed; empty or missing values become NaN."""
    s = series.astype("str").str.strip()
    s = s.where(series.notna())
    return s.where(s != "")


def _ids(series: pd.Series) -> pd.Series:
    """Identifiers as text: 17850.0 (a float column) becomes "17850", blanks become NaN."""
    if pd.api.types.is_float_dtype(series):
        whole = series.notna() & (series == series.round())
        ints = series.where(whole).astype("Int64").astype("str")
        return ints.where(whole, series.astype("str")).where(series.notna())
    s = _text(series)
    return s.str.replace(r"^(\d+)\.0+$", r"\1", regex=True)


def _numbers(series: pd.Series) -> pd.Series:
    """Numbers from numeric or text columns ("£2.55", "1,50", "1,234.5"); junk becomes NaN."""
    if pd.api.types.is_numeric_dtype(series):
        return series.astype("float64")
    s = _text(series).str.replace(r"[£$€\s]", "", regex=True)
    comma_decimal = s.str.fullmatch(r"-?\d+,\d{1,2}", na=False)
    s = s.where(~comma_decimal, s.str.replace(",", ".", regex=False))
    s = s.str.replace(",", "", regex=False)
    return pd.to_numeric(s, errors="coerce").astype("float64")


def repair_text(value: str) -> str:
    """Undo UTF-8 text that was decoded as cp1252/latin-1 ("Â£20" -> "£20", "CAFÃ‰" -> "CAFÉ").

    Exports pass through spreadsheets that mangle encodings; shoppers should see "£", not "Â£".
    Only called on text showing mojibake markers, and left alone when the round trip fails.
    """
    for enc in ("cp1252", "latin-1"):
        try:
            fixed = value.encode(enc).decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            continue
        if fixed != value:
            return fixed
    return value.replace("Â£", "£")  # mixed text: fix at least the commonest pair


def _canonical_titles(product: pd.Series, title: pd.Series, pool: pd.Series) -> pd.Series:
    """product id -> its most frequent title among pool rows (ties: alphabetical)."""
    frame = pd.DataFrame({"p": product[pool], "t": title[pool]}).dropna()
    counts = frame.groupby(["p", "t"], sort=False).size().reset_index(name="n")
    counts = counts.sort_values(["p", "n", "t"], ascending=[True, False, True], kind="stable")
    best = counts.drop_duplicates("p")
    return pd.Series(best["t"].to_numpy(), index=best["p"].to_numpy())


def _reversed_orders(keep, cancelled, customer, product, quantity, ts) -> pd.Series:
    """Kept lines undone by a later cancellation of the same customer, product and quantity.

    Each cancellation reverses the latest such line at or before it. Without this, orders
    that were placed and cancelled (80,995 paper birdies, 74,215 storage jars in the demo
    data) would still top every bestseller list.
    """
    frame = pd.DataFrame({"c": customer, "p": product, "q": quantity.abs(), "ts": ts})
    known = customer.notna() & product.notna() & quantity.notna() & ts.notna()
    orders = frame[keep & known].reset_index(names="row").sort_values("ts")
    credits = frame[cancelled & known].sort_values("ts")
    if orders.empty or credits.empty:
        return pd.Series(False, index=keep.index)
    matched = pd.merge_asof(credits, orders, on="ts", by=["c", "p", "q"], direction="backward")
    return pd.Series(keep.index.isin(matched["row"].dropna()), index=keep.index)


def _is_non_product(product: pd.Series, title: pd.Series) -> pd.Series:
    flagged = product.isin(NON_PRODUCT_CODES) | title.str.contains(NON_PRODUCT_TITLE, na=False)
    for prefix in NON_PRODUCT_PREFIXES:
        flagged |= product.str.startswith(prefix, na=False)
    return flagged


def clean_order_lines(
    df: pd.DataFrame,
    mapping: Mapping[str, str],
    *,
    source_tz: str | None = None,
    cancel_prefix: str | None = None,
    date_order: str | None = None,
) -> CleanResult:
    """Clean a raw export (columns named by mapping) into canonical, sellable order lines.

    Each dropped row is counted under the first reason that applies. Kept rows have a
    positive quantity and price, a product id (upper case), ONE title per product (its most
    frequent cleaned description; a missing one is filled from the product's other rows),
    naive UTC timestamps, text customer ids (None: a guest) and ISO country codes.

    A cancellation is a line with a negative quantity, always; and, only when cancel_prefix
    is given (the demo's "C"), a line whose invoice starts with it, since in other shops an
    invoice starting with C may be an ordinary order. Each cancellation reverses the latest
    earlier order of the same customer, product and quantity. Times: timestamps.parse_times.
    """
    n = len(df)
    col = {canon: df[src] for canon, src in mapping.items()}
    missing_col = pd.Series(np.nan, index=df.index, dtype="object")

    invoice = _ids(col["invoice"]).str.upper()
    product = _ids(col["product_id"]).str.upper()
    raw_title = _text(col["title"])
    # Titles repeat a lot (541k lines, ~4k distinct texts): clean each distinct text once.
    fixed: dict[str, str | None] = {}
    repaired: set[str] = set()
    for value in raw_title.dropna().unique():
        text = repair_text(value) if _MOJIBAKE.search(value) else value
        if text != value:
            repaired.add(value)
        fixed[value] = " ".join(text.split()) or None
    title = raw_title.map(fixed)
    repaired_text = int(raw_title.isin(repaired).sum())
    quantity = _numbers(col["quantity"]).round()
    price = _numbers(col["price"])
    times = parse_times(col["ts"], source_tz, date_order)
    ts = times.ts
    customer = _ids(col.get("customer_id", missing_col))
    country_raw = _text(col.get("country", missing_col))
    codes = {v: country_code(v) for v in country_raw.dropna().unique()}
    country = country_raw.map(codes)

    cancelled = quantity < 0
    if cancel_prefix:
        cancelled |= invoice.str.startswith(cancel_prefix.upper(), na=False)
    too_long = pd.Series(False, index=df.index)
    for ids in (invoice, product, customer):
        too_long |= ids.str.len().gt(ID_MAX).fillna(False)
    checks: list[tuple[str, pd.Series]] = [
        ("missing product id", product.isna()),
        ("missing invoice", invoice.isna()),
        ("date out of range (before 1980 or in the future)", times.out_of_range),
        ("unparseable date", ts.isna()),
        ("cancellation", cancelled),
        ("not a product (postage, fees, adjustments)", _is_non_product(product, title)),
        ("unparseable quantity or price", quantity.isna() | price.isna()),
        (f"id longer than {ID_MAX} characters", too_long),
        ("quantity or price out of range", (quantity > QUANTITY_MAX) | ~np.isfinite(price)),
        ("non-positive quantity", quantity <= 0),
        ("non-positive price", price <= 0),
    ]
    rejected: dict[str, int] = {}
    keep = pd.Series(True, index=df.index)
    hits: dict[str, pd.Series] = {}
    for reason, bad in checks:
        hits[reason] = hit = keep & bad.fillna(False).astype(bool)
        if hit.any():
            rejected[reason] = int(hit.sum())
        keep &= ~hit
    reversed_ = _reversed_orders(keep, hits["cancellation"], customer, product, quantity, ts)
    if reversed_.any():
        rejected[REVERSED] = int(reversed_.sum())
    keep &= ~reversed_

    # One title per product: from sellable rows first, else from any priced row of it
    # (zero-price rows carry stock notes such as "damaged", never a product name).
    best = _canonical_titles(product, title, keep & title.notna())
    fallback = _canonical_titles(product, title, (price > 0).fillna(False) & title.notna())
    canonical = best.combine_first(fallback)
    title = product.map(canonical).where(product.notna())
    no_title = keep & title.isna()
    if no_title.any():
        rejected["missing description"] = int(no_title.sum())
    keep &= ~no_title

    lines = pd.DataFrame(
        {
            "invoice": invoice[keep].astype(object),
            "product_id": product[keep].astype(object),
            "title": title[keep].str.slice(0, TITLE_MAX).astype(object),
            "quantity": quantity[keep].astype("int64"),
            "price": price[keep].astype("float64"),
            "ts": ts[keep],
            "customer_id": _none_for_missing(customer[keep]),
            "country": _none_for_missing(country[keep]),
        }
    ).reset_index(drop=True)
    return CleanResult(
        lines=lines,
        rows_read=n,
        rejected=rejected,
        guest_rows=int(lines["customer_id"].isna().sum()),
        repaired_text=repaired_text,
        notes=times.notes,
    )


def _none_for_missing(series: pd.Series) -> pd.Series:
    return series.astype(object).where(series.notna(), None)
