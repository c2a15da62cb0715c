"""What one request works with: the catalog and the model, read once per request.

The web layer's holder (storefront/model_holder.py) keeps the published pair and swaps it; the
core only ever sees the frozen Snapshot it is handed.
"""

from __future__ import annotations

from dataclasses import dataclass

from recommender.serving import Model
from storefront.catalog import Catalog


@dataclass(frozen=True)
class Snapshot:
    """A catalog and a model (None: serve popularity)."""

    catalog: Catalog
    model: Model | None
    model_error: str | None = None

    @property
    def model_version(self) -> str:
        return self.model.version if self.model else "none"
