"""Revision 0001's schema, frozen: every table as the last release before Alembic made it, with
`events` keyed by the client's id alone (revision 0002 re-keys it). Never edit this module to
follow storefront/db.py: a change to the schema is a new revision in versions/. Adopting a
database made before Alembic also reads it (storefront/migrations/__init__.py: the tables and
nullable columns such a database may lack are added from here before it is stamped).
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Float, Index, Integer, MetaData, String, Table, Text

metadata = MetaData()

Table(
    "categories",
    metadata,
    Column("slug", String(64), primary_key=True),
    Column("name", String(128), nullable=False),
    Column("position", Integer, nullable=False, default=0),
)

Table(
    "products",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("title", String(255), nullable=False),
    Column("category", String(64), nullable=False, index=True),
    Column("price", Float, nullable=False),
    Column("first_sold", DateTime, nullable=True),
    Column("units_sold", Integer, nullable=False, default=0),
)

Table(
    "catalog_items",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("title", String(255), nullable=False),
    Column("description", Text, nullable=True),
    Column("category", String(64), nullable=True),
    Column("brand", String(128), nullable=True),
    Column("price", Float, nullable=True),
    Column("currency", String(3), nullable=True),
    Column("image_url", String(1000), nullable=True),
    Column("available", Integer, nullable=False),
    Column("stock", Integer, nullable=True),
    Column("launch_date", DateTime, nullable=True),
    Column("hidden", Integer, nullable=False),
    Column("retired", DateTime, nullable=True),
    Column("attributes", Text, nullable=True),
    Column("updated", DateTime, nullable=False),
)

Table(
    "catalog_categories",
    metadata,
    Column("slug", String(64), primary_key=True),
    Column("name", String(128), nullable=False),
    Column("parent", String(64), nullable=True),
    Column("path", Text, nullable=False),
    Column("position", Integer, nullable=False),
)

Table(
    "customers",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("country", String(2), nullable=True),
    Column("country_name", String(64), nullable=True),
    Column("first_order", DateTime, nullable=True),
    Column("last_order", DateTime, nullable=True),
)

Table(
    "order_lines",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("invoice", String(32), nullable=False),
    Column("product_id", String(32), nullable=False),
    Column("customer_id", String(32), nullable=True),
    Column("quantity", Integer, nullable=False),
    Column("price", Float, nullable=False),
    Column("ts", DateTime, nullable=False),
    Column("country", String(2), nullable=True),
    Index("ix_order_lines_customer", "customer_id"),
    Index("ix_order_lines_ts", "ts"),
)

Table(
    "events",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("visitor", String(64), nullable=False, index=True),
    Column("type", String(16), nullable=False),
    Column("product_id", String(32), nullable=True),
    Column("slot", String(64), nullable=True),
    Column("page", String(16), nullable=True),
    Column("query", String(200), nullable=True),
    Column("ts", DateTime, nullable=False),
    Column("received", DateTime, nullable=False),
    Column("country", String(2), nullable=True),
    Column("device", String(16), nullable=True),
    Column("channel", String(16), nullable=True),
    Column("quantity", Integer, nullable=True),
)

Table(
    "customer_accounts",
    metadata,
    Column("customer_id", String(32), primary_key=True),
    Column("email", String(254), nullable=True, index=True),
    Column("password_hash", String(255), nullable=False),
    Column("updated", DateTime, nullable=False),
)

Table(
    "identities",
    metadata,
    Column("visitor", String(64), primary_key=True),
    Column("customer_id", String(32), nullable=False, index=True),
    Column("linked", DateTime, nullable=False),
)

Table(
    "experiments",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("name", String(120), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("page", String(16), nullable=False),
    Column("slot", String(64), nullable=True),
    Column("arms", Text, nullable=False),
    Column("metric", String(32), nullable=False),
    Column("conditions", Text, nullable=True),
    Column("status", String(12), nullable=False),
    Column("created", DateTime, nullable=False),
    Column("started", DateTime, nullable=True),
    Column("stopped", DateTime, nullable=True),
)

Table(
    "experiment_exposures",
    metadata,
    Column("experiment_id", String(40), primary_key=True),
    Column("visitor", String(64), primary_key=True),
    Column("arm", String(30), nullable=False),
    Column("first_seen", DateTime, nullable=False),
)

Table(
    "api_keys",
    metadata,
    Column("id", String(16), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("secret_hash", String(64), nullable=False),
    Column("per_minute", Integer, nullable=False, default=600),
    Column("created", DateTime, nullable=False),
    Column("revoked", DateTime, nullable=True),
)

Table(
    "interactions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("customer_id", String(64), nullable=False, index=True),
    Column("product_id", String(32), nullable=False),
    Column("type", String(16), nullable=False),
    Column("value", Float, nullable=True),
    Column("weight", Float, nullable=False),
    Column("ts", DateTime, nullable=False),
)

Table(
    "import_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source", Text, nullable=False),
    Column("started", DateTime, nullable=False),
    Column("rows_read", Integer, nullable=False),
    Column("rows_loaded", Integer, nullable=False),
    Column("rejected", Text, nullable=False),
)

Table(
    "rule_drafts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(80), nullable=False, unique=True),
    Column("position", Integer, nullable=False),
    Column("body", Text, nullable=False),
    Column("updated", DateTime, nullable=False),
    Column("updated_by", String(64), nullable=False),
)

Table(
    "rule_versions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("label", String(32), nullable=False, unique=True),
    Column("body", Text, nullable=False),
    Column("created", DateTime, nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("note", Text, nullable=True),
    Column("restored_from", Integer, nullable=True),
)

Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ts", DateTime, nullable=False, index=True),
    Column("actor", String(64), nullable=False),
    Column("action", String(24), nullable=False),
    Column("target", String(120), nullable=False),
    Column("diff", Text, nullable=False),
)

Table(
    "admin_users",
    metadata,
    Column("username", String(64), primary_key=True),
    Column("password_hash", String(255), nullable=False),
    Column("role", String(16), nullable=False),
    Column("created", DateTime, nullable=False),
    Column("last_login", DateTime, nullable=True),
)

Table(
    "admin_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("username", String(64), nullable=False, index=True),
    Column("created", DateTime, nullable=False),
    Column("expires", DateTime, nullable=False, index=True),
)
