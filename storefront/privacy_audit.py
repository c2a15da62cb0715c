"""`storefront privacy audit`: look everywhere the shop keeps people for one visitor or customer
id, and say what is there.

Where it looks: every SQL column that names a person (privacy.PERSON_COLUMNS), every key of the
session store and the cache that has one of the ids among its parts (privacy.person_keys, by
SCAN), the orders they placed (orders.placed_by), the live event stream, and every kept model
version: the served one (models/CURRENT), the others on this node's disk kept for a rollback,
and every version stored in the database for the other nodes (`model_artifacts`): their user id
maps and their segments' example customers (recommender.forget.traces). A deletion rewrites
every kept version without the person (storefront/model_forget.py), so after one the audit finds
nothing anywhere; a version that still names them is reported with its place.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import redis
from sqlalchemy.engine import Engine

from recommender import forget, registry
from storefront import deletions, model_store, orders, privacy

# exit codes of `storefront privacy audit`
NOTHING, FOUND, ONLY_MODEL = 0, 1, 2


@dataclass
class Audit:
    """What the audit found for one identifier."""

    identifier: str
    visitors: list[str]
    customers: list[str]
    rows: dict[str, int] = field(default_factory=dict)  # "table.column" -> rows
    keys: dict[str, list[str]] = field(default_factory=dict)  # server -> keys
    stream_entries: int = 0
    model_version: str | None = None
    model_files: dict[str, int] = field(default_factory=dict)  # file -> matching ids
    # version -> {file: matching ids}: other versions on this disk, and those in the database
    older_versions: dict[str, dict[str, int]] = field(default_factory=dict)
    database_versions: dict[str, dict[str, int]] = field(default_factory=dict)
    deleted: tuple[str, datetime] | None = None  # (kind, when) from the ledger

    @property
    def stored(self) -> bool:
        """Anything in the database or Redis."""
        return bool(self.rows or any(self.keys.values()) or self.stream_entries)

    @property
    def in_models(self) -> bool:
        """Any kept model version, anywhere, that names them."""
        return bool(self.model_files or self.older_versions or self.database_versions)

    @property
    def exit_code(self) -> int:
        if self.stored:
            return FOUND
        return ONLY_MODEL if self.in_models else NOTHING

    def as_dict(self) -> dict:
        return {
            "identifier": self.identifier,
            "visitor_ids": self.visitors,
            "customer_ids": self.customers,
            "database": self.rows,
            "redis": self.keys,
            "stream_entries": self.stream_entries,
            "model": {
                "version": self.model_version,
                "files": self.model_files,
                "older_versions_holding_it": self.older_versions,
                "database_versions_holding_it": self.database_versions,
            },
            "deleted": (
                {"kind": self.deleted[0], "when": self.deleted[1].isoformat()}
                if self.deleted
                else None
            ),
            "found": self.exit_code != NOTHING,
        }

    def lines(self) -> list[str]:
        """The report in words, one finding a line."""
        out = [f"Audit of {self.identifier}"]
        if self.deleted:
            kind, when = self.deleted
            out.append(f"  deletion ledger: deleted as a {kind} on {when:%Y-%m-%d %H:%M} UTC")
        else:
            out.append("  deletion ledger: not deleted")
        ids = [*self.visitors, *self.customers]
        out.append(f"  looked for: {', '.join(ids)}")
        for place, n in sorted(self.rows.items()):
            out.append(f"  FOUND database {place}: {n} row{'s' * (n != 1)}")
        for server, keys in sorted(self.keys.items()):
            for k in keys:
                out.append(f"  FOUND redis ({server}) {k}")
        if self.stream_entries:
            out.append(f"  FOUND redis event stream: {self.stream_entries} entries")
        if not self.stored:
            out.append("  database and Redis: nothing found")
        if self.model_files:
            files = ", ".join(sorted(self.model_files))
            out.append(f"  FOUND the served model {self.model_version} holds the id ({files})")
        elif self.model_version:
            out.append(f"  served model {self.model_version}: nothing found")
        else:
            out.append("  served model: none")
        for place, found in (("disk", self.older_versions), ("database", self.database_versions)):
            for version, files in sorted(found.items()):
                names = ", ".join(sorted(files))
                out.append(f"  FOUND model {version} in the {place} ({names})")
        if not (self.older_versions or self.database_versions):
            out.append("  every other kept model version (disk and database): nothing found")
        if self.in_models:
            if self.deleted:
                out.append(
                    "    Deleted, yet a model version still names them: run "
                    "`storefront privacy delete` again to rewrite the versions; a version that "
                    "cannot be rewritten is refused for a rollback."
                )
            else:
                out.append("    It is not in the deletion ledger: the next model will hold it too.")
        verdict = {
            NOTHING: "Nothing found.",
            FOUND: "Found data of this person.",
            ONLY_MODEL: "Nothing in the database or Redis; a kept model version holds the id.",
        }
        out.append(verdict[self.exit_code])
        return out


def model_traces(models_dir: Path, version: str, ids: list[str]) -> dict[str, int]:
    """{file: ids found} in one model version's folder on disk (recommender.forget.traces)."""
    return forget.traces(Path(models_dir) / version, ids)


def stored_traces(engine: Engine, version: str, ids: list[str]) -> dict[str, int]:
    """{file: ids found} in a version stored in the database: its id map and segments read
    from their chunks (nothing else of the version is downloaded)."""
    with tempfile.TemporaryDirectory() as tmp:
        for name in (forget.USER_IDS, forget.SEGMENTS):
            data = model_store.read_file(engine, version, name)
            if data is not None:
                (Path(tmp) / name).write_bytes(data)
        return forget.traces(Path(tmp), ids)


def audit(
    engine: Engine,
    r: redis.Redis,
    identifier: str,
    models_dir: Path,
    cache: redis.Redis | None = None,
) -> Audit:
    """Scan the database, Redis (session store and cache) and every kept model version (this
    disk's and the database's) for the person behind this identifier (privacy.resolve: a
    customer and their visitor ids, or a visitor)."""
    cache = r if cache is None else cache
    visitors, customers = privacy.resolve(engine, r, identifier)
    found = Audit(identifier, visitors, customers, deleted=deletions.deleted_at(engine, identifier))
    with engine.connect() as conn:
        found.rows = privacy.person_rows(conn, visitors, customers)
    servers = {"session store": r} if cache is r else {"session store": r, "cache": cache}
    for name, client in servers.items():
        keys = privacy.person_keys(client, visitors, customers)
        if client is r:  # orders name their visitor inside, not in the key
            keys = sorted({*keys, *orders.placed_by(r, visitors)})
        if keys:
            found.keys[name] = keys
    found.stream_entries = len(privacy.stream_entries_of(r, visitors))
    found.model_version = registry.current(models_dir)
    ids = [*visitors, *customers]
    if found.model_version:
        found.model_files = model_traces(models_dir, found.model_version, ids)
    for version in registry.versions(models_dir):
        if version != found.model_version and (held := model_traces(models_dir, version, ids)):
            found.older_versions[version] = held
    for version in model_store.stored_versions(engine):
        if held := stored_traces(engine, version, ids):
            found.database_versions[version] = held
    return found
