"""Who may see what (issue 8), over real HTTP through `make run`'s server,
whose `chalice local` runs the app's authorizer: tests/isolation_matrix.py."""

from __future__ import annotations

from typing import Any

import requests

from tests.e2e.conftest import LocalServer
from tests.isolation_matrix import IDENTITIES, Reply, as_text, leaks, run_matrix


def http_call(server: LocalServer) -> Any:
    def call(method: str, path: str, authorization: str | None, body: Any,
             extra: dict[str, str] | None = None) -> Reply:
        headers = {"Authorization": authorization} if authorization is not None else {}
        headers.update(extra or {})
        answer = requests.request(method, server.url + path, headers=headers, json=body,
                                  timeout=60)
        try:
            parsed = answer.json()
        except ValueError:
            parsed = answer.text
        return Reply(answer.status_code, parsed, as_text(answer.text))
    return call


def test_every_route_answers_each_identity_within_its_scope_over_http(
    server: LocalServer,
) -> None:
    matrix = run_matrix(http_call(server))

    assert leaks(matrix) == []
    log = "".join(server.output)
    assert len(matrix.secrets) > len(IDENTITIES)  # the keys and tokens it minted, too
    assert [secret for secret in matrix.secrets if secret in log] == []
