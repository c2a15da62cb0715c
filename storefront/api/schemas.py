"""The pydantic models that validate the API's requests; the OpenAPI document is built from
their JSON schemas (storefront/api/openapi.py), so what is checked and what is published are one
thing (tests/unit/test_api_schemas.py holds them together).

- ContextQuery: the context a server-to-server caller states (/api/v1, with an API key);
- PageQuery, FragmentQuery: a listing's parameters (/api/v1/pages, /api/v1/fragments);
- OrderQuery: /api/v1/fragments/order-followup, the order the email is about;
- EventsQuery and Batch (of Event): POST /events, its `visitor` and its body.

A query's problem reads `field: what it must be` (first_problem); a body's problems are listed
per field (field_errors), as the tracker's 400s always were.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from storefront.layouts import PAGE_TYPES
from storefront.signals.device import OPERATING_SYSTEMS

VISITOR_PATTERN = r"^[A-Za-z0-9_-]{8,64}$"
PRODUCT_PATTERN = r"^[A-Za-z0-9_-]{1,32}$"
DEVICES = ("mobile", "tablet", "desktop", "bot")
EPOCH_MS = (946684800000, 4102444800000)  # an event's `ts` as a number: 2000-01-01 .. 2100-01-01
PageType = Literal[PAGE_TYPES]  # type: ignore[valid-type]


class _Query(BaseModel):
    """Query parameters: other parameters (utm_*, qa_*) are the request's own business."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    # field -> the one-line rule a 400 states (`page: a whole number from 1 to 100`)
    messages: ClassVar[dict[str, str]] = {}

    @classmethod
    def parse(cls, args: Mapping[str, str]) -> Self:
        """Validate a request's query (a werkzeug MultiDict: the first value of each name);
        raise QueryError with `field: rule` for the first problem."""
        try:
            return cls.model_validate({k: args.get(k) for k in cls.model_fields if k in args})
        except ValidationError as exc:
            err = exc.errors()[0]
            field = str(err["loc"][0]) if err["loc"] else "query"
            rule = cls.messages.get(field) or err["msg"].removeprefix("Value error, ")
            raise QueryError(f"{field}: {rule}") from None


class QueryError(ValueError):
    """A query parameter is wrong; the message starts with its name (a 400's description)."""


class ContextQuery(_Query):
    """The context a server-to-server caller states instead of the request's own (each needs
    an API key; empty is refused: leave it out to use the request's own)."""

    visitor: Annotated[
        str | None,
        Field(
            pattern=VISITOR_PATTERN,
            description="Visitor id (API key required)",
            examples=["email-visitor-0001"],
        ),
    ] = None
    country: Annotated[
        str | None,
        Field(
            min_length=2,
            max_length=2,
            pattern=r"^[A-Za-z]{2}$",
            description="ISO 3166 alpha-2 country (API key required)",
            examples=["DE"],
        ),
    ] = None
    device: Annotated[
        Literal[DEVICES] | None,  # type: ignore[valid-type]
        Field(description="Device class (API key required)", examples=["mobile"]),
    ] = None
    os: Annotated[
        Literal[OPERATING_SYSTEMS] | None,  # type: ignore[valid-type]
        Field(
            description="Operating system, as rules on `os` see it (API key required)",
            examples=["ios"],
        ),
    ] = None
    time: Annotated[
        str | None,
        Field(
            min_length=1,
            max_length=64,
            description="Local time, ISO 8601, e.g. 2011-12-05T19:30, between years 2 and 9998 "
            "(API key required)",
            examples=["2011-12-05T19:30"],
        ),
    ] = None


CONTEXT_MESSAGES: dict[str, str] = {
    "visitor": "8-64 letters, digits, '-' or '_'",
    "country": "a two-letter ISO 3166-1 code",
    "device": f"one of {', '.join(DEVICES)}",
    "os": f"one of {', '.join(OPERATING_SYSTEMS)}",
    "time": "an ISO 8601 date/time, at most 64 characters",
}


def _page_number(value: Any) -> Any:
    """A listing's page number as the query writes it: 1 to 3 digits (no sign, no spaces)."""
    if isinstance(value, str):
        if not value.isascii() or not value.isdigit() or len(value) > 3:
            raise ValueError("not a whole number")
        return int(value)
    return value


class PageQuery(_Query):
    """A listing's arguments. Each is checked wherever it is given (a malformed one is a 400
    even on a page that ignores it); which page needs which, the view checks."""

    product_id: Annotated[
        str | None,
        Field(
            pattern=PRODUCT_PATTERN,
            description="Product id: required for the product page, ignored elsewhere",
            examples=["85123A"],
        ),
    ] = None
    category: Annotated[
        str | None,
        Field(
            min_length=1,
            description="Category slug: required for the category page, ignored elsewhere",
            examples=["home-decor"],
        ),
    ] = None
    q: Annotated[
        str | None,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=r"\S"),
        Field(
            description="Search words: required for the search page, ignored elsewhere",
            examples=["mug"],
        ),
    ] = None
    page: Annotated[
        int,
        Field(
            ge=1,
            le=100,
            description="Page number of a category or search listing",
            examples=[1],
        ),
    ] = 1

    _number = field_validator("page", mode="before")(_page_number)


PAGE_MESSAGES: dict[str, str] = {
    "product_id": "1-32 letters, digits, '-' or '_'",
    "category": "empty; a category slug",
    "q": "1 to 100 characters",
    "page": "the page number, a whole number from 1 to 100",
}


class FragmentQuery(PageQuery):
    """/api/v1/fragments/{slot}: the page type the slot belongs to, then a listing's arguments
    (`page` stays the page number, as for /api/v1/pages)."""

    page_type: Annotated[
        PageType,
        Field(
            description="Page type the slot belongs to (default home); product, category "
            "and search need their parameters as for /api/v1/pages",
            examples=["home"],
        ),
    ] = "home"


FRAGMENT_MESSAGES: dict[str, str] = {
    **PAGE_MESSAGES,
    "page_type": f"one of {', '.join(PAGE_TYPES)}",
}


class EventsQuery(_Query):
    """POST /events with an API key: the visitor the events are for."""

    visitor: Annotated[
        str | None,
        Field(
            pattern=VISITOR_PATTERN,
            description="Visitor the events are for (API key required; without one the sid "
            "cookie names the visitor)",
            examples=["app-visitor-0001"],
        ),
    ] = None


class OrderQuery(_Query):
    """/api/v1/fragments/order-followup: the order a transactional email is about."""

    order: Annotated[
        str,
        Field(
            pattern=r"^[0-9a-f]{16}$",
            description="Order number, as on the confirmation page (16 hexadecimal digits)",
            examples=["3f2a9c04d1b7e865"],
        ),
    ]


EVENTS_MESSAGES: dict[str, str] = {"visitor": CONTEXT_MESSAGES["visitor"]}
ORDER_MESSAGES: dict[str, str] = {"order": "required, the order number: 16 hexadecimal digits"}
OrderQuery.messages = ORDER_MESSAGES
ContextQuery.messages = CONTEXT_MESSAGES
PageQuery.messages = PAGE_MESSAGES
FragmentQuery.messages = FRAGMENT_MESSAGES
EventsQuery.messages = EVENTS_MESSAGES


MAX_BATCH = 100
EventType = Literal[
    "view", "click", "add_to_cart", "remove_from_cart", "purchase", "search", "impression"
]
NEEDS_PRODUCT = {"view", "click", "add_to_cart", "remove_from_cart", "purchase", "impression"}
# The earliest event time a shop without orders accepts (the epoch-milliseconds floor below);
# a shop with orders accepts nothing from before its first one.
FLOOR = datetime(2000, 1, 1, tzinfo=UTC)
AHEAD = timedelta(days=1)  # clocks run fast; more than this is not an event that happened


class Event(BaseModel):
    """One tracker event; `ts` is milliseconds since the epoch (Date.now()) or ISO 8601."""

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        # what _needs() checks, said in the published schema too
        json_schema_extra={
            "allOf": [
                {
                    "if": {"properties": {"type": {"enum": sorted(NEEDS_PRODUCT)}}},
                    "then": {"required": ["product_id"]},
                },
                {
                    "if": {"properties": {"type": {"const": "search"}}},
                    "then": {"required": ["query"]},
                },
            ]
        },
    )

    id: Annotated[str, Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
    type: EventType
    product_id: Annotated[str | None, Field(max_length=32, pattern=r"^[A-Za-z0-9_-]+$")] = None
    slot: Annotated[str | None, Field(max_length=64, pattern=r"^[A-Za-z0-9_.:-]*$")] = None
    # the page type it happened on (home, product, … or account, me, other): per-page results
    page: Annotated[str | None, Field(max_length=16, pattern=r"^[a-z_]+$")] = None
    query: Annotated[str | None, Field(max_length=200)] = None
    quantity: Annotated[int, Field(ge=1, le=999)] = 1
    channel: Literal["web", "app", "email", "api"] = "web"
    # what _epoch_ms() accepts, said in the published schema too (Date.now() is a number)
    ts: Annotated[
        datetime,
        WithJsonSchema(
            {
                "anyOf": [
                    {
                        "type": "number",
                        "minimum": EPOCH_MS[0],
                        "maximum": EPOCH_MS[1],
                        "description": "milliseconds since the epoch",
                    },
                    {"type": "string", "format": "date-time"},
                ]
            }
        ),
    ]

    @field_validator("ts", mode="before")
    @classmethod
    def _epoch_ms(cls, value):
        if isinstance(value, bool):
            raise ValueError("expected milliseconds since the epoch or an ISO 8601 time")
        if isinstance(value, int | float):
            if not EPOCH_MS[0] <= value <= EPOCH_MS[1]:
                raise ValueError("milliseconds since the epoch out of range")
            return datetime.fromtimestamp(value / 1000, UTC)
        return value

    @field_validator("ts")
    @classmethod
    def _in_store_life(cls, value: datetime, info: ValidationInfo):
        """UTC, and within the store's life: from its first order (the validation context's
        `earliest`, else FLOOR) to a day ahead; year 1 or 9999 with an offset overflows UTC."""
        value = value if value.tzinfo else value.replace(tzinfo=UTC)
        earliest = (info.context or {}).get("earliest", FLOOR)
        try:
            value = value.astimezone(UTC)
        except OverflowError:
            raise ValueError(f"not between {earliest:%Y-%m-%d} and tomorrow") from None
        if value > datetime.now(UTC) + AHEAD:
            raise ValueError("is more than a day in the future")
        if value < earliest:
            raise ValueError(f"is before the store's first order ({earliest:%Y-%m-%d %H:%M} UTC)")
        return value

    @model_validator(mode="after")
    def _needs(self):
        if self.type in NEEDS_PRODUCT and not self.product_id:
            raise ValueError(f"product_id is required for {self.type} events")
        if self.type == "search" and not self.query:
            raise ValueError("query is required for search events")
        return self


class Batch(BaseModel):
    """The body of POST /events: the tracker's batch."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "events": [
                        {
                            "id": "ev-0001-abcd",
                            "type": "view",
                            "product_id": "85123A",
                            "slot": "for-you",
                            "page": "home",
                            "ts": 1733400000000,
                        },
                        {
                            "id": "ev-0002-abcd",
                            "type": "search",
                            "query": "mug",
                            "ts": 1733400000000,
                        },
                    ]
                }
            ]
        },
    )
    events: Annotated[list[Event], Field(min_length=1, max_length=MAX_BATCH)]


def field_errors(exc: ValidationError) -> list[dict]:
    """Each problem as {field, message}: `events[2].product_id`, or a query parameter's name."""
    out = []
    for err in exc.errors():
        loc = err["loc"]
        parts = []
        for p in loc:
            parts.append(f"[{p}]" if isinstance(p, int) else ("." if parts else "") + str(p))
        name = "".join(parts) or "body"
        if err["type"] == "value_error" and "product_id is required" in err["msg"]:
            name += ".product_id"
        elif err["type"] == "value_error" and "query is required" in err["msg"]:
            name += ".query"
        out.append({"field": name, "message": err["msg"].removeprefix("Value error, ")})
    return out
