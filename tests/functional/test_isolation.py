"""Who may see what (issue 8), through the Chalice test client (which runs
the app's authorizer as API Gateway would): tests/isolation_matrix.py."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from chalice.test import Client

from local.provision import Provisioned
from tests.isolation_matrix import CANARY, IDENTITIES, Reply, leaks, run_matrix


def chalice_call(client: Client) -> Any:
    def call(method: str, path: str, authorization: str | None, body: Any,
             extra: dict[str, str] | None = None) -> Reply:
        headers = {"Content-Type": "application/json"}
        if authorization is not None:
            headers["Authorization"] = authorization
        headers.update(extra or {})
        response = client.http.request(method, path, headers=headers,
                                       body=json.dumps(body) if body is not None else b"")
        text = response.body.decode() if response.body else ""
        try:
            parsed = json.loads(text) if text else None
        except ValueError:
            parsed = text
        return Reply(response.status_code, parsed, text)
    return call


def test_every_route_answers_each_identity_within_its_scope_and_leaks_nothing(
    client: Client, aws: Provisioned, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)

    matrix = run_matrix(chalice_call(client))

    assert leaks(matrix) == []
    audit = [r.getMessage() for r in caplog.records if r.name == "jobapi.audit"]
    assert len(audit) == 1 and "user root of tenant ops read job" in audit[0]
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert CANARY not in logged  # the audit names the job, never the value
    assert len(matrix.secrets) > len(IDENTITIES)  # the keys and tokens it minted, too
    assert [secret for secret in matrix.secrets if secret in logged] == []
