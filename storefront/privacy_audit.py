"""`storefront privacy audit`: look everywhere the shop keeps people for one visitor or customer
id, and say what is there.

Where it looks: every SQL column that names a person (privacy.PERSON_COLUMNS), every key of the
session store and the cache that has one of the ids among its parts (privacy.person_keys, by
SCAN), the orders they placed (orders.placed_by), the live event stream, and the served model
(models/CURRENT): its user id map (`model_traces`). A deleted person's id stays in the served model
until the next training, which leaves them out (the deletion ledger); the audit says so, apart
from what a deletion should have removed. Older versions kept for a rollback are listed as a
note: a rollback would bring them back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import redis
from sqlalchemy.engine import Engine

from recommender import registry
from recommender.event_log import VISITOR_PREFIX
from storefront import deletions, orders, privacy

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
    older_versions: list[str] = field(default_factory=list)
    deleted: tuple[str, datetime] | None = None  # (kind, when) from the ledger

    @property
    def stored(self) -> bool:
        """Anything in the database or Redis."""
        return bool(self.rows or any(self.keys.values()) or self.stream_entries)

    @property
    def exit_code(self) -> int:
        if self.stored:
            return FOUND
        return ONLY_MODEL if self.model_files else NOTHING

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
            out.append(f"  FOUND the served model {self.model_version} holds the id ({files}).")
            if self.deleted:
                out.append(
                    "    It was trained before the deletion; the next training "
                    "(`storefront train`) leaves this person out (the deletion ledger)."
                )
            else:
                out.append("    It is not in the deletion ledger: the next model will hold it too.")
        elif self.model_version:
            out.append(f"  served model {self.model_version}: nothing found")
        else:
            out.append("  served model: none")
        if self.older_versions:
            out.append(
                "  note: older model versions kept for a rollback hold it: "
                + ", ".join(self.older_versions)
                + " (a rollback would serve them again)"
            )
        verdict = {
            NOTHING: "Nothing found.",
            FOUND: "Found data of this person.",
            ONLY_MODEL: "Nothing in the database or Redis; the served model still holds the id "
            "until the next training.",
        }
        out.append(verdict[self.exit_code])
        return out


def _holds(path: Path, wanted: np.ndarray) -> int:
    """How many of the wanted ids a model file's text array holds."""
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError:  # an object array: never written by the library
        return 0
    if array.dtype.kind not in "US":
        return 0
    return int(np.isin(wanted, np.asarray(array).astype(str).ravel()).sum())


def model_traces(models_dir: Path, version: str, ids: list[str]) -> dict[str, int]:
    """{file: ids found} in one model version's folder: its arrays of user ids (user_ids.npy:
    customer ids, and "visitor:<id>" for visitors who never signed in; any other text array
    named for users). Product-keyed files are not read: a product id may look like a customer
    number."""
    wanted = np.asarray([*ids, *(VISITOR_PREFIX + i for i in ids)], dtype=str)
    found = {}
    for path in sorted((models_dir / version).glob("*user*.npy")):
        n = _holds(path, wanted)
        if n:
            found[path.name] = n
    return found


def audit(
    engine: Engine,
    r: redis.Redis,
    identifier: str,
    models_dir: Path,
    cache: redis.Redis | None = None,
) -> Audit:
    """Scan the database, Redis (session store and cache) and the served model for the person
    behind this identifier (privacy.resolve: a customer and their visitor ids, or a visitor)."""
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
    found.older_versions = [
        v
        for v in registry.versions(models_dir)
        if v != found.model_version and model_traces(models_dir, v, ids)
    ]
    return found
