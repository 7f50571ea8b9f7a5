"""Property-based testing of the whole HTTP API from its own OpenAPI document (schemathesis):
at least 1,000 generated requests against a real server on loopback; no reply may be a 5xx,
use an undocumented status code or content type, or break its documented schema."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from .api_server import DemoTemplate, LiveServer, demo_template, live_server

#: Generated cases per operation and mode (schema-valid, then schema-invalid requests); about
#: 20 operations, so well over 1,000 requests in all.
EXAMPLES_PER_OPERATION = 40
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    template: DemoTemplate = demo_template(tmp_path_factory.mktemp("st-template"), 600)
    workdir: Path = tmp_path_factory.mktemp("st-server")
    with live_server(template, workdir, "--lookups-per-minute", "100000") as s:
        yield s


def test_generated_requests_conform_to_the_openapi_document(server: LiveServer) -> None:
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    counts: dict[str, int] = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        counts[operation.label] = 0
        for mode in GenerationMode:
            _fuzz(operation, mode, counts)
    total = sum(counts.values())
    assert total >= 1000, counts
    assert len(counts) >= 18, sorted(counts)  # every route is in the document


def _fuzz(
    operation: schemathesis.APIOperation, mode: GenerationMode, counts: dict[str, int]
) -> None:
    """Run :data:`EXAMPLES_PER_OPERATION` generated cases of one operation (fewer when the
    operation has fewer distinct requests, e.g. no parameters)."""

    @given(case=operation.as_strategy(mode))
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: schemathesis.Case) -> None:
        counts[operation.label] += 1
        case.call_and_validate(checks=CHECKS)

    try:
        run()
    except Unsatisfiable:
        # Only when no schema-invalid request exists: an operation without any input.
        assert mode is GenerationMode.NEGATIVE and counts[operation.label] > 0
