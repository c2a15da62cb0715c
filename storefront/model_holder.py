"""Keeps each worker on the published model and catalog, swapping in new versions without restart.

A stat of models/CURRENT every few seconds is the whole cost; the swap is one reference
assignment, so a request in flight finishes on the version it started with.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from flask import Flask, current_app, g
from sqlalchemy.engine import Engine

from recommender import registry
from recommender.serving import Model
from storefront.catalog import Catalog, load_catalog

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Snapshot:
    """What one request works with: a catalog and a model (None: serve popularity)."""

    catalog: Catalog
    model: Model | None
    model_error: str | None = None

    @property
    def model_version(self) -> str:
        return self.model.version if self.model else "none"


class ModelHolder:
    def __init__(self, engine: Engine, models_dir: Path, check_seconds: float):
        self._engine = engine
        self._dir = models_dir
        self._check = check_seconds
        self._lock = threading.Lock()
        self._next_check = 0.0
        self._version: str | None = None
        self._snapshot: Snapshot | None = None
        self._pinned: dict[str, Snapshot] = {}
        self._catalog_stamp: int | None = None

    def _load(self, version: str | None) -> Snapshot:
        catalog = load_catalog(self._engine)
        if version is None:
            return Snapshot(catalog, None, "no published model")
        try:
            model = Model(self._dir / version)
        except Exception as exc:  # a corrupt model must not take the shop down
            log.error("model %s could not be loaded, serving popularity: %s", version, exc)
            return Snapshot(catalog, None, f"model {version} unreadable: {exc}")
        log.info("model %s loaded (%d items)", version, len(model.item_ids))
        return Snapshot(catalog, model)

    def get(self) -> Snapshot:
        now = time.monotonic()
        if self._snapshot is not None and now < self._next_check:
            return self._snapshot
        with self._lock:
            if self._snapshot is None or now >= self._next_check:
                version = registry.current(self._dir)
                stamp = catalog_stamp(self._dir)
                if self._snapshot is None or version != self._version:
                    self._snapshot = self._load(version)
                    self._version = version
                elif stamp != self._catalog_stamp:  # a catalog import: same model, new catalog
                    old = self._snapshot
                    self._snapshot = Snapshot(
                        load_catalog(self._engine), old.model, old.model_error
                    )
                self._catalog_stamp = stamp
                self._next_check = now + self._check
        return self._snapshot

    def pinned(self, version: str) -> Snapshot:
        """A snapshot on a given (not necessarily current) model version, for QA snapshots."""
        with self._lock:
            cached = self._pinned.get(version)
            if cached is None:
                if version not in registry.versions(self._dir):
                    raise LookupError(f"model: no version {version!r}")
                cached = self._load(version)
                if len(self._pinned) >= 3:
                    self._pinned.pop(next(iter(self._pinned)))
                self._pinned[version] = cached
            return cached

    def reload(self) -> Snapshot:
        """Reload now (after an import in the same process, or in tests)."""
        with self._lock:
            self._version = registry.current(self._dir)
            self._snapshot = self._load(self._version)
            self._next_check = time.monotonic() + self._check
            return self._snapshot


CATALOG_STAMP = "CATALOG"  # touched in the models folder by every catalog import


def catalog_stamp(models_dir: Path) -> int | None:
    """When the catalog was last imported (the stamp file's mtime), None if never: a stat, so
    workers notice a catalog import within one check interval without asking the database."""
    try:
        return (Path(models_dir) / CATALOG_STAMP).stat().st_mtime_ns
    except OSError:
        return None


def mark_catalog_changed(models_dir: Path) -> None:
    """Tell running workers that the catalog changed (storefront import products calls it)."""
    path = Path(models_dir) / CATALOG_STAMP
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(str(time.time_ns()))


def init_app(app: Flask) -> None:
    settings = app.config["SETTINGS"]
    app.extensions["models"] = ModelHolder(
        app.extensions["db"], settings.models_dir, settings.model_check_seconds
    )


def snapshot() -> Snapshot:
    """The catalog and model for this request (a QA snapshot may pin an older model)."""
    holder: ModelHolder = current_app.extensions["models"]
    pin = g.get("pin")
    if pin is not None and pin.model:
        return holder.pinned(pin.model)
    return holder.get()
