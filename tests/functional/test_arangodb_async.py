"""`x-arango-async` on any route (issue 19, item 1) over the Chalice test
client: the seed's examples translated (an async GET /_api/version fetched
with PUT, a failing request keeps its 400, a pending one answers 204 and is
listed), fire and forget, the refusals, the caller's scope, and the secrets
a request body carries."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib.wiring import services
from tests.helpers import Answer, CallRecorder, JobsClient, token_for, wait_until
from tests.methods_for_tests import gate

ASYNC_ID = "x-arango-async-id"
STORE = {"x-arango-async": "store"}


def arango_error(answer: Answer, status: int) -> None:
    assert answer.status == status, answer.body
    assert set(answer.body) == {"error", "errorNum", "errorMessage", "code"}, answer.body
    assert answer.body["error"] is True and answer.body["code"] == status


def accepted(answer: Answer) -> str:
    """The id of an accepted async request."""
    assert answer.status == 202, answer.body
    assert answer.body in ("", None)
    return answer.headers[ASYNC_ID]


def fetched(jobs: JobsClient, job_id: str) -> Answer:
    """PUT /_api/job/{id} once the job is done."""
    wait_until(lambda: jobs.request("GET", f"/_api/job/{job_id}").status, lambda s: s == 200)
    return jobs.request("PUT", f"/_api/job/{job_id}")


@pytest.fixture
def held(jobs: JobsClient) -> Iterator[dict[str, Any]]:
    """A running job that holds until the test ends (test.blocking)."""
    name = str(uuid.uuid4())
    job = jobs.submit("test.blocking", {"gate": name}).body
    jobs.wait_for(job["id"], lambda seen: seen["state"] == "RUNNING")
    job["gate"] = name
    yield job
    gate(name).set()


def test_an_async_version_is_fetched_once_with_put(jobs: JobsClient) -> None:
    job_id = accepted(jobs.request("GET", "/_api/version", headers=STORE))

    answer = fetched(jobs, job_id)

    assert answer.status == 200
    assert answer.headers[ASYNC_ID] == job_id
    assert answer.body == jobs.request("GET", "/_api/version").body
    assert answer.headers["content-type"].startswith("application/json")
    again = jobs.request("PUT", f"/_api/job/{job_id}")
    assert again.status == 404 and ASYNC_ID not in again.headers


def test_an_async_request_under_a_database_prefix_is_a_job_too(jobs: JobsClient) -> None:
    job_id = accepted(jobs.request("GET", "/_db/_system/_api/version", headers=STORE))

    assert fetched(jobs, job_id).body["server"] == "jobapi"


def test_an_async_request_that_fails_keeps_its_400(jobs: JobsClient) -> None:
    job_id = accepted(jobs.request("POST", "/jobs", {"params": {}}, headers=STORE))

    answer = fetched(jobs, job_id)

    assert answer.status == 400 and answer.headers[ASYNC_ID] == job_id
    assert answer.body["error"]["code"] == "bad_request"


def test_a_pending_async_request_answers_204_and_is_listed(jobs: JobsClient,
                                                          held: dict[str, Any]) -> None:
    job_id = accepted(jobs.request("GET", f"/jobs/{held['id']}?wait=20", headers=STORE))
    wait_until(lambda: jobs.request("GET", "/_api/job/pending").body,
               lambda ids: job_id in ids)

    pending = jobs.request("PUT", f"/_api/job/{job_id}")
    assert pending.status == 204 and ASYNC_ID not in pending.headers
    assert jobs.request("GET", f"/_api/job/{job_id}").status == 204

    gate(held["gate"]).set()
    answer = fetched(jobs, job_id)
    assert answer.status == 200 and answer.body["state"] == "SUCCESS"


def test_fire_and_forget_answers_202_without_an_id_and_keeps_nothing(
        jobs: JobsClient) -> None:
    marker = str(uuid.uuid4())
    answer = jobs.request("POST", "/jobs", {"method": "demo.echo", "params": {"m": marker}},
                          headers={"x-arango-async": "true"})

    assert answer.status == 202 and ASYNC_ID not in answer.headers
    assert answer.body in ("", None)
    replays = wait_until(
        lambda: jobs.request("GET", "/jobs?method=core.http_request&transient=true").body,
        lambda body: body["records"] and body["records"][0]["state"] == "SUCCESS")["records"]
    assert replays[0]["transient"] is True and replays[0]["result"] is None
    echoes = jobs.request("GET", "/jobs?method=demo.echo").body["records"]
    assert [job["arguments"] for job in echoes] == [{"m": marker}]  # it did run


@pytest.mark.parametrize("value", ["false", "STORE", "", "store, true"])
def test_any_other_value_is_a_400(jobs: JobsClient, value: str) -> None:
    arango_error(jobs.request("GET", "/_api/version", headers={"x-arango-async": value}), 400)
    assert jobs.request("GET", "/jobs").body["records"] == []


@pytest.mark.parametrize(("method", "path", "body"), [
    ("POST", "/api_keys", {"name": "k"}),
    ("POST", "/auth/tokens", {}),
    ("DELETE", "/api_keys/1", None),
    ("GET", "/health", None),
])
def test_credential_routes_and_routes_without_the_authorizer_refuse_async(
        jobs: JobsClient, method: str, path: str, body: Any) -> None:
    answer = jobs.request(method, path, body, headers=STORE)

    arango_error(answer, 400)
    assert "not allowed" in answer.body["errorMessage"]


def test_the_job_managers_own_routes_answer_at_once(jobs: JobsClient) -> None:
    answer = jobs.request("GET", "/_api/job/done", headers=STORE)

    assert answer.status == 200 and answer.body == []


def test_a_body_too_big_is_a_413_before_any_job(jobs: JobsClient) -> None:
    raw = json.dumps({"method": "demo.echo", "params": {"x": "y" * 300_000}})

    arango_error(jobs.request("POST", "/jobs", raw=raw, headers=STORE), 413)
    assert jobs.request("GET", "/jobs?transient=true").body["records"] == []


def test_a_secret_in_an_async_body_is_in_no_answer(jobs: JobsClient) -> None:
    password = f"pw-{uuid.uuid4()}"
    body = {"method": "demo.secret", "params": {"username": "ann", "password": password}}
    job_id = accepted(jobs.request("POST", "/jobs", body, headers=STORE))
    wait_until(lambda: jobs.request("GET", f"/_api/job/{job_id}").status, lambda s: s == 200)
    secret_job = wait_until(lambda: jobs.request("GET", "/jobs?method=demo.secret").body,
                            lambda seen: seen["records"])["records"][0]
    jobs.wait_for(secret_job["id"])

    listed = jobs.request("GET", "/jobs?transient=true&limit=100")
    replay = next(job for job in listed.body["records"] if job["method"] == "core.http_request")
    shown = [listed, jobs.get(replay["id"]), jobs.get(f"{replay['id']}?raw_result=true"),
             jobs.get(secret_job["id"])]
    assert replay["arguments"]["body"] == "********"
    for answer in shown:
        assert answer.status == 200
        assert password not in json.dumps(answer.body)
    assert "authorization" not in {name.lower() for name in replay["arguments"]["headers"]}
    assert password not in json.dumps(fetched(jobs, job_id).body)


def test_the_replay_runs_as_the_caller_who_sent_it(jobs: JobsClient) -> None:
    ann = jobs.as_caller(token_for(user="ann", roles=("USER",)))
    bob = jobs.as_caller(token_for(user="bob", roles=("USER",)))
    mine = ann.submit("demo.echo", {"who": "ann"}).body["id"]
    bob.submit("demo.echo", {"who": "bob"})

    job_id = accepted(ann.request("GET", "/jobs?method=demo.echo", headers=STORE))
    wait_until(lambda: ann.request("GET", f"/_api/job/{job_id}").status, lambda s: s == 200)

    refused = bob.request("PUT", f"/_api/job/{job_id}")
    assert refused.status == 404 and ASYNC_ID not in refused.headers
    answer = ann.request("PUT", f"/_api/job/{job_id}")
    assert answer.status == 200
    assert [job["id"] for job in answer.body["records"]] == [mine]


def test_no_client_can_submit_a_replay_with_roles_it_lacks(jobs: JobsClient) -> None:
    user = jobs.as_caller(token_for(user="mallory", roles=("USER",)))
    forged = {"method": "GET", "resource": "/jobs",
              "caller": {"tenant_id": "default", "user_id": "mallory",
                         "roles": "FULL_ADMIN", "via": "jwt"}}

    direct = user.submit("core.http_request", forged)
    nested = user.submit("demo.fanout", {"count": 1, "method": "core.http_request",
                                         "params": forged})
    declared = user.submit("demo.group", {}, children=[{"method": "core.http_request",
                                                        "params": forged}])

    for answer in (direct, declared):
        assert answer.status == 400 and answer.body["error"]["code"] == "unknown_method"
    parent = user.wait_for(nested.body["id"])
    assert parent["state"] == "FAILED"
    assert "core.http_request" not in {m["name"] for m in
                                       user.request("GET", "/methods").body["methods"]}
    assert user.request("GET", "/jobs?method=core.http_request&transient=true"
                        ).body["records"] == []


def test_an_async_request_costs_a_put_and_a_start_then_the_workers_two_writes(
        jobs: JobsClient) -> None:
    jobs.wait_for(jobs.submit("demo.echo", {}).body["id"])  # a block of numbers is reserved
    clients = services().clients
    calls = CallRecorder(clients.dynamodb, clients.stepfunctions, clients.s3)

    job_id = accepted(jobs.request("GET", "/_api/version", headers=STORE))
    accepting = calls.in_main_thread()
    wait_until(lambda: jobs.request("GET", f"/_api/job/{job_id}").status, lambda s: s == 200)

    assert accepting == ["PutItem", "StartExecution"]
    record_id = next(params["Item"]["id"]["S"] for name, params in calls.calls
                     if name == "PutItem")
    # only this job's worker: an execution an earlier test left may still call
    replay = [name for name, params in calls.by_worker_of(record_id)
              if params.get("TableName", "").endswith("-jobs")]
    assert replay == ["UpdateItem", "UpdateItem"]  # running, then its response kept
