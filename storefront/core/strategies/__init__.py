"""Candidate strategies by family (personal, popular, listings, owned), in one registry.

Importing this package fills the registry; `get(name)` answers a slot's strategy."""

from storefront.core.strategies import listings, owned, personal, popular  # noqa: F401
from storefront.core.strategies.base import (
    REGISTRY,
    Exploration,
    Pick,
    Request,
    Strategy,
    get,
    register,
)

__all__ = ["REGISTRY", "Exploration", "Pick", "Request", "Strategy", "get", "register"]
