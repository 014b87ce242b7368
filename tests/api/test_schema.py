"""Schemathesis against /openapi.json of a real server: generated requests never get a 5xx, every response
(errors included) has the status, content type and body the schema documents, and requests that break the
schema are refused with a 4xx."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.conftest import WRITER

# NOTE: schemathesis' pytest plugin (`from_fixture`) breaks on pytest 9 ('Function' has no '_nodeid'), so
# each operation's strategy is drawn with plain hypothesis instead.
EXAMPLES_PER_OPERATION = 6


def run_operations(server, mode: GenerationMode, checks: list) -> None:
    # The writable server, so that upload and delete are exercised past the permission check.
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 8
    if mode is GenerationMode.NEGATIVE:
        # /healthz and the like take no input: there is nothing to get wrong.
        operations = [op for op in operations if op.path_parameters or op.query or op.body]
    for operation in operations:
        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case) -> None:
            case.call_and_validate(headers={"Authorization": f"Bearer {WRITER}"}, checks=checks, timeout=60)

        try:
            check()
        except Exception as exc:  # noqa: BLE001 - name the operation that failed
            pytest.fail(f"{operation.label}: {exc}")


def test_no_server_errors_and_responses_match_the_schema(writable_server):
    run_operations(writable_server, GenerationMode.POSITIVE, [not_a_server_error, status_code_conformance,
                                                              content_type_conformance, response_schema_conformance])


def test_requests_that_break_the_schema_get_a_4xx(writable_server):
    run_operations(writable_server, GenerationMode.NEGATIVE, [not_a_server_error, negative_data_rejection,
                                                              response_schema_conformance])
