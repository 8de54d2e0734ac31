"""schemathesis against `make run`'s server from its own contract
(GET /openapi.json; issue 21, item 2): generated requests, valid and not,
for every documented operation, with a credential; no answer may be a
server error, an undocumented status or content type, or break its schema,
and invalid data must be refused."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from chalicelib.faces.native.openapi import OPERATIONS
from tests.e2e.conftest import LocalServer

EXAMPLES = 8  # per operation: the whole run stays within about a minute


@pytest.fixture(scope="module")
def contract(server: LocalServer) -> Any:
    return schemathesis.openapi.from_url(f"{server.url}/openapi.json")


@pytest.mark.parametrize(("method", "path"), sorted(OPERATIONS))
def test_every_operation_keeps_its_contract(contract: Any, api_key: str, method: str,
                                            path: str) -> None:
    operation = contract[path][method]

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy())
    def keeps_it(case: Any) -> None:
        # Every check but "a schema-valid request is accepted": a request may be
        # valid by the schema and still refused on meaning (an unknown field in
        # select, an expiry in the past, params its method requires).
        case.call_and_validate(headers={"Authorization": f"Bearer {api_key}"},
                               excluded_checks=[positive_data_acceptance])

    keeps_it()
