"""Moved: the candidate strategies live in storefront/core/strategies/ (split by family).
This name keeps `from storefront import strategies` working for the registry's readers."""

from storefront.core.strategies import (  # noqa: F401
    REGISTRY,
    Exploration,
    Pick,
    Request,
    Strategy,
    get,
    register,
)
