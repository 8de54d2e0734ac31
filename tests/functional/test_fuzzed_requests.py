"""Whatever a client sends, every route answers below 500, and every refusal
is our error envelope naming the problem (hypothesis drives the requests
through the Chalice test client against moto)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from chalice.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import token_for

FUZZ = settings(max_examples=60, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=4),
    max_leaves=12,
)
SUBMIT_FIELDS = ["method", "params", "children", "description", "transient", "download",
                 "upload", "on_child_failure", "children_timeout", "weight", "lock"]
# Methods that finish at once if a fuzzed body happens to be valid.
METHODS = st.sampled_from(["demo.echo", "demo.fail", "demo.group", "nope", "", "demo."])
submit_bodies = st.one_of(
    st.fixed_dictionaries({"method": METHODS}, optional={
        name: json_values for name in SUBMIT_FIELDS if name != "method"}),
    st.dictionaries(st.sampled_from(SUBMIT_FIELDS) | st.text(max_size=8), json_values,
                    max_size=5),
    json_values,
)
QUERY_NAMES = ["limit", "offset", "order_by", "next_token", "query-filters", "query-options",
               "state", "method", "parent_id", "user_id", "tenant_id", "children", "depth",
               "wait", "since", "raw_result", "consume", "expired_before", "auth_token",
               "count", "select"]
queries = st.dictionaries(st.sampled_from(QUERY_NAMES) | st.text(min_size=1, max_size=6),
                          st.text(max_size=30) | st.integers().map(str), max_size=4)
job_ids = st.text(min_size=1, max_size=40) | st.uuids().map(str)
READS = ["", "/result", "/children", "/logs"]


def check(answer: Any, what: str) -> None:
    assert answer.status_code < 500, (what, answer.status_code, answer.body)
    if answer.status_code >= 400:
        error = json.loads(answer.body)["error"]
        assert error["code"] and error["message"], (what, error)


@pytest.fixture
def send(client: Client) -> Any:
    auth = {"Authorization": f"Bearer {token_for()}"}

    def send(method: str, path: str, body: bytes = b"",
             content_type: str = "application/json") -> Any:
        answer = client.http.request(method, path, body=body,
                                     headers={**auth, "Content-Type": content_type})
        check(answer, f"{method} {path} {body[:200]!r}")
        return answer

    return send


def path_with(path: str, query: dict[str, str]) -> str:
    return f"{path}?{urlencode(query)}" if query else path


@FUZZ
@given(body=submit_bodies, query=queries)
def test_fuzzed_submits_never_fail_on_our_side(send: Any, body: Any, query: dict[str, str]
                                               ) -> None:
    send("POST", path_with("/jobs", query), json.dumps(body).encode())


@FUZZ
@given(raw=st.binary(max_size=200), content_type=st.sampled_from(
    ["application/json", "text/plain", "application/x-www-form-urlencoded"]))
def test_fuzzed_raw_bodies_never_fail_on_our_side(send: Any, raw: bytes,
                                                  content_type: str) -> None:
    send("POST", "/jobs", raw, content_type)
    send("POST", "/jobs/00000000-0000-4000-8000-000000000000/cancel", raw, content_type)


@FUZZ
@given(query=queries)
def test_fuzzed_list_and_delete_queries_never_fail_on_our_side(send: Any,
                                                               query: dict[str, str]) -> None:
    query.pop("wait", None)  # a valid wait would only make the test slow
    send("GET", path_with("/jobs", query))
    send("DELETE", path_with("/jobs", query))


@FUZZ
@given(job_id=job_ids, read=st.sampled_from(READS), query=queries)
def test_fuzzed_job_paths_never_fail_on_our_side(send: Any, job_id: str, read: str,
                                                 query: dict[str, str]) -> None:
    path = f"/jobs/{quote(job_id, safe='')}"
    send("GET", path_with(path + read, query))
    send("POST", path + "/cancel")
    send("DELETE", path)
    query["wait"] = "0"  # the download link long-polls by default
    send("GET", path_with(f"/_download/{quote(job_id, safe='')}", query))


@FUZZ
@given(boundary=st.text(st.characters(codec="ascii", exclude_categories=["Cc"]), min_size=1,
                        max_size=20),
       parts=st.lists(st.tuples(st.text(max_size=12), st.binary(max_size=60)), max_size=3))
def test_fuzzed_upload_forms_never_fail_on_our_side(send: Any, boundary: str,
                                                    parts: list[tuple[str, bytes]]) -> None:
    body = b"".join(
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n".encode()
        + content + b"\r\n" for name, content in parts) + f"--{boundary}--\r\n".encode()
    send("POST", "/_upload", body, f"multipart/form-data; boundary={boundary}")
