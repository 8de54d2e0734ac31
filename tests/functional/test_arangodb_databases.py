"""The ArangoDB face's URL shape and credentials (issue 19, items 4 to 6) over
the Chalice test client: every route of the API also under /_db/<database>/,
the face's own check of the credential answering arangod's 401, and the
limits of a kept response (one larger than the inline limit goes to S3; a
binary body is replayed byte for byte)."""

from __future__ import annotations

import base64
import json
import urllib.parse
import uuid
from typing import Any

import pytest
from chalice.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.wiring import services
from tests.helpers import Answer, JobsClient, token_for, wait_until

ASYNC_ID = "x-arango-async-id"
STORE = {"x-arango-async": "store"}
NOT_AUTHORIZED = {"error": True, "errorNum": 401, "code": 401,
                  "errorMessage": "not authorized to execute this request"}
ACME = token_for("acme", "ann", ())


def records(jobs: JobsClient, path: str = "/jobs?transient=true&limit=100") -> list[Any]:
    return list(jobs.request("GET", path).body["records"])


def accepted(answer: Answer) -> str:
    assert answer.status == 202, answer.body
    return answer.headers[ASYNC_ID]


def fetched(jobs: JobsClient, job_id: str) -> Answer:
    wait_until(lambda: jobs.request("GET", f"/_api/job/{job_id}").status, lambda s: s == 200)
    return jobs.request("PUT", f"/_api/job/{job_id}")


def by_number(jobs: JobsClient, number: str) -> dict[str, Any]:
    where = urllib.parse.quote(json.dumps([["number", "=", int(number)]]))
    return dict(records(jobs, f"/jobs?transient=true&filters={where}")[0])


@pytest.mark.parametrize("database", ["_system", "acme"])
def test_every_native_route_answers_under_the_callers_databases(
        jobs: JobsClient, database: str) -> None:
    ann = jobs.as_caller(ACME)
    prefix = f"/_db/{database}"

    submitted = ann.request("POST", f"{prefix}/jobs", {"method": "demo.echo", "params": {"a": 1}})
    job_id = submitted.body["id"]
    ann.wait_for(job_id)

    assert submitted.status == 202 and submitted.body["method"] == "demo.echo"
    assert ann.request("GET", f"{prefix}/jobs/{job_id}").body == ann.get(job_id).body
    assert ann.request("GET", f"{prefix}/jobs/{job_id}/result").body["result"] == {"a": 1}
    assert [job["id"] for job in ann.request("GET", f"{prefix}/jobs").body["records"]] == \
        [job_id]
    assert ann.request("GET", f"{prefix}/methods").body == ann.request("GET", "/methods").body
    assert ann.request("DELETE", f"{prefix}/jobs/{job_id}").body == {"deleted": 1, "more": False}
    assert ann.get(job_id).status == 404


def test_a_native_error_under_a_database_keeps_the_native_body(jobs: JobsClient) -> None:
    answer = jobs.request("POST", "/_db/_system/jobs", {"method": "no.such.method"})

    assert answer.status == 400 and answer.body["error"]["code"] == "unknown_method"


@pytest.mark.parametrize(("method", "path"), [
    ("POST", "/_db/globex/jobs"), ("GET", "/_db/globex/jobs"), ("GET", "/_db/default/methods"),
    ("POST", "/_db/globex/api_keys"), ("GET", "/_db/globex/_api/version"),
])
def test_another_database_is_a_404_in_arangos_body_and_does_nothing(
        jobs: JobsClient, method: str, path: str) -> None:
    ann = jobs.as_caller(ACME)

    answer = ann.request(method, path, {"method": "demo.echo", "params": {}, "name": "k"})

    assert answer.status == 404 and answer.body == {
        "error": True, "errorNum": 1228, "errorMessage": "database not found", "code": 404}
    assert records(ann) == [] and ann.request("GET", "/api_keys").body["records"] == []


@pytest.mark.parametrize("authorization", [
    None, "Bearer not-a-token", f"Bearer {token_for(seconds=-60)}",
    "Basic " + base64.b64encode(b"root:wrong-0000000000000000").decode(), "Digest x",
])
@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/_api/version"), ("GET", "/_db/_system/_api/version"),
    ("GET", "/_api/job/done"), ("PUT", "/_api/job/1"), ("POST", "/_db/_system/jobs"),
    ("GET", "/_db/default/jobs"), ("DELETE", "/_db/_system/jobs"),
])
def test_a_missing_or_refused_credential_is_arangods_401_and_does_nothing(
        jobs: JobsClient, authorization: str | None, method: str, path: str) -> None:
    caller = jobs.as_caller(None)
    headers = {"Authorization": authorization} if authorization else {}

    answers = [caller.request(method, path, {"method": "demo.echo"}, headers=headers),
               caller.request(method, path, {"method": "demo.echo"},
                              headers={**headers, **STORE})]

    for answer in answers:
        assert answer.status == 401 and answer.body == NOT_AUTHORIZED, answer.body
        assert ASYNC_ID not in answer.headers
    assert records(jobs) == []


def test_the_native_routes_still_answer_api_gateways_refusals(jobs: JobsClient) -> None:
    """Only the face's routes check the credential themselves."""
    answer = jobs.as_caller(None).request("GET", "/jobs", headers={
        "Authorization": "Bearer not-a-token"})

    assert answer.status == 403 and answer.body["error"]["code"] == "forbidden"


def test_routes_that_check_their_own_credential_are_under_system_only(
        jobs: JobsClient) -> None:
    anonymous = jobs.as_caller(None)

    assert json.loads(anonymous.request("GET", "/_db/_system/health").body) == {"status": "ok"}
    assert anonymous.request("GET", "/_db/default/health").body["errorNum"] == 1228
    refused = anonymous.request("GET", "/_db/_system/_download/x?auth_token=nope")
    assert refused.status == 401 and refused.body["error"]["code"] == "unauthorized"
    async_health = jobs.request("GET", "/_db/_system/health", headers=STORE)
    assert async_health.status == 400 and "not allowed" in async_health.body["errorMessage"]


def test_an_async_request_under_a_database_replays_the_native_route(
        jobs: JobsClient) -> None:
    marker = str(uuid.uuid4())
    job_id = accepted(jobs.request("POST", "/_db/default/jobs",
                                   {"method": "demo.echo", "params": {"m": marker}},
                                   headers=STORE))

    answer = fetched(jobs, job_id)

    assert answer.status == 202 and answer.headers[ASYNC_ID] == job_id
    assert answer.body["method"] == "demo.echo" and answer.body["arguments"] == {"m": marker}
    assert jobs.wait_for(answer.body["id"])["result"] == {"m": marker}


def test_an_async_request_to_another_database_makes_no_job(jobs: JobsClient) -> None:
    answer = jobs.request("POST", "/_db/globex/jobs", {"method": "demo.echo"}, headers=STORE)

    assert answer.status == 404 and answer.body["errorNum"] == 1228
    assert ASYNC_ID not in answer.headers and records(jobs) == []


def test_a_kept_response_over_the_inline_limit_is_kept_in_s3_and_answered_whole(
        jobs: JobsClient) -> None:
    for index in range(24):
        jobs.submit("demo.echo", {"index": index, "padding": "p" * 900})
    listing = "/jobs?method=demo.echo&limit=100"
    expected = wait_until(lambda: jobs.request("GET", listing).body,
                          lambda body: [job["state"] for job in body["records"]] ==
                          ["SUCCESS"] * 24)
    job_id = accepted(jobs.request("GET", listing, headers=STORE))
    wait_until(lambda: jobs.request("GET", f"/_api/job/{job_id}").status, lambda s: s == 200)

    stored = services().store.get(by_number(jobs, job_id)["id"])
    answer = jobs.request("PUT", f"/_api/job/{job_id}")

    limit = services().settings.inline_result_bytes
    assert stored is not None and stored.result_ref and stored.result is None
    assert len(json.dumps(answer.body)) > limit
    assert answer.status == 200 and answer.body["records"] == expected["records"]


def test_a_binary_body_is_replayed_byte_for_byte(client: Client, jobs: JobsClient) -> None:
    raw = b'{"method": "demo.echo", "params": {"x": "\xff\xfe"}}'
    headers = {"Authorization": f"Bearer {token_for()}", "Content-Type": "application/json"}

    def send(extra: dict[str, str]) -> Any:
        return client.http.request("POST", "/jobs", headers={**headers, **extra}, body=raw)

    synchronous = send({})
    sent = send(STORE)
    assert sent.status_code == 202
    job_id = sent.headers[ASYNC_ID]

    replay = by_number(jobs, job_id)
    answer = fetched(jobs, job_id)

    assert replay["arguments"]["base64"] is True
    assert answer.status == synchronous.status_code == 400
    assert answer.body == json.loads(synchronous.body)


segment = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1,
                  max_size=12).map(lambda text: urllib.parse.quote(text, safe=""))
routes = st.sampled_from(["jobs", "jobs/x", "jobs/x/result", "jobs/x/children", "jobs/x/logs",
                          "jobs/schema", "methods", "api_keys", "health", "_upload",
                          "_download/x", "auth/tokens", "jobs/x/cancel"])


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(method=st.sampled_from(["GET", "POST", "DELETE"]), database=segment, route=routes,
       authorization=st.sampled_from([None, "Bearer x", "Basic !!", "token"]),
       asynchronous=st.booleans())
def test_fuzzed_requests_under_a_database_never_fail_on_our_side(
        jobs: JobsClient, method: str, database: str, route: str, authorization: str | None,
        asynchronous: bool) -> None:
    headers = {**({"Authorization": authorization} if authorization else {}),
               **(STORE if asynchronous else {})}
    caller = jobs if authorization == "token" else jobs.as_caller(None)
    if authorization == "token":
        headers.pop("Authorization")

    answer = caller.request(method, f"/_db/{database}/{route}", {"method": "demo.echo"},
                            headers=headers)

    assert answer.status < 500, (method, database, route, answer.body)
    if answer.status >= 400 and isinstance(answer.body, dict):
        error = answer.body.get("error")
        arango = error is True and answer.body["code"] == answer.status
        native = isinstance(error, dict) and error["code"] and error["message"]
        assert arango or native, answer.body


@pytest.mark.parametrize(("method", "path", "body"), [
    ("POST", "/v2.1/jobs", {"action": "demo.echo", "request_payload": {"via": "netapp"}}),
    ("GET", "/api/2.0/jobs/", None),
])
def test_an_async_request_to_another_faces_route_is_checked_and_replayed(
        jobs: JobsClient, method: str, path: str, body: Any) -> None:
    refused = jobs.as_caller(None).request(method, path, body, headers=STORE)
    job_id = accepted(jobs.request(method, path, body, headers=STORE))

    answer = fetched(jobs, job_id)

    assert refused.status == 401 and refused.body == NOT_AUTHORIZED
    assert answer.status == (202 if method == "POST" else 200), answer.body
    assert ("status" in answer.body) if method == "POST" else ("objects" in answer.body)
