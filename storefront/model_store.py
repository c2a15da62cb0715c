"""Model artifacts in the database, so a publish on one node reaches every node.

Publishing copies a version's files (models/<version>/, written by recommender.train) into
`model_artifacts` in chunks of a few MiB, with a manifest of each file's sha256 in
`model_versions`, and marks it published; the newest `published` row is the current version.
A node that sees a newer published version than the one it holds pulls it (`fetch`) into a
temporary folder under models/.incoming/, checks every file against the manifest, and only then
renames it to models/<version>/ in one step, so nothing ever reads a half-copied artifact. A
node whose disk already has the version with matching checksums downloads nothing. A deletion
rewrites stored versions without the person (`replace`, storefront/model_forget.py) and
publishes the current one again (`bump`); a node whose copy is then `stale` pulls it again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import delete, select, update
from sqlalchemy.engine import Engine

from storefront import db

log = logging.getLogger(__name__)

CHUNK_BYTES = 4 * 1024 * 1024  # bytea and BLOB both take this comfortably
INCOMING = ".incoming"  # models/.incoming/<version>.<pid>.<random>/: downloads in progress


class ArtifactError(RuntimeError):
    """A stored artifact that is missing, incomplete or fails its checksum."""


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(CHUNK_BYTES), b""):
            digest.update(block)
    return digest.hexdigest()


def _chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as f:
        yield from iter(lambda: f.read(CHUNK_BYTES), b"")


def manifest(engine: Engine, version: str) -> dict | None:
    """{file: {"sha256", "size", "chunks"}} of a stored version, None if not stored."""
    with engine.connect() as conn:
        text = conn.execute(
            select(db.model_versions.c.manifest).where(db.model_versions.c.version == version)
        ).scalar_one_or_none()
    return json.loads(text) if text is not None else None


def _store_files(conn, folder: Path, version: str) -> dict[str, dict]:
    """Insert a folder's files as the version's chunks; returns their manifest."""
    files: dict[str, dict] = {}
    for name in _files(folder):
        path = folder / name
        digest, count = hashlib.sha256(), 0
        for count, data in enumerate(_chunks(path), start=1):
            digest.update(data)
            conn.execute(
                db.model_artifacts.insert(),
                {"version": version, "name": name, "chunk_no": count - 1, "data": data},
            )
        size = path.stat().st_size
        files[name] = {"sha256": digest.hexdigest(), "size": size, "chunks": count}
    return files


def upload(engine: Engine, models_dir: Path, version: str) -> bool:
    """Store models/<version>/ in the database (one transaction: the manifest row lands with
    its last chunk). False when it was stored already."""
    if manifest(engine, version) is not None:
        return False
    folder = Path(models_dir) / version
    if not folder.is_dir():
        raise ArtifactError(f"no model version {version!r} under {models_dir}")
    with engine.begin() as conn:
        files = _store_files(conn, folder, version)
        conn.execute(
            db.model_versions.insert(),
            {
                "version": version,
                "manifest": json.dumps(files, sort_keys=True),
                "size": sum(f["size"] for f in files.values()),
                "created": _now(),
                "published": None,
            },
        )
    log.info("model %s stored in the database (%d files)", version, len(files))
    return True


class Conflict(ArtifactError):
    """The stored version changed after it was read (another node rewrote it meanwhile)."""


def replace(engine: Engine, folder: Path, version: str, expected: dict) -> None:
    """Store `folder` as the new content of a stored version whose manifest is `expected` (a
    version with people taken out after a deletion: storefront/model_forget.py), in one
    transaction: chunks and manifest change together, creation and publish times stay. Raises
    Conflict, changing nothing, when the stored manifest is no longer `expected`: the row is
    claimed first, so of two concurrent rewrites the second finds the first's manifest."""
    t = db.model_versions
    with engine.begin() as conn:
        claimed = conn.execute(
            update(t)
            .where(t.c.version == version, t.c.manifest == json.dumps(expected, sort_keys=True))
            .values(manifest=t.c.manifest)
        ).rowcount
        if claimed != 1:
            raise Conflict(f"model {version} changed in the database while it was rewritten")
        conn.execute(delete(db.model_artifacts).where(db.model_artifacts.c.version == version))
        files = _store_files(conn, Path(folder), version)
        conn.execute(
            update(t)
            .where(t.c.version == version)
            .values(
                manifest=json.dumps(files, sort_keys=True),
                size=sum(f["size"] for f in files.values()),
            )
        )
    log.info("model %s rewritten in the database (%d files)", version, len(files))


def stored_versions(engine: Engine) -> dict[str, dict]:
    """{version: manifest} of every version stored in the database."""
    t = db.model_versions
    with engine.connect() as conn:
        rows = conn.execute(select(t.c.version, t.c.manifest).order_by(t.c.version)).all()
    return {v: json.loads(m) for v, m in rows}


def read_file(engine: Engine, version: str, name: str) -> bytes | None:
    """One stored file of a version, whole (small files: an id map, a JSON), None if absent."""
    t = db.model_artifacts
    with engine.connect() as conn:
        chunks = conn.execute(
            select(t.c.data).where(t.c.version == version, t.c.name == name).order_by(t.c.chunk_no)
        ).scalars()
        data = b"".join(bytes(c) for c in chunks)
    return data or None


def bump(engine: Engine, version: str) -> None:
    """Publish the current version again (now), when `version` is it: the nodes that follow
    the database notice the change and re-check their copy of it (model_holder.ModelHolder).
    Any other version is left alone (bumping it would make it current)."""
    now = published(engine)
    if now is None or now[0] != version:
        return
    t = db.model_versions
    with engine.begin() as conn:
        conn.execute(update(t).where(t.c.version == version).values(published=_now()))


def stale(folder: Path, files: dict) -> bool:
    """Whether a folder's copy of a version is not the stored one: its meta.json (rewritten
    whenever a version's content changes) differs from the manifest's; one small file read."""
    want = files.get("meta.json")
    path = Path(folder) / "meta.json"
    if want is None or not path.is_file():
        return True
    return _sha256(path) != want["sha256"]


def publish(engine: Engine, models_dir: Path, version: str) -> None:
    """Store the version if it is not yet stored, and make it the current one for every node."""
    upload(engine, models_dir, version)
    with engine.begin() as conn:
        conn.execute(
            update(db.model_versions)
            .where(db.model_versions.c.version == version)
            .values(published=_now())
        )


def published(engine: Engine) -> tuple[str, datetime] | None:
    """The current version and when it was published (the newest publish), None if none."""
    t = db.model_versions
    with engine.connect() as conn:
        row = conn.execute(
            select(t.c.version, t.c.published)
            .where(t.c.published.is_not(None))
            .order_by(t.c.published.desc(), t.c.version.desc())
            .limit(1)
        ).first()
    return (row[0], row[1]) if row else None


def matches(folder: Path, files: dict) -> bool:
    """Whether a folder holds every file of a manifest with its size and sha256."""
    for name, want in files.items():
        path = folder / name
        if not path.is_file() or path.stat().st_size != want["size"]:
            return False
        if _sha256(path) != want["sha256"]:
            return False
    return True


def fetch(engine: Engine, models_dir: Path, version: str) -> Path:
    """models/<version>/ as stored in the database: kept as is when its checksums match, else
    downloaded to models/.incoming/, verified file by file, and renamed into place. Raises
    ArtifactError (leaving nothing behind) on a missing chunk or a checksum mismatch."""
    models_dir = Path(models_dir)
    target = models_dir / version
    files = manifest(engine, version)
    if files is None:
        raise ArtifactError(f"model {version} is not stored in the database")
    if target.is_dir() and matches(target, files):
        return target
    incoming = models_dir / INCOMING
    _clear_abandoned(incoming)
    tmp = incoming / f"{version}.{os.getpid()}.{secrets.token_hex(4)}"  # one per pull
    tmp.mkdir(parents=True)
    try:
        with engine.connect() as conn:
            for name, want in files.items():
                _download(conn, tmp, version, name, want)
        _replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log.info("model %s pulled from the database (%d files)", version, len(files))
    return target


def _download(conn, tmp: Path, version: str, name: str, want: dict) -> None:
    t = db.model_artifacts
    path = tmp / name
    path.parent.mkdir(parents=True, exist_ok=True)
    digest, expected = hashlib.sha256(), 0
    rows = conn.execution_options(stream_results=True).execute(
        select(t.c.chunk_no, t.c.data)
        .where(t.c.version == version, t.c.name == name)
        .order_by(t.c.chunk_no)
    )
    with path.open("wb") as out:
        for chunk_no, data in rows:
            if chunk_no != expected:
                raise ArtifactError(f"model {version}: {name} misses chunk {expected}")
            digest.update(data)
            out.write(data)
            expected += 1
        out.flush()
        os.fsync(out.fileno())
    if expected != want["chunks"]:
        raise ArtifactError(f"model {version}: {name} has {expected} of {want['chunks']} chunks")
    if digest.hexdigest() != want["sha256"]:
        raise ArtifactError(f"model {version}: {name} fails its sha256 check")


def _replace(tmp: Path, target: Path) -> None:
    """Rename the verified download into place; a copy already there that failed its checks
    is moved aside first (readers that mapped it keep their mapping), one that another worker
    just completed is kept."""
    if target.is_dir():
        aside = tmp.with_name(tmp.name + ".old")
        os.replace(target, aside)
        shutil.rmtree(aside, ignore_errors=True)
    try:
        os.replace(tmp, target)
    except OSError:  # another worker renamed its own verified copy in first
        if not target.is_dir():
            raise
        shutil.rmtree(tmp, ignore_errors=True)


def _clear_abandoned(incoming: Path) -> None:
    """Remove downloads left by processes that died mid-way (their pid is gone)."""
    if not incoming.is_dir():
        return
    for entry in incoming.iterdir():  # <version>.<pid>.<random>[.old]
        parts = entry.name.split(".")
        pid = parts[1] if len(parts) > 1 else ""
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            shutil.rmtree(entry, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
