"""Schemathesis against /openapi.json of a real server: generated requests never get a 5xx, and every response
(errors included) has the status, content type and body the schema documents."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance, not_a_server_error, response_schema_conformance, status_code_conformance,
)

from tests.api.conftest import WRITER

# NOTE: schemathesis' pytest plugin (`from_fixture`) breaks on pytest 9 ('Function' has no '_nodeid'), so
# each operation's strategy is drawn with plain hypothesis instead.
EXAMPLES_PER_OPERATION = 6


def test_no_server_errors_and_responses_match_the_schema(writable_server):
    # The writable server, so that upload and delete are exercised past the permission check.
    schema = schemathesis.openapi.from_url(f"{writable_server.url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 8
    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case) -> None:
            case.call_and_validate(headers={"Authorization": f"Bearer {WRITER}"}, checks=[not_a_server_error, status_code_conformance, content_type_conformance,
                                           response_schema_conformance],
                                   timeout=60)

        try:
            check()
        except Exception as exc:  # noqa: BLE001 - name the operation that failed
            pytest.fail(f"{operation.label}: {exc}")
