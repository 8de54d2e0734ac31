"""schemathesis against `make run`'s server from its own contract
(GET /openapi.json; issue 21, item 2): generated requests, valid and not,
for every documented operation, with a credential; no answer may be a
server error, an undocumented status or content type, or break its schema,
and invalid data must be refused. Then schemathesis's stateful phase: chains
of calls that follow the OpenAPI links from a created job."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from chalicelib.faces.native.openapi import OPERATIONS
from tests.e2e.conftest import LocalServer

EXAMPLES = 8  # per operation: the whole run stays within about a minute
STATEFUL_EXAMPLES = 25  # scenarios: chains of calls from a created job


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



def test_stateful_chains_follow_the_links_from_a_created_job(
        server: LocalServer, api_key: str, tmp_path: Path) -> None:
    """schemathesis's own stateful phase: chains that start with POST /jobs
    and follow its answer's links (get, cancel, result, children, logs,
    download_link, delete), with every check but two: "a schema-valid request
    is accepted" (as above) and "a created resource is found" (a transient
    job is removed when it ends, and a result fetched with consume=true takes
    its job with it: both by design)."""
    run = subprocess.run(
        [str(Path(sys.executable).with_name("schemathesis")), "run",
         f"{server.url}/openapi.json", "--phases", "stateful",
         "--header", f"Authorization: Bearer {api_key}", "--checks", "all",
         "--exclude-checks", "positive_data_acceptance,ensure_resource_availability",
         "--max-examples", str(STATEFUL_EXAMPLES), "--generation-deterministic",
         "--report", "har", "--report-dir", str(tmp_path), "--no-color"],
        capture_output=True, text=True, timeout=600, check=False, cwd=tmp_path)

    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    followed = chained_calls(next(tmp_path.glob("*.json")))
    assert {"GET", "POST cancel", "DELETE"} <= followed, followed


def chained_calls(har: Path) -> set[str]:
    """Which calls were made on a job that a POST /jobs had just made (by the
    job's id in the path), each as its method and last path segment."""
    created: set[str] = set()
    followed: set[str] = set()
    for entry in json.loads(har.read_text())["log"]["entries"]:
        path = urlsplit(entry["request"]["url"]).path
        method, status = entry["request"]["method"], entry["response"]["status"]
        if method == "POST" and path == "/jobs" and status in (200, 202):
            created.add(json.loads(entry["response"]["content"]["text"])["id"])
        parts = path.split("/")
        if len(parts) >= 3 and parts[1] == "jobs" and parts[2] in created:
            followed.add(method if len(parts) == 3 else f"{method} {parts[3]}")
    return followed
