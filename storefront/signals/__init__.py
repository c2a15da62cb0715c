"""Context signals read from a request: device class, location and local calendar time.

Pure helpers (no Flask imports): callers pass plain strings and header mappings.
"""

from storefront.signals.clock import (
    LocalTime,
    country_timezone,
    daypart,
    holiday_on,
    is_southern,
    local_time,
    next_holiday,
    parse_override_time,
    season,
)
from storefront.signals.device import DEVICE_CLASSES, device_class
from storefront.signals.geo import (
    NO_LOCATION,
    GeoLocator,
    Location,
    normalize_country,
    override_location,
)

__all__ = [
    "DEVICE_CLASSES",
    "NO_LOCATION",
    "GeoLocator",
    "LocalTime",
    "Location",
    "country_timezone",
    "daypart",
    "device_class",
    "holiday_on",
    "is_southern",
    "local_time",
    "next_holiday",
    "normalize_country",
    "override_location",
    "parse_override_time",
    "season",
]
