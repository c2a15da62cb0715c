"""The OpenAPI 3.1 description of the shop's JSON endpoints, served at /api/v1/openapi.json.

Schemas for request bodies come from the same pydantic models that validate them, and a test
checks every /api route against this document and real responses against its schemas.
"""

from __future__ import annotations

from storefront.layouts import PAGE_TYPES

PRODUCT = {
    "type": "object",
    "required": ["id", "title", "price", "category", "reason", "image_url", "url"],
    "properties": {
        "id": {"type": "string"},
        "title": {"type": "string"},
        "price": {"type": "number"},
        "currency": {"type": "string", "description": "ISO 4217 code of the price"},
        "category": {"type": "string"},
        "reason": {"type": "string"},
        "image_url": {
            "type": "string",
            "description": "absolute on STOREFRONT_PUBLIC_URL when set, else a path",
        },
        "url": {
            "type": "string",
            "description": "absolute on STOREFRONT_PUBLIC_URL when set, else a path",
        },
    },
    "additionalProperties": False,
}
SLOT = {
    "type": "object",
    "required": ["slot", "strategy", "title", "products"],
    "properties": {
        "slot": {"type": "string"},
        "strategy": {"type": "string"},
        "title": {"type": "string"},
        "products": {"type": "array", "items": PRODUCT, "minItems": 1},
    },
    "additionalProperties": False,
}
PAGE = {
    "type": "object",
    "required": ["page", "model_version", "rules_version", "context", "slots"],
    "properties": {
        "page": {"type": "string", "enum": list(PAGE_TYPES)},
        "model_version": {"type": "string"},
        "rules_version": {"type": "string"},
        "context": {
            "type": "object",
            "required": ["visitor", "country", "device", "daypart", "local_time", "season"],
            "properties": {
                "visitor": {"type": "string", "enum": ["stated", "cookie"]},
                "country": {"type": ["string", "null"]},
                "device": {"type": "string"},
                "daypart": {"type": "string"},
                "local_time": {"type": "string"},
                "season": {"type": "string"},
                "holiday": {"type": ["string", "null"]},
            },
        },
        "slots": {"type": "array", "items": SLOT},
    },
}
ERROR = {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}}


def _param(name: str, description: str, schema: dict | None = None) -> dict:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema or {"type": "string"},
    }


CONTEXT_PARAMS = [
    _param(
        "visitor",
        "Visitor id (API key required)",
        {"type": "string", "pattern": "^[A-Za-z0-9_-]{8,64}$"},
    ),
    _param(
        "country",
        "ISO 3166 alpha-2 country (API key required)",
        {"type": "string", "minLength": 2, "maxLength": 2, "pattern": "^[A-Za-z]{2}$"},
    ),
    _param(
        "device",
        "Device class (API key required)",
        {"type": "string", "enum": ["mobile", "tablet", "desktop", "bot"]},
    ),
    _param(
        "time",
        "Local time, ISO 8601, e.g. 2011-12-05T19:30, between years 2 and 9998 (API key required)",
        {"type": "string", "minLength": 1, "maxLength": 64},
    ),
]
PAGE_PARAMS = [
    _param(
        "product_id",
        "Product id: required for the product page, ignored elsewhere",
        {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,32}$"},
    ),
    _param(
        "category",
        "Category slug: required for the category page, ignored elsewhere",
        {"type": "string", "minLength": 1},
    ),
    _param(
        "q",
        "Search words: required for the search page, ignored elsewhere",
        {"type": "string", "minLength": 1, "maxLength": 100, "pattern": "\\S"},
    ),
    _param(
        "page",
        "Page number of a category or search listing",
        {"type": "integer", "minimum": 1, "maximum": 100, "default": 1},
    ),
]


def _errors(*codes: int) -> dict:
    return {
        str(c): {
            "description": "error naming the field",
            "content": {"application/json": {"schema": ERROR}},
        }
        for c in codes
    }


def document() -> dict:
    from storefront.events import Batch

    batch = Batch.model_json_schema(ref_template="#/components/schemas/{model}")
    nested = batch.pop("$defs", {})
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Storefront",
            "version": "1",
            "description": "Pages built for the person looking at them, for every channel.",
        },
        "components": {
            "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Page": PAGE,
                "Slot": SLOT,
                "Product": PRODUCT,
                "Error": ERROR,
                "EventBatch": batch,
                **nested,
            },
        },
        "paths": {
            "/api/v1/pages/{page}": {
                "get": {
                    "summary": "A page as JSON: slots in order with products and reasons",
                    "parameters": [
                        {
                            "name": "page",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string", "enum": list(PAGE_TYPES)},
                        },
                        *CONTEXT_PARAMS,
                        *PAGE_PARAMS,
                    ],
                    "security": [{}, {"apiKey": []}],
                    "responses": {
                        "200": {
                            "description": "the page",
                            "content": {"application/json": {"schema": PAGE}},
                        },
                        **_errors(400, 401, 403, 404, 429),
                    },
                }
            },
            "/api/v1/fragments/{slot}": {
                "get": {
                    "summary": "One slot as email-safe HTML (inline styles, absolute links)",
                    "parameters": [
                        {
                            "name": "slot",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        },
                        _param(
                            "page_type",
                            "Page type the slot belongs to (default home); product, category "
                            "and search need their parameters as for /api/v1/pages",
                            {"type": "string", "enum": list(PAGE_TYPES), "default": "home"},
                        ),
                        *CONTEXT_PARAMS,
                        *PAGE_PARAMS,
                    ],
                    "security": [{}, {"apiKey": []}],
                    "responses": {
                        "200": {
                            "description": "HTML fragment",
                            "content": {"text/html": {"schema": {"type": "string"}}},
                        },
                        **_errors(400, 401, 403, 404, 429),
                    },
                }
            },
            "/api/v1/openapi.json": {
                "get": {
                    "summary": "This document",
                    "responses": {
                        "200": {
                            "description": "OpenAPI 3.1",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        }
                    },
                }
            },
            "/events": {
                "post": {
                    "summary": "Record tracker events (202 with counts; 400 names each bad field)",
                    "description": "Event ids are unique per visitor and caller: a retried id "
                    "is acknowledged and counted once. Times must lie between the store's first "
                    "order and a day ahead.",
                    "parameters": [
                        _param(
                            "visitor",
                            "Visitor the events are for (API key required; without one the "
                            "sid cookie names the visitor)",
                            {"type": "string", "pattern": "^[A-Za-z0-9_-]{8,64}$"},
                        )
                    ],
                    "security": [{}, {"apiKey": []}],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/EventBatch"}
                            }
                        },
                    },
                    "responses": {
                        "202": {
                            "description": "accepted",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "required": ["accepted", "recorded", "duplicates"],
                                        "properties": {
                                            "accepted": {"type": "integer"},
                                            "recorded": {"type": "integer"},
                                            "duplicates": {"type": "integer"},
                                        },
                                    }
                                }
                            },
                        },
                        **_errors(400, 401, 413, 429, 503),
                    },
                }
            },
            "/healthz": {
                "get": {
                    "summary": "Can this worker serve",
                    "responses": {
                        "200": {
                            "description": "ok or degraded",
                            "content": {
                                "application/json": {
                                    "schema": {"type": "object", "required": ["status"]}
                                }
                            },
                        },
                        "503": {"description": "nothing to serve"},
                    },
                }
            },
        },
    }
