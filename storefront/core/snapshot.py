"""What one request works with: the catalog and the model, read once per request.

The web layer's holder (storefront/model_holder.py) keeps the published pair and swaps it; the
core only ever sees the frozen Snapshot it is handed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from recommender.serving import Model
from storefront.catalog import Catalog

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Snapshot:
    """A catalog and a model (None: serve popularity)."""

    catalog: Catalog
    model: Model | None
    model_error: str | None = None

    @classmethod
    def of(cls, catalog: Catalog, model: Model | None) -> Snapshot:
        """The pair as a worker serves it: where the model serves LightFM for never-bought
        products, it also describes the catalog's products it has no row for (imported after
        the training, or listed but never in an order) from their features, once per load."""
        return cls(catalog, _for_catalog(catalog, model))

    @property
    def model_version(self) -> str:
        return self.model.version if self.model else "none"


def _for_catalog(catalog: Catalog, model: Model | None) -> Model | None:
    if model is None or not model.describes_products:
        return model
    unknown = model.unknown(catalog.ids)
    if not len(unknown):
        return model
    products = [catalog.products[str(pid)] for pid in unknown]
    try:
        return model.with_products(
            [p.id for p in products],
            [p.title for p in products],
            [p.category for p in products],
            [p.details.brand for p in products],
            [p.price for p in products],
        )
    except Exception as exc:  # the version serves on as it is: a catalog never takes it down
        log.error(
            "model %s: the catalog's new products could not be placed: %s", model.version, exc
        )
        return model
