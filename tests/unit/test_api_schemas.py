"""The OpenAPI document and the request validators cannot drift: every parameter and body the
document describes is a pydantic model's own JSON schema, and the document's examples pass the
validators (storefront/api/schemas.py, storefront/api/openapi.py)."""

from __future__ import annotations

import jsonschema
import pytest

from storefront.api.openapi import document, parameters
from storefront.api.schemas import (
    Batch,
    ContextQuery,
    EventsQuery,
    FragmentQuery,
    OrderQuery,
    PageQuery,
    QueryError,
)

OPERATIONS = {
    ("/api/v1/pages/{page}", "get"): (ContextQuery, PageQuery),
    ("/api/v1/fragments/{slot}", "get"): (ContextQuery, FragmentQuery),
    ("/api/v1/fragments/order-followup", "get"): (OrderQuery,),
    ("/events", "post"): (EventsQuery,),
}


def _query_params(path: str, method: str) -> dict[str, dict]:
    params = document()["paths"][path][method].get("parameters", [])
    return {p["name"]: p for p in params if p["in"] == "query"}


@pytest.mark.parametrize(("path", "method"), list(OPERATIONS))
def test_every_query_parameter_is_a_model_field_and_vice_versa(path, method):
    models = OPERATIONS[(path, method)]
    published = _query_params(path, method)
    fields = {name for model in models for name in model.model_fields}
    assert set(published) == fields
    for model in models:
        for param in parameters(model):  # the document's entry is the model's schema, as is
            assert published[param["name"]] == param


def test_every_query_in_the_document_belongs_to_a_model():
    described = {
        (path, method)
        for path, item in document()["paths"].items()
        for method, op in item.items()
        if any(p["in"] == "query" for p in op.get("parameters", []))
    }
    assert described == set(OPERATIONS)


@pytest.mark.parametrize(("path", "method"), list(OPERATIONS))
def test_a_request_built_from_the_documents_examples_validates(path, method):
    published = _query_params(path, method)
    query = {name: str(p["example"]) for name, p in published.items()}
    assert len(query) == len(published), "every parameter has an example"
    for p in published.values():
        jsonschema.validate(p["example"], p["schema"])  # the example fits its own schema
    for model in OPERATIONS[(path, method)]:
        parsed = model.parse(query)
        for name in model.model_fields:
            assert str(getattr(parsed, name)) == query[name], (model.__name__, name)


def test_the_event_batch_schema_is_the_validators_and_its_examples_validate():
    published = document()["components"]["schemas"]
    batch = published["EventBatch"]
    body = document()["paths"]["/events"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"] == {"$ref": "#/components/schemas/EventBatch"}
    generated = Batch.model_json_schema(ref_template="#/components/schemas/{model}")
    assert published["Event"] == generated["$defs"]["Event"]
    assert batch == {k: v for k, v in generated.items() if k != "$defs"}
    assert batch["examples"]
    whole = {**batch, "components": {"schemas": published}}
    for example in batch["examples"]:
        Batch.model_validate(example)
        jsonschema.validate(example, whole)


@pytest.mark.parametrize(
    ("model", "query", "field"),
    [
        (PageQuery, {"page": "0"}, "page"),
        (PageQuery, {"page": "101"}, "page"),
        (PageQuery, {"product_id": "a b"}, "product_id"),
        (PageQuery, {"category": ""}, "category"),
        (PageQuery, {"q": "   "}, "q"),
        (PageQuery, {"q": "x" * 101}, "q"),
        (FragmentQuery, {"page_type": "nowhere"}, "page_type"),
        (ContextQuery, {"visitor": "short"}, "visitor"),
        (ContextQuery, {"visitor": "visitor-0001\n"}, "visitor"),
        (ContextQuery, {"device": "fridge"}, "device"),
        (ContextQuery, {"country": "DEU"}, "country"),
        (EventsQuery, {"visitor": "no spaces here"}, "visitor"),
        (OrderQuery, {"order": "3F2A9C04D1B7E865"}, "order"),
        (OrderQuery, {"order": "3f2a9c04d1b7e86"}, "order"),
    ],
)
def test_what_the_schema_refuses_the_validator_refuses_naming_the_field(model, query, field):
    with pytest.raises(QueryError) as err:
        model.parse(query)
    assert str(err.value).startswith(f"{field}: ")
    schema = {p["name"]: p["schema"] for p in parameters(model)}[field]
    value = query[field]
    if value.endswith("\n"):
        return  # the schema's $ (ECMA) ends the string; Python's jsonschema lets a newline by
    if schema.get("type") == "integer":
        value = int(value)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(value, schema)


def test_an_order_is_required():
    with pytest.raises(QueryError, match="^order: required"):
        OrderQuery.parse({})


def test_a_page_number_is_digits_only():
    for written in ("1.0", "+1", " 1", "1e1", "١"):
        with pytest.raises(QueryError, match="^page: "):
            PageQuery.parse({"page": written})
    assert PageQuery.parse({"page": "007"}).page == 7
