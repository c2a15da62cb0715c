"""Property-based fuzzing of every JSON endpoint from the shop's own OpenAPI description
(schemathesis strategies driven by hypothesis): whatever the input, no 5xx, and JSON errors
name the field.

The test command runs a quick pass (FUZZ_EXAMPLES per operation, default 40); the long run of
10,000+ cases is `scripts/fuzz.sh` (see docs/reliability.md)."""

from __future__ import annotations

import os

import schemathesis
from hypothesis import HealthCheck, given, settings

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "40"))


def fuzz_operation(operation, label: str, headers: dict, tried: dict[str, int]) -> None:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    def fuzz(case):
        tried[label] = tried.get(label, 0) + 1
        response = case.call(headers=headers)
        assert response.status_code < 500, (case.as_curl_command(), response.text[:500])
        kind = response.headers.get("Content-Type", "")
        if 400 <= response.status_code < 500 and kind.startswith("application/json"):
            body = response.json()
            assert body.get("error") or body.get("fields"), body

    fuzz()


def test_no_input_makes_a_server_error(app):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    client = app.test_client()
    client.get("/")
    headers = {"Cookie": f"sid={client.get_cookie('sid').value}"}
    tried: dict[str, int] = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        fuzz_operation(operation, f"{operation.method.upper()} {operation.path}", headers, tried)
    assert set(tried) >= {
        "GET /api/v1/pages/{page}",
        "GET /api/v1/fragments/{slot}",
        "POST /events",
    }
    print(f"fuzzed {sum(tried.values())} cases: {tried}")
