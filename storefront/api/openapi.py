"""The OpenAPI 3.1 description of the shop's JSON endpoints, served at /api/v1/openapi.json.

Generated, not written: the query parameters and the events body come from the JSON schemas of
the pydantic models that validate them (storefront/api/schemas.py), so the document cannot say
one thing while the server checks another (tests/unit/test_api_schemas.py). What is
written here: the routes, and the shapes of the answers (PAGE, SLOT, PRODUCT, ERROR), which a
test checks against real responses.
"""

from __future__ import annotations

from functools import cache

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from storefront.api import schemas
from storefront.api.schemas import Batch, ContextQuery, EventsQuery, FragmentQuery, PageQuery
from storefront.layouts import PAGE_TYPES
from storefront.signals.device import OPERATING_SYSTEMS

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
            "required": [
                "visitor",
                "country",
                "device",
                "os",
                "daypart",
                "local_time",
                "season",
            ],
            "properties": {
                "visitor": {"type": "string", "enum": ["stated", "cookie"]},
                "country": {"type": ["string", "null"]},
                "device": {"type": "string"},
                "os": {"type": "string", "enum": list(OPERATING_SYSTEMS)},
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


class _QuerySchema(GenerateJsonSchema):
    """A query parameter is absent or a string: an optional field is its inner schema, not
    `anyOf [..., null]`."""

    def nullable_schema(self, schema: core_schema.NullableSchema) -> JsonSchemaValue:
        return self.generate_inner(schema["schema"])


def parameters(model: type[BaseModel]) -> list[dict]:
    """The OpenAPI query parameters of a request model, from its own JSON schema: name,
    description, examples and the schema the model validates with."""
    schema = model.model_json_schema(schema_generator=_QuerySchema)
    required = set(schema.get("required", ()))
    out = []
    for name, prop in schema["properties"].items():
        prop = dict(prop)
        description = prop.pop("description", "")
        examples = prop.pop("examples", [])
        prop.pop("title", None)
        if prop.get("default", ...) is None:
            del prop["default"]
        param = {
            "name": name,
            "in": "query",
            "required": name in required,
            "description": description,
            "schema": prop,
        }
        if examples:
            param["example"] = examples[0]
        out.append(param)
    return out


def _errors(*codes: int) -> dict:
    return {
        str(c): {
            "description": "error naming the field",
            "content": {"application/json": {"schema": ERROR}},
        }
        for c in codes
    }


@cache
def document() -> dict:
    """The document (built once per process): schemas and parameters from the request models
    in storefront/api/schemas.py, paths and answers from the routes below."""
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
                        *parameters(ContextQuery),
                        *parameters(PageQuery),
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
                        *parameters(ContextQuery),
                        *parameters(FragmentQuery),
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
            "/api/v1/fragments/order-followup": {
                "get": {
                    "summary": "An order's follow-up as email-safe HTML: the recap, what goes "
                    "with it, when it will be due again (inline styles, absolute links, no "
                    "script)",
                    "parameters": parameters(schemas.OrderQuery),
                    "security": [{"apiKey": []}],
                    "responses": {
                        "200": {
                            "description": "HTML fragment",
                            "content": {"text/html": {"schema": {"type": "string"}}},
                        },
                        **_errors(400, 401, 404, 429),
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
                    "parameters": parameters(EventsQuery),
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
