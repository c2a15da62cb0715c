"""Deleted people out of every kept model version: the served one, those kept for a rollback,
on this node's disk and in the database (`model_artifacts`, what other nodes pull).

A deletion (storefront/privacy.py) calls `forget_people` with the ids it erased: each version
that names one of them in its user id map or among its segments' examples is rewritten without
them (recommender/forget.py: id map, factor rows, matrix rows, repeat shares, segment numbers,
examples), beside the old folder, then renamed into its place; the database copy is replaced by
the same files with a new manifest, and the current version is published again so the other
nodes re-check their copy and pull the clean one. Workers of this node reload when the
FORGOTTEN stamp in the models folder changes (model_holder.py).

Before a version is served again (`storefront models publish` / `rollback`), `make_servable`
takes out everyone in the deletion ledger (ids known only by their hash: each user id of the
version is hashed), which covers versions another node kept from before a deletion; a version
that cannot be cleaned is refused.
"""

from __future__ import annotations

import fcntl
import io
import json
import logging
import os
import secrets
import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sqlalchemy.engine import Engine

from recommender import forget, registry
from storefront import deletions, model_store

log = logging.getLogger(__name__)

STAMP = "FORGOTTEN"  # touched in the models folder whenever a kept version was rewritten
LOCK = ".forget.lock"  # held while this node's versions are rewritten
TRIES = 3  # rewrites of a stored version that another node rewrote meanwhile

# which users of an array are gone: a bool mask of the same length
Gone = Callable[[np.ndarray], np.ndarray]


class NotServable(RuntimeError):
    """A version that holds deleted people and could not be cleaned of them."""


@dataclass
class Forgotten:
    """Which kept versions were rewritten, and which could not be."""

    disk: list[str] = field(default_factory=list)
    database: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)  # version -> why

    def as_dict(self) -> dict:
        return {"disk": self.disk, "database": self.database, "refused": self.refused}


def of_ids(ids: Iterable[str]) -> Gone:
    """The users named by these visitor or customer ids."""
    wanted = forget.ids_as_users(ids)
    return lambda users: np.isin(np.asarray(users, dtype=str), wanted)


def of_ledger(ledger: set[str]) -> Gone:
    """The users whose id (a customer id, or a visitor's behind "visitor:") is in the ledger."""

    def gone(users: np.ndarray) -> np.ndarray:
        cut = len(forget.VISITOR_PREFIX)
        return np.fromiter(
            (
                deletions.digest(u[cut:] if u.startswith(forget.VISITOR_PREFIX) else u) in ledger
                for u in (str(x) for x in users)
            ),
            dtype=bool,
            count=len(users),
        )

    return gone


def _found(users: np.ndarray, examples: list[str], gone: Gone) -> tuple[np.ndarray, list[str]]:
    rows = np.flatnonzero(gone(users)) if len(users) else np.zeros(0, dtype=np.int64)
    named = np.asarray(examples, dtype=str)
    return rows, (named[gone(named)].tolist() if len(named) else [])


def _scratch(models_dir: Path, version: str, what: str) -> Path:
    """A folder beside the versions (models/.incoming/, cleared of dead processes' leftovers
    by model_store) for a rewrite in progress."""
    name = f"{version}.{os.getpid()}.{secrets.token_hex(4)}.{what}"
    return models_dir / model_store.INCOMING / name


def clean(folder: Path, gone: Gone) -> int:
    """Rewrite one version folder without the users `gone` picks; returns how many user rows
    went (at least 1 when only a segment example went; 0: the folder is left untouched).
    Raises forget.CannotForget."""
    rows, examples = _found(forget.user_ids(folder), forget.segment_examples(folder), gone)
    if not len(rows) and not examples:
        return 0
    forget.check_known(folder)
    tmp = _scratch(folder.parent, folder.name, "forget")
    tmp.parent.mkdir(parents=True, exist_ok=True)
    try:
        forget.forget(folder, tmp, rows, examples)
        forget.swap_in(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return max(len(rows), 1)


def _stored_holds(engine: Engine, version: str, gone: Gone) -> bool:
    raw = model_store.read_file(engine, version, forget.USER_IDS)
    users = np.load(io.BytesIO(raw), allow_pickle=False) if raw else np.zeros(0, dtype=str)
    raw = model_store.read_file(engine, version, forget.SEGMENTS)
    segs = json.loads(raw) if raw else []
    examples = [str(e) for s in segs for e in s.get("examples", [])]
    rows, named = _found(users, examples, gone)
    return bool(len(rows) or named)


def touch(models_dir: Path) -> None:
    """Tell this node's workers that a version they may hold was rewritten."""
    path = Path(models_dir) / STAMP
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(str(time.time_ns()))


def stamp(models_dir: Path) -> int | None:
    """When a kept version was last rewritten here (the stamp's mtime), None if never."""
    try:
        return (Path(models_dir) / STAMP).stat().st_mtime_ns
    except OSError:
        return None


@contextmanager
def _locked(models_dir: Path) -> Iterator[None]:
    """One rewrite of this node's versions at a time (workers and commands alike): two
    deletions rewriting one folder at once could each keep the other's person."""
    models_dir.mkdir(parents=True, exist_ok=True)
    with (models_dir / LOCK).open("a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def forget_users(engine: Engine | None, models_dir: Path, gone: Gone) -> Forgotten:
    """Rewrite every kept version, on disk and in the database, without the users `gone`
    picks. A stored version whose disk copy was the same files is stored from the cleaned disk
    copy (or left alone when that held nobody); any other stored version is read, and pulled,
    cleaned and stored back when it holds someone."""
    models_dir = Path(models_dir)
    done = Forgotten()
    with _locked(models_dir):
        stored = model_store.stored_versions(engine) if engine is not None else {}
        local = set(registry.versions(models_dir))
        # disk copies that are the stored files (their meta.json, rewritten with every change,
        # is the stored one): what the disk copy holds, the stored one holds
        same = {v for v in local & set(stored) if not model_store.stale(models_dir / v, stored[v])}
        for version in sorted(local):
            try:
                if clean(models_dir / version, gone):
                    done.disk.append(version)
            except forget.CannotForget as exc:
                done.refused[version] = str(exc)
        if done.disk:
            touch(models_dir)
        for version, files in stored.items():
            if version in done.refused or (version in same and version not in done.disk):
                continue
            try:
                if _clean_stored(engine, models_dir, version, files, gone, version in same):
                    done.database.append(version)
            except forget.CannotForget as exc:
                done.refused[version] = str(exc)
    current = model_store.published(engine) if engine is not None else None
    if current and current[0] in done.database:
        model_store.bump(engine, current[0])
    for version, why in done.refused.items():
        log.error("model %s still holds deleted people: %s", version, why)
    return done


def _clean_stored(
    engine: Engine, models_dir: Path, version: str, files: dict, gone: Gone, same: bool
) -> bool:
    """The database's copy of a version without the users `gone` picks: stored from the
    cleaned disk copy when that was the same files, else pulled, cleaned and stored back;
    read again and retried when another node rewrote it meanwhile. False: nothing to do."""
    for _ in range(TRIES):
        try:
            if same:
                model_store.replace(engine, models_dir / version, version, files)
                return True
            if not _stored_holds(engine, version, gone):
                return False
            root = _scratch(models_dir, version, "stored")
            try:
                folder = model_store.fetch(engine, root, version)
                clean(folder, gone)
                model_store.replace(engine, folder, version, files)
            finally:
                shutil.rmtree(root, ignore_errors=True)
            return True
        except model_store.Conflict:
            files, same = model_store.manifest(engine, version) or {}, False
    raise forget.CannotForget(f"{version}: rewritten elsewhere {TRIES} times meanwhile")


def forget_people(engine: Engine | None, models_dir: Path | None, ids: Iterable[str]) -> Forgotten:
    """Every kept version without these visitor and customer ids (a deletion's)."""
    ids = [i for i in ids if i]
    if models_dir is None or not ids:
        return Forgotten()
    return forget_users(engine, models_dir, of_ids(ids))


def make_servable(engine: Engine, models_dir: Path, version: str) -> int:
    """Before a kept version is served again: this node's copy refreshed from the database
    when the database holds a different (cleaned) one, then everyone in the deletion ledger
    taken out of it. Returns how many users went; raises NotServable when the version holds
    deleted people it cannot be cleaned of."""
    models_dir = Path(models_dir)
    files = model_store.manifest(engine, version)
    folder = models_dir / version
    if files is not None and (not folder.is_dir() or model_store.stale(folder, files)):
        model_store.fetch(engine, models_dir, version)
    ledger = deletions.hashes(engine)
    if not ledger or not (folder / forget.USER_IDS).is_file():
        return 0  # nobody deleted, or no such version here (registry.publish says so)
    gone = of_ledger(ledger)
    try:
        with _locked(models_dir):
            n = clean(folder, gone)
            if n:
                touch(models_dir)
            if files is not None:
                _clean_stored(engine, models_dir, version, files, gone, bool(n))
    except forget.CannotForget as exc:
        raise NotServable(
            f"model {version} was trained before a deletion and still holds deleted people "
            f"({exc}); it cannot be served again: train a new model (`storefront train`)"
        ) from None
    return n
