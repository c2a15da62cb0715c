"""The relational store: SQLite by default, PostgreSQL by URL, through one SQLAlchemy Core schema.

Core (not the ORM) because every hot read is a bulk read into memory at worker start, and every
write is a batch insert. The tables below are what the code reads and writes; the database gets
them through Alembic revisions (storefront/migrations/versions/), and a test checks that the two
agree (tests/integration/test_migrations.py). Change a table here and add a revision there.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    text,
)
from sqlalchemy.engine import Engine, make_url

metadata = MetaData()

categories = Table(
    "categories",
    metadata,
    Column("slug", String(64), primary_key=True),
    Column("name", String(128), nullable=False),
    Column("position", Integer, nullable=False, default=0),
)

products = Table(
    "products",
    metadata,
    Column("id", String(32), primary_key=True),  # the shop's stock code, used in URLs
    Column("title", String(255), nullable=False),
    Column("category", String(64), nullable=False, index=True),
    Column("price", Float, nullable=False),
    Column("first_sold", DateTime, nullable=True),
    Column("units_sold", Integer, nullable=False, default=0),
)

# ---- an imported catalog (storefront/catalog_import.py) ---------------------------------------
# Kept apart from `products` (which order imports rebuild from order lines): the shop lays a
# catalog row over the product of the same id, so an orders import never overwrites a catalog's
# titles or categories, and a product seen only in orders still exists.

catalog_items = Table(
    "catalog_items",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("title", String(255), nullable=False),
    Column("description", Text, nullable=True),
    Column("category", String(64), nullable=True),  # a slug of catalog_categories (a leaf)
    Column("brand", String(128), nullable=True),
    Column("price", Float, nullable=True),
    Column("currency", String(3), nullable=True),
    Column("image_url", String(1000), nullable=True),
    Column("available", Integer, nullable=False),  # 0/1: in stock and sellable
    Column("stock", Integer, nullable=True),
    Column("launch_date", DateTime, nullable=True),
    Column("hidden", Integer, nullable=False),  # 0/1: the shop never shows it
    Column("retired", DateTime, nullable=True),  # no longer listed by a full import
    Column("attributes", Text, nullable=True),  # JSON {column: value} of every other column
    Column("updated", DateTime, nullable=False),
)

catalog_categories = Table(
    "catalog_categories",
    metadata,
    Column("slug", String(64), primary_key=True),
    Column("name", String(128), nullable=False),
    Column("parent", String(64), nullable=True),  # None: a top-level category
    Column("path", Text, nullable=False),  # the levels' names joined by " > ": stable identity
    Column("position", Integer, nullable=False),
)

customers = Table(
    "customers",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("country", String(2), nullable=True),  # ISO 3166-1 alpha-2
    Column("country_name", String(64), nullable=True),
    Column("first_order", DateTime, nullable=True),
    Column("last_order", DateTime, nullable=True),
)

order_lines = Table(
    "order_lines",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("invoice", String(32), nullable=False),
    Column("product_id", String(32), nullable=False),
    Column("customer_id", String(32), nullable=True),  # None: a guest order (popularity only)
    Column("quantity", Integer, nullable=False),
    Column("price", Float, nullable=False),
    Column("ts", DateTime, nullable=False),
    Column("country", String(2), nullable=True),
    Index("ix_order_lines_customer", "customer_id"),
    Index("ix_order_lines_ts", "ts"),
)

events = Table(
    "events",
    metadata,
    # the client's event id, unique per visitor and source: a retry is never counted twice, and
    # two visitors (or API callers) whose ids happen to match are both counted
    Column("id", String(64), primary_key=True),
    Column("visitor", String(64), primary_key=True, index=True),
    # "" for the visitor's own browser or app, "key:<id>" for a server-to-server caller
    Column("source", String(16), primary_key=True, server_default="", default=""),
    Column("type", String(16), nullable=False),
    Column("product_id", String(32), nullable=True),
    Column("slot", String(64), nullable=True),
    Column("page", String(16), nullable=True),  # the page type the event happened on
    Column("query", String(200), nullable=True),
    Column("ts", DateTime, nullable=False),  # when the client says it happened (UTC)
    Column("received", DateTime, nullable=False),
    Column("country", String(2), nullable=True),
    Column("device", String(16), nullable=True),
    Column("channel", String(16), nullable=True),  # web, app, email, api
    Column("quantity", Integer, nullable=True),  # for cart adds and purchases
    Column("os", String(16), nullable=True),  # the operating system (revision 0006; else none)
)

customer_accounts = Table(
    "customer_accounts",
    metadata,
    # how a customer signs in (storefront/accounts.py); apart from `customers`, which an order
    # import rebuilds, so a re-import never wipes a password
    Column("customer_id", String(32), primary_key=True),
    Column("email", String(254), nullable=True, index=True),  # lower-cased
    Column("password_hash", String(255), nullable=False),  # werkzeug (scrypt), never plain
    Column("updated", DateTime, nullable=False),
)

identities = Table(
    "identities",
    metadata,
    # every visitor id a person has used, stitched to the customer they signed in as
    Column("visitor", String(64), primary_key=True),
    Column("customer_id", String(32), nullable=False, index=True),
    Column("linked", DateTime, nullable=False),
)

experiments = Table(
    "experiments",
    metadata,
    Column("id", String(40), primary_key=True),  # a slug, also the bucketing salt's base
    Column("name", String(120), nullable=False),
    Column("kind", String(16), nullable=False),  # strategy | model | rules
    Column("page", String(16), nullable=False),
    Column("slot", String(64), nullable=True),  # for strategy experiments
    Column("arms", Text, nullable=False),  # JSON [{"name", "share", "value"}]
    Column("metric", String(32), nullable=False),  # the declared primary metric
    Column("conditions", Text, nullable=True),  # JSON targeting, same shape as rule conditions
    Column("status", String(12), nullable=False),  # draft | running | stopped
    Column("created", DateTime, nullable=False),
    Column("started", DateTime, nullable=True),
    Column("stopped", DateTime, nullable=True),
)

# Who took part in a targeted experiment: a visitor counts from the first page on which the
# experiment's conditions held for them (trigger-based analysis). Written once per visitor.
experiment_exposures = Table(
    "experiment_exposures",
    metadata,
    Column("experiment_id", String(40), primary_key=True),
    Column("visitor", String(64), primary_key=True),
    Column("arm", String(30), nullable=False),
    Column("first_seen", DateTime, nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(16), primary_key=True),  # public part of the key, shown in lists
    Column("name", String(100), nullable=False),
    Column("secret_hash", String(64), nullable=False),  # sha256 of the secret part
    Column("per_minute", Integer, nullable=False, default=600),
    Column("created", DateTime, nullable=False),
    Column("revoked", DateTime, nullable=True),
)

# interactions imported from another system (`storefront import interactions`): views, clicks,
# add-to-carts, ratings, purchases; training adds them to the orders with their weight
# (storefront/interactions.py, recommender/imported.py)
interactions = Table(
    "interactions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("customer_id", String(64), nullable=False, index=True),
    Column("product_id", String(32), nullable=False),
    Column("type", String(16), nullable=False),  # view, click, add_to_cart, rating, purchase
    Column("value", Float, nullable=True),  # a rating's value as given
    Column("weight", Float, nullable=False),  # order-equivalents, from the type's weight
    Column("ts", DateTime, nullable=False),
)

import_runs = Table(
    "import_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source", Text, nullable=False),
    Column("started", DateTime, nullable=False),
    Column("rows_read", Integer, nullable=False),
    Column("rows_loaded", Integer, nullable=False),
    Column("rejected", Text, nullable=False),  # JSON {reason: count}
)


# ---- merchandiser rules and the studio (storefront/rules/store.py, storefront/admin/) ----------

rule_drafts = Table(
    "rule_drafts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),  # stable in the studio's URLs
    Column("name", String(80), nullable=False, unique=True),
    Column("position", Integer, nullable=False),  # display order; precedence is by priority
    Column("body", Text, nullable=False),  # JSON of one rule (schema.to_data)
    Column("updated", DateTime, nullable=False),
    Column("updated_by", String(64), nullable=False),
)

rule_versions = Table(
    "rule_versions",
    metadata,
    # append-only: publishing and restoring add a row; the newest row is what shoppers get
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("label", String(32), nullable=False, unique=True),  # v<id>-<digest>, in cache keys
    Column("body", Text, nullable=False),  # JSON {"rules": [...]}, never changed
    Column("created", DateTime, nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("note", Text, nullable=True),
    Column("restored_from", Integer, nullable=True),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ts", DateTime, nullable=False, index=True),
    Column("actor", String(64), nullable=False),
    Column("action", String(24), nullable=False),  # create, update, delete, enable, publish...
    Column("target", String(120), nullable=False),
    Column("diff", Text, nullable=False),  # unified diff of the YAML before and after
)

admin_users = Table(
    "admin_users",
    metadata,
    Column("username", String(64), primary_key=True),
    Column("password_hash", String(255), nullable=False),  # werkzeug scrypt
    Column("role", String(16), nullable=False),  # viewer | editor | publisher
    Column("created", DateTime, nullable=False),
    Column("last_login", DateTime, nullable=True),
)

# studio sign-ins, held on the server so signing out, removing a user or changing a role ends
# them at once; the cookie carries only a random token, the table only its SHA-256
admin_sessions = Table(
    "admin_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("username", String(64), nullable=False, index=True),
    Column("created", DateTime, nullable=False),
    Column("expires", DateTime, nullable=False, index=True),
)


# published model versions (storefront/model_store.py): every node pulls the newest published
# one into its own models folder; the manifest holds each file's sha256, size and chunk count
model_versions = Table(
    "model_versions",
    metadata,
    Column("version", String(32), primary_key=True),
    Column("manifest", Text, nullable=False),  # JSON {file: {"sha256", "size", "chunks"}}
    Column("size", BigInteger, nullable=False),
    Column("created", DateTime, nullable=False),
    Column("published", DateTime, nullable=True, index=True),  # the newest one is current
)

# the artifact files themselves, in chunks of a few MiB (bytea / BLOB on either back end)
model_artifacts = Table(
    "model_artifacts",
    metadata,
    Column("version", String(32), primary_key=True),
    Column("name", String(255), primary_key=True),
    Column("chunk_no", Integer, primary_key=True),
    Column("data", LargeBinary, nullable=False),
)


# the deletion ledger (storefront/deletions.py): whom `storefront privacy delete` or /me's delete
# erased, as a hash of the identifier (a visitor id or a customer id), so training leaves out
# what later carries it (an orders re-import, an API caller's events) without the ledger
# itself naming anyone
deletions = Table(
    "deletions",
    metadata,
    Column("hash", String(64), primary_key=True),  # sha256 hex (deletions.digest)
    Column("kind", String(8), nullable=False),  # visitor | customer
    Column("deleted", DateTime, nullable=False),
)


# secrets every node must share (storefront/shared_secret.py): the Flask secret key, generated
# once by the first node to start when STOREFRONT_SECRET_KEY is not set
shared_secrets = Table(
    "shared_secrets",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", Text, nullable=False),
    Column("created", DateTime, nullable=False),
)


def make_engine(url: str) -> Engine:
    """An engine for either back end; SQLite gets WAL so readers never wait on the importer,
    and its file's folder is made (a fresh STOREFRONT_HOME: nothing else creates it)."""
    if url.startswith("sqlite"):
        path = make_url(url).database
        if path and path != ":memory:" and not path.startswith("file:"):
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # pragma: no cover - trivial
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)


def create_schema(engine: Engine) -> None:
    """Bring the database to this release's schema: Alembic's upgrade to head from
    storefront/migrations (creating every table in an empty database, adopting one made before
    migrations). Cheap when already current; what every command that opens the store runs.
    The web app never calls it: a server refuses a schema that is not current (require_schema)."""
    from storefront import migrations

    migrations.upgrade(engine)


def require_schema(engine: Engine) -> None:
    """Raise migrations.SchemaNotCurrent (one line: run `storefront db upgrade`) unless the
    database is at this release's head revision."""
    from storefront import migrations

    migrations.require_head(engine)


def drop_schema(engine: Engine) -> None:
    """Drop every table of the schema and Alembic's version table (tests, a clean reinstall)."""
    metadata.drop_all(engine)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
