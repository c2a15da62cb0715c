"""Versioned model artifacts on disk: models/<version>/, and a CURRENT pointer swapped atomically.

Workers watch CURRENT (one stat call) and load a new version when it changes; arrays are loaded
memory-mapped with allow_pickle=False so every gunicorn worker shares one copy in the page cache.
"""

from __future__ import annotations

import json
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

CURRENT = "CURRENT"
META = "meta.json"


def new_version() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")


def versions(root: Path) -> list[str]:
    """Complete versions (those with meta.json), oldest first."""
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and (p / META).is_file())


def current(root: Path) -> str | None:
    try:
        name = (root / CURRENT).read_text().strip()
    except FileNotFoundError:
        return None
    return name if name and (root / name / META).is_file() else None


def publish(root: Path, version: str) -> None:
    """Point CURRENT at a version atomically (write a temp file, then rename over)."""
    if not (root / version / META).is_file():
        raise ValueError(f"no complete model version {version!r} under {root}")
    tmp = root / f".{CURRENT}.{os.getpid()}"
    tmp.write_text(version + "\n")
    os.replace(tmp, root / CURRENT)


def previous(root: Path) -> str:
    """The version before the current one (ValueError if none)."""
    names = versions(root)
    now = current(root)
    if now not in names or names.index(now) == 0:
        raise ValueError("there is no earlier version to roll back to")
    return names[names.index(now) - 1]


def rollback(root: Path) -> str:
    """Publish the version before the current one."""
    version = previous(root)
    publish(root, version)
    return version


def read_meta(root: Path, version: str) -> dict:
    return json.loads((root / version / META).read_text())


def prune(root: Path, keep: int = 5) -> list[str]:
    """Delete old versions beyond `keep`, never the current one."""
    names = versions(root)
    now = current(root)
    doomed = [v for v in names[:-keep] if v != now]
    for name in doomed:
        shutil.rmtree(root / name, ignore_errors=True)
    return doomed


PARAMS = "params.json"


def read_params(root: Path) -> dict | None:
    """The parameters `storefront tune --publish` chose, used by every later training."""
    try:
        return json.loads((root / PARAMS).read_text())
    except FileNotFoundError:
        return None


def write_params(root: Path, params: dict) -> None:
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f".{PARAMS}.{os.getpid()}"
    tmp.write_text(json.dumps(params, indent=2))
    os.replace(tmp, root / PARAMS)
