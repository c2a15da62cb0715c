"""Keeps each worker on the published model and catalog, swapping in new versions without restart.

A stat of models/CURRENT and one indexed row (the database's published version,
storefront/model_store.py) every few seconds is the whole cost; the swap is one reference
assignment, so a request in flight finishes on the version it started with. When the database
has a newer publish than this node's CURRENT, the node pulls that version into its own models
folder (verified, renamed into place) and points CURRENT at it: a publish on one node reaches all.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from pathlib import Path

from flask import Flask, current_app, g
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from recommender import registry
from recommender.serving import Model
from storefront import model_forget, model_store
from storefront.catalog_store import load_catalog
from storefront.core.snapshot import Snapshot
from storefront.versioned import Current, Versioned

log = logging.getLogger(__name__)


class ModelHolder:
    """The published model and catalog as a Versioned[Snapshot]: the version is (models/CURRENT,
    the catalog stamp, the stamp of the last rewrite of a kept version), so a catalog import
    reloads the catalog and keeps the model, and a publish, or a deletion that took someone out
    of the served version (model_forget.py), loads the model again with a fresh catalog."""

    def __init__(self, engine: Engine, models_dir: Path, check_seconds: float):
        self._engine = engine
        self._dir = models_dir
        self._followed: tuple | None = None  # the database publish this node has caught up with
        self._failed: tuple[tuple, float] | None = None  # a pull that failed, and when
        self._retry_seconds = max(60.0, 10 * check_seconds)
        self.versioned: Versioned[Snapshot] = Versioned(
            "model", self._probe, self._swap, check_seconds, pinned_max=3
        )

    def _probe(self) -> tuple[str | None, int | None, int | None]:
        self._follow_database()
        return registry.current(self._dir), catalog_stamp(self._dir), model_forget.stamp(self._dir)

    def _follow_database(self) -> None:
        """Pull and publish locally the database's current version when it was published after
        this node's CURRENT was written (a local publish that never reached the database, as
        a test's, stays). A failed pull keeps what is served and is retried after a while."""
        try:
            row = model_store.published(self._engine)
        except SQLAlchemyError as exc:  # the database away: serve what this disk has
            log.warning("model: cannot read the published version from the database: %s", exc)
            return
        if row is None or row == self._followed:
            return
        if self._failed and self._failed[0] == row:
            if time.monotonic() - self._failed[1] < self._retry_seconds:
                return
        version, when = row
        try:
            if registry.current(self._dir) != version:
                if not self._local_is_newer(when):
                    model_store.fetch(self._engine, self._dir, version)
                    registry.publish(self._dir, version)
            else:
                self._refresh(version)
        except (model_store.ArtifactError, SQLAlchemyError, OSError) as exc:
            log.error("model %s from the database refused, keeping the one held: %s", version, exc)
            self._failed = (row, time.monotonic())
            return
        self._followed = row

    def _refresh(self, version: str) -> None:
        """The database's copy of the version this node serves, when it differs from the disk's
        (rewritten without deleted people on another node, and published again): pulled,
        verified and swapped in, and this node's workers told to reload (model_forget)."""
        files = model_store.manifest(self._engine, version)
        if files is not None and model_store.stale(self._dir / version, files):
            model_store.fetch(self._engine, self._dir, version)
            model_forget.touch(self._dir)

    def _local_is_newer(self, published: datetime) -> bool:
        try:
            mtime = (self._dir / registry.CURRENT).stat().st_mtime
        except OSError:
            return False
        return datetime.fromtimestamp(mtime, UTC).replace(tzinfo=None) > published

    def _swap(self, version: tuple, previous: Current[Snapshot] | None) -> Snapshot:
        # the same model version, not rewritten since (model_forget's stamp): keep the model
        if previous is not None and previous.version[::2] == version[::2]:
            old = previous.value  # a catalog import: same model, new catalog
            if old.model is None:
                return Snapshot(load_catalog(self._engine), None, old.model_error)
            return Snapshot.of(load_catalog(self._engine), old.model)
        return self._load(version[0])

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
        return Snapshot.of(catalog, model)

    def get(self) -> Snapshot:
        """The newest published model and catalog (outside a request; a request reads
        snapshot(), fixed for its whole length)."""
        return self.versioned.get()

    def pinned(self, version: str) -> Snapshot:
        """A snapshot on a given (not necessarily current) model version, for QA snapshots."""

        def load(key):
            v = key[0]
            if v not in registry.versions(self._dir):
                self._pull(v)
            return self._load(v)

        # keyed by the rewrite stamp too: a version rewritten after a deletion is loaded anew
        return self.versioned.pinned((version, model_forget.stamp(self._dir)), load)

    def _pull(self, version: str) -> None:
        """A version this node does not have, from the database (a QA pin of an older model
        published on another node); LookupError if the database does not have it either."""
        try:
            if model_store.manifest(self._engine, version) is not None:
                model_store.fetch(self._engine, self._dir, version)
                return
        except (model_store.ArtifactError, SQLAlchemyError, OSError) as exc:
            log.error("model %s could not be pulled from the database: %s", version, exc)
        raise LookupError(f"model: no version {version!r}")

    def reload(self) -> Snapshot:
        """Reload now (after an import in the same process, or in tests)."""
        return self.versioned.reload(force=True)


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
    """The catalog and model for this request, read once per request (holders.py); a QA
    snapshot may pin an older model."""
    from storefront.holders import request_versions

    pin = g._get_current_object().__dict__.get("pin")  # g's dict: one proxy lookup
    if pin is not None and pin.model:
        holder: ModelHolder = current_app.extensions["models"]
        return holder.pinned(pin.model)
    return request_versions().snapshot
