"""Import a store's own catalog: products with their taxonomy, descriptions, brands, images and
availability, from CSV, Parquet or JSON Lines (read by storefront.importer.read_table).

How it meets the order history (docs/architecture.md, "The catalog"): orders imports build the
`products` table from order lines; a catalog lives in its own tables (catalog_items,
catalog_categories) and the shop lays each catalog row over the product of the same id. So an
orders import never overwrites a catalog's titles or categories, a product seen only in orders
still exists, and it takes the catalog's data as soon as a catalog lists it.

A full import makes the file the whole catalog: products it no longer lists are retired (kept,
never shown). `append` upserts the file's rows and retires nothing. Every write happens in one
transaction after every check has passed: a refused import changes nothing.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import time
import unicodedata
import warnings
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from sqlalchemy import delete, select, update
from sqlalchemy.engine import Engine

from storefront import db, product_ids
from storefront.catalog import UNCATEGORISED

FIELDS = (
    "id",
    "title",
    "description",
    "category",
    "brand",
    "price",
    "currency",
    "image_url",
    "available",
    "stock",
    "launch_date",
    "hidden",
)
REQUIRED = ("id", "title")
# column names tried for each field, after lower-casing and turning other characters into "_"
ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("id", "sku", "product_id", "item_id", "stockcode", "stock_code", "code"),
    "title": ("title", "name", "product_name", "product_title"),
    "description": ("description", "long_description", "body", "body_html", "details"),
    "category": ("category", "category_path", "categories", "product_type", "taxonomy"),
    "brand": ("brand", "manufacturer", "vendor", "make"),
    "price": ("price", "unit_price", "sale_price", "list_price"),
    "currency": ("currency", "currency_code"),
    "image_url": ("image_url", "image", "image_link", "picture", "img", "photo"),
    "available": ("available", "availability", "in_stock", "is_available"),
    "stock": ("stock", "inventory", "stock_level", "stock_quantity", "quantity"),
    "launch_date": ("launch_date", "launched", "release_date", "published_at", "created_at"),
    "hidden": ("hidden", "hide", "is_hidden", "unlisted"),
}
SEPARATOR = " > "
MAX_REJECT_SHARE = 0.2  # refuse a file when more than this share of its rows is unusable
CHUNK = 500

_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
# a plain host (its origin goes into the shop's CSP, so nothing that could end a directive)
_IMAGE_URL = re.compile(r"^https?://[A-Za-z0-9.-]+(?::\d{1,5})?(?:[/?#][^\s\"'<>\\]*)?$")
_TRUE = {"1", "true", "yes", "y", "t", "in stock", "instock", "in_stock", "available", "on"}
_FALSE = {"0", "false", "no", "n", "f", "out of stock", "outofstock", "out_of_stock", "off"}
_FALSE |= {"unavailable", "discontinued", "sold out", "soldout"}


class CatalogImportError(ValueError):
    """The catalog was refused; the message says why. Nothing was written."""


@dataclass
class CategoryNode:
    slug: str
    name: str
    parent: str | None
    path: str
    position: int


@dataclass
class CatalogPlan:
    """What an import will do (or, after `apply`, did): shown by --dry-run and after a run."""

    source: str
    rows_read: int
    items: list[dict]
    nodes: list[CategoryNode]
    rejected: dict[str, int]
    notes: list[str] = field(default_factory=list)
    added: int = 0
    updated: int = 0
    retired: int = 0
    restored: int = 0
    append: bool = False
    attributes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def lines(self, dry_run: bool = False) -> list[str]:
        """A human summary, one fact per line."""
        name = Path(self.source).name
        verb = "Would import" if dry_run else "Imported"
        mode = "upserting into" if self.append else "replacing"
        shown = sum(1 for it in self.items if it["available"] and not it["hidden"])
        out = [
            f"{verb} {len(self.items):,} of {self.rows_read:,} rows from {name}, {mode} the "
            f"catalog: {self.added:,} new, {self.updated:,} updated, {self.retired:,} retired"
            + (f", {self.restored:,} back from retirement" if self.restored else "")
            + ".",
            f"{shown:,} of them can be shown (available, not hidden).",
        ]
        total = sum(self.rejected.values())
        out.append(f"Rejected {total:,} rows:" if total else "Rejected no rows.")
        for reason, count in sorted(self.rejected.items(), key=lambda kv: (-kv[1], kv[0])):
            out.append(f"  {count:>9,}  {reason}")
        tops = [n for n in self.nodes if n.parent is None]
        out.append(f"{len(self.nodes):,} categories, {len(tops):,} at the top level.")
        if self.attributes:
            out.append("Kept as attributes: " + ", ".join(self.attributes) + ".")
        out.extend(self.notes)
        if not dry_run:
            out.append(f"Done in {self.seconds:.1f} s.")
        return out


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", str(name).strip().lower()).strip("_")


def resolve_columns(columns: list[str], overrides: Mapping[str, str] | None) -> dict[str, str]:
    """field -> column of the file: the --map overrides, then the aliases. Raises
    CatalogImportError naming the field or column when a mapping is impossible."""
    overrides = dict(overrides or {})
    found: dict[str, str] = {}
    for name, column in overrides.items():
        if name not in FIELDS:
            raise CatalogImportError(
                f"--map {name}={column}: unknown field {name!r}; fields: {', '.join(FIELDS)}"
            )
        if column not in columns:
            raise CatalogImportError(
                f"--map {name}={column}: no column {column!r} in the file; "
                f"columns: {', '.join(map(str, columns))}"
            )
        found[name] = column
    by_key: dict[str, str] = {}
    for c in columns:
        by_key.setdefault(_key(c), c)
    taken = set(found.values())
    for name in FIELDS:
        if name in found:
            continue
        for alias in ALIASES[name]:
            column = by_key.get(alias)
            if column is not None and column not in taken:
                found[name] = column
                taken.add(column)
                break
    missing = [f for f in REQUIRED if f not in found]
    if missing:
        raise CatalogImportError(
            f"no column for {', '.join(missing)} (tried {', '.join(ALIASES[missing[0]])}); "
            f"columns in the file: {', '.join(map(str, columns))}. "
            f"Name one with --map FIELD=COLUMN, e.g. --map {missing[0]}=YourColumn."
        )
    return found


def _text(value) -> str | None:
    """A cell as trimmed text; None when empty or missing (JSON Lines cells may be numbers)."""
    if value is None:
        return None
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if value.is_integer():
            value = int(value)
    if isinstance(value, bool):
        value = "true" if value else "false"
    text = str(value).strip()
    return text or None


def _flag(value: str | None) -> bool | None:
    if value is None:
        return None
    low = value.lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise ValueError(value)


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    text = re.sub(r"[^\d,.\-]", "", value)
    if "," in text and "." not in text:  # decimal comma, "1,50"
        text = text.replace(",", ".")
    number = float(text.replace(",", ""))
    if not math.isfinite(number):
        raise ValueError(value)
    return number


_BAD_DATE = object()


def _dates(texts: list[str | None]) -> list:
    """Each cell as a naive UTC datetime, None when empty, _BAD_DATE when not a date. Parsed as
    one column (a date per call costs about a millisecond: minutes for a big catalog); cells
    in another format than the first are parsed again one by one; unix seconds are allowed."""
    s = pd.Series(texts, dtype=object)
    unix = s.str.fullmatch(r"\d{9,11}", na=False)
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns, UTC]")
    if unix.any():
        out[unix] = pd.to_datetime(s[unix].astype("int64"), unit="s", utc=True)
    rest = s.notna() & ~unix
    with warnings.catch_warnings():  # "could not infer format": then it parses cell by cell
        warnings.simplefilter("ignore", UserWarning)
        if rest.any():
            out[rest] = pd.to_datetime(s[rest], utc=True, errors="coerce")
            retry = rest & out.isna()
            if retry.any():
                out[retry] = pd.to_datetime(s[retry], utc=True, errors="coerce", format="mixed")
    result: list = []
    for text, stamp in zip(texts, out, strict=True):
        if text is None:
            result.append(None)
        elif pd.isna(stamp):
            result.append(_BAD_DATE)
        else:
            result.append(stamp.to_pydatetime().replace(tzinfo=None))
    return result


def slugify(text: str) -> str:
    """A URL slug: ASCII letters and digits joined by "-" ("Fruit & Veg" -> "fruit-veg")."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    if not slug:
        slug = "c-" + hashlib.sha1(text.encode()).hexdigest()[:8]
    if len(slug) > 60:
        slug = slug[:51].rstrip("-") + "-" + hashlib.sha1(text.encode()).hexdigest()[:8]
    return slug


def _row(cells: dict, cols: dict[str, str], extra: list[str], separator: str, launch) -> dict:
    """One catalog row from the file's cells; ValueError("reason") when it is unusable."""
    get = {f: _text(cells.get(c)) for f, c in cols.items()}
    pid = get.get("id")
    if pid is None:
        raise ValueError("id: missing")
    if not _ID.match(pid):
        raise ValueError("id: not 1-32 letters, digits, - or _")
    title = get.get("title")
    if title is None:
        raise ValueError("title: missing")
    try:
        price = _number(get.get("price"))
    except ValueError:
        raise ValueError("price: not a number") from None
    if price is not None and price < 0:
        raise ValueError("price: negative")
    currency = get.get("currency")
    if currency is not None:
        currency = currency.upper()
        if not _CURRENCY.match(currency):
            raise ValueError("currency: not a 3-letter code such as EUR")
    try:
        available = _flag(get.get("available"))
    except ValueError:
        raise ValueError("available: not yes/no, true/false or 1/0") from None
    try:
        hidden = _flag(get.get("hidden"))
    except ValueError:
        raise ValueError("hidden: not yes/no, true/false or 1/0") from None
    try:
        stock_number = _number(get.get("stock"))
    except ValueError:
        raise ValueError("stock: not a number") from None
    stock = None if stock_number is None else int(stock_number)
    if available is None:
        available = True if stock is None else stock > 0
    if launch is _BAD_DATE:
        raise ValueError("launch_date: not a date")
    image = get.get("image_url")
    if image is not None and not _IMAGE_URL.match(image):
        raise ValueError("image_url: not an http(s) URL")
    path: tuple[str, ...] = ()
    if get.get("category") is not None:
        path = tuple(p.strip()[:128] for p in get["category"].split(separator) if p.strip())
    attributes = {c: t for c in extra if (t := _text(cells.get(c))) is not None}
    return {
        "id": pid,
        "title": title[:255],
        "description": get.get("description"),
        "path": path,
        "brand": (get.get("brand") or None) and get["brand"][:128],
        "price": price,
        "currency": currency,
        "image_url": image,
        "available": bool(available),
        "stock": stock,
        "launch_date": launch,
        "hidden": bool(hidden),
        "attributes": json.dumps(attributes, ensure_ascii=False, sort_keys=True)
        if attributes
        else None,
    }


def _taxonomy(
    paths: list[tuple[str, ...]], existing: dict[str, str], taken_elsewhere: set[str]
) -> tuple[list[CategoryNode], dict[tuple[str, ...], str]]:
    """Category nodes for every level of every path, in order of first appearance.

    A node keeps the slug it had (by its path) so rules and links survive re-imports; a new node
    gets its own name's slug when no other node has the same one, else its parent's slug and
    its name joined ("fruit-veg-fruit")."""
    order: list[tuple[str, ...]] = []
    seen: set[tuple[str, ...]] = set()
    for path in paths:
        for depth in range(1, len(path) + 1):
            node = path[:depth]
            if node not in seen:
                seen.add(node)
                order.append(node)
    name_slugs = Counter(slugify(n[-1]) for n in order)
    used = set(taken_elsewhere) | {
        existing[SEPARATOR.join(n)] for n in order if SEPARATOR.join(n) in existing
    }
    slug_of: dict[tuple[str, ...], str] = {}
    nodes: list[CategoryNode] = []
    for position, node in enumerate(order):
        key = SEPARATOR.join(node)
        slug = existing.get(key)
        if slug is None:
            base = slugify(node[-1])
            if name_slugs[base] > 1 or base in used:
                parent = slug_of.get(node[:-1])
                base = slugify(f"{parent} {node[-1]}") if parent else base
            slug, k = base, 2
            while slug in used:
                slug, k = f"{base}-{k}", k + 1
            used.add(slug)
        slug_of[node] = slug
        parent = slug_of.get(node[:-1]) if len(node) > 1 else None
        nodes.append(CategoryNode(slug, node[-1], parent, key, position))
    return nodes, slug_of


def plan_import(
    engine: Engine,
    path: str | Path,
    overrides: Mapping[str, str] | None = None,
    *,
    append: bool = False,
    separator: str = SEPARATOR,
    max_reject_share: float = MAX_REJECT_SHARE,
) -> CatalogPlan:
    """Read and check the file and work out what importing it would change; writes nothing.
    Raises CatalogImportError (with the reason) when the import must be refused."""
    from storefront.importer import read_table

    if not separator:
        raise CatalogImportError("--separator: must not be empty")
    try:
        frame = read_table(path)
    except Exception as exc:  # any reader's failure is a refusal with its reason, not a trace
        raise CatalogImportError(f"cannot read {path}: {exc}") from None
    columns = [str(c) for c in frame.columns]
    frame.columns = columns
    if frame.empty:
        raise CatalogImportError(f"{path}: no rows to import")
    cols = resolve_columns(columns, overrides)
    extra = [c for c in columns if c not in set(cols.values())]
    rejected: Counter[str] = Counter()
    by_id: dict[str, dict] = {}
    duplicates = 0
    store = product_ids.held(engine, orders=True, catalog=append)
    respelt: dict[str, str] = {}
    if "launch_date" in cols:
        launches = _dates([_text(v) for v in frame[cols["launch_date"]]])
    else:
        launches = [None] * len(frame)
    for cells, launch in zip(frame.to_dict("records"), launches, strict=True):
        try:
            item = _row(cells, cols, extra, separator, launch)
        except ValueError as exc:
            rejected[str(exc)] += 1
            continue
        if (spelt := product_ids.spell(item["id"], store)) != item["id"]:
            respelt[item["id"]] = spelt
            item["id"] = spelt
        if item["id"] in by_id:
            duplicates += 1
        by_id[item["id"]] = item
    rows_read = len(frame)
    items = list(by_id.values())
    if not items:
        reasons = ", ".join(f"{r} ({n:,})" for r, n in rejected.most_common(3))
        raise CatalogImportError(f"{path}: no usable rows of {rows_read:,} ({reasons})")
    bad = sum(rejected.values())
    if bad > max_reject_share * rows_read:
        reasons = ", ".join(f"{r} ({n:,})" for r, n in rejected.most_common(3))
        raise CatalogImportError(
            f"{path}: {bad:,} of {rows_read:,} rows rejected, more than "
            f"{max_reject_share:.0%}: {reasons}. Nothing was imported."
        )
    notes = [said] if (said := product_ids.note(respelt)) else []
    if duplicates:
        notes.append(f"{duplicates:,} ids appeared more than once; the last row of each was kept.")
    if "category" not in cols:  # never the demo's gift categories on another store's products
        notes.append(
            "The file has no category column: its products are in no category "
            f'("{UNCATEGORISED[1]}") until a file with one is imported.'
        )
    with engine.connect() as conn:
        stored = {
            r.id: r.retired
            for r in conn.execute(select(db.catalog_items.c.id, db.catalog_items.c.retired))
        }
        existing = {
            r.path: r.slug
            for r in conn.execute(
                select(db.catalog_categories.c.path, db.catalog_categories.c.slug)
            )
        }
    paths = [it["path"] for it in items if it["path"]]
    if append:  # the stored taxonomy stays; the file's new nodes join it
        with engine.connect() as conn:
            kept = [
                (tuple(r.path.split(SEPARATOR)))
                for r in conn.execute(
                    select(db.catalog_categories.c.path).order_by(db.catalog_categories.c.position)
                )
            ]
        paths = kept + paths
    nodes, slug_of = _taxonomy(paths, existing, {UNCATEGORISED[0]})
    for item in items:
        item["category"] = slug_of.get(item["path"]) if item["path"] else None
    ids = set(by_id)
    plan = CatalogPlan(str(path), rows_read, items, nodes, dict(rejected), notes, append=append)
    plan.added = sum(1 for i in ids if i not in stored)
    plan.updated = len(ids) - plan.added
    plan.restored = sum(1 for i in ids if stored.get(i) is not None)
    if not append:
        plan.retired = sum(1 for i, r in stored.items() if i not in ids and r is None)
    plan.attributes = extra
    return plan


def apply_plan(engine: Engine, plan: CatalogPlan) -> CatalogPlan:
    """Write a checked plan in one transaction: items upserted, the taxonomy stored, and (for
    a full import) every stored product the file does not list retired."""
    t0 = time.perf_counter()
    now = datetime.now(UTC).replace(tzinfo=None)
    records = [
        {
            "id": it["id"],
            "title": it["title"],
            "description": it["description"],
            "category": it["category"],
            "brand": it["brand"],
            "price": it["price"],
            "currency": it["currency"],
            "image_url": it["image_url"],
            "available": int(it["available"]),
            "stock": it["stock"],
            "launch_date": it["launch_date"],
            "hidden": int(it["hidden"]),
            "retired": None,
            "attributes": it["attributes"],
            "updated": now,
        }
        for it in plan.items
    ]
    ids = [r["id"] for r in records]
    table = db.catalog_items
    with engine.begin() as conn:
        for start in range(0, len(ids), CHUNK):
            conn.execute(delete(table).where(table.c.id.in_(ids[start : start + CHUNK])))
        for start in range(0, len(records), CHUNK):
            conn.execute(table.insert(), records[start : start + CHUNK])
        if not plan.append:
            listed = set(ids)
            stale = [
                i
                for i in conn.execute(select(table.c.id).where(table.c.retired.is_(None))).scalars()
                if i not in listed
            ]
            for start in range(0, len(stale), CHUNK):
                part = stale[start : start + CHUNK]
                conn.execute(update(table).where(table.c.id.in_(part)).values(retired=now))
        conn.execute(delete(db.catalog_categories))
        if plan.nodes:
            conn.execute(
                db.catalog_categories.insert(),
                [
                    {"slug": n.slug, "name": n.name, "parent": n.parent, "path": n.path}
                    | {"position": n.position}
                    for n in plan.nodes
                ],
            )
        conn.execute(
            db.import_runs.insert(),
            [
                {
                    "source": f"catalog:{plan.source}",
                    "started": now,
                    "rows_read": plan.rows_read,
                    "rows_loaded": len(records),
                    "rejected": json.dumps(plan.rejected, sort_keys=True),
                }
            ],
        )
    plan.seconds = round(time.perf_counter() - t0, 2)
    return plan


def import_catalog(
    engine: Engine,
    path: str | Path,
    overrides: Mapping[str, str] | None = None,
    *,
    append: bool = False,
    dry_run: bool = False,
    separator: str = SEPARATOR,
    max_reject_share: float = MAX_REJECT_SHARE,
) -> CatalogPlan:
    """Check the file, then (unless dry_run) import it. Raises CatalogImportError on refusal."""
    db.create_schema(engine)
    plan = plan_import(
        engine,
        path,
        overrides,
        append=append,
        separator=separator,
        max_reject_share=max_reject_share,
    )
    return plan if dry_run else apply_plan(engine, plan)
