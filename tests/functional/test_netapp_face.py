"""The NetApp Service Engine face (issue 20, item 2) over the Chalice test
client: GET /v2.1/jobs and GET /v2.1/jobs/{id} in NetApp's status/result
envelope, compared field by field with the seed's; job_tasks from a job's
children, their request_payload redacted; paging, sorting, long polling;
Basic and Bearer credentials checked by the face itself; every error, and
every fuzzed request, in the envelope and below 500."""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from chalice.test import Client
from hypothesis import given
from hypothesis import strategies as st

from tests.functional.test_fuzzed_requests import FUZZ, json_values
from tests.helpers import Answer, JobsClient, token_for
from tests.methods_for_tests import gate

CANARY = "netapp-canary-pa55w0rd-1c9e"
ENVELOPE = {"status", "result"}
STATUS = {"user_message", "verbose_message", "code"}
LIST_RESULT = {"returned_records", "total_records", "sort_by", "order_by", "offset", "limit",
               "records"}
RECORD = {"id", "action", "job_summary", "created", "updated", "object_id", "object_type",
          "object_name", "status", "status_detail", "last_error", "user_id", "state",
          "job_tasks"}
TASK = {"id", "job_id", "action", "driver", "object_id", "object_type", "resource_type",
        "status", "status_detail", "last_error", "user_id", "request_payload"}
NETAPP_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
STATES = {"NORMAL", "WARNING", "PARTIAL_FAILURES", "ERROR"}
STATUSES = {"pending", "running", "successful", "failed", "aborted"}


def ok(answer: Answer, code: int = 200) -> dict[str, Any]:
    """The envelope of a success: its status block, and its result."""
    assert answer.status == code, answer.body
    assert set(answer.body) == ENVELOPE and set(answer.body["status"]) == STATUS
    assert answer.body["status"]["code"] == code
    return dict(answer.body["result"])


def refused(answer: Answer, code: int, *words: str) -> str:
    """An error in the envelope: its code, and a message that says what was wrong."""
    assert answer.status == code, answer.body
    assert set(answer.body) == ENVELOPE and set(answer.body["status"]) == STATUS, answer.body
    status = answer.body["status"]
    assert status["code"] == code and status["user_message"], status
    message = str(status["user_message"])
    for word in words:
        assert word in message, (word, message)
    return message


def one_record(answer: Answer, code: int = 200) -> dict[str, Any]:
    result = ok(answer, code)
    assert set(result) == {"total_records", "records"} and result["total_records"] == 1
    (record,) = result["records"]
    check_record(record)
    return dict(record)


def check_record(record: dict[str, Any]) -> None:
    assert set(record) == RECORD, sorted(set(record) ^ RECORD)
    assert NETAPP_TIME.match(record["created"]) and NETAPP_TIME.match(record["updated"])
    assert record["status"] in STATUSES and record["state"] in STATES
    for name in RECORD - {"job_tasks"}:
        assert isinstance(record[name], str), (name, record[name])
    for task in record["job_tasks"]:
        assert set(task) == TASK, sorted(set(task) ^ TASK)
        assert task["job_id"] == record["id"] and isinstance(task["request_payload"], dict)


def submitted(jobs: JobsClient, body: dict[str, Any]) -> dict[str, Any]:
    answer = jobs.request("POST", "/v2.1/jobs", body)
    record = one_record(answer, 202)
    assert answer.body["status"]["user_message"] == "Okay. Accepted for processing."
    assert answer.headers["location"] == f"/v2.1/jobs/{record['id']}"
    return record


def finished(jobs: JobsClient, job_id: str) -> dict[str, Any]:
    jobs.wait_for(job_id)
    return one_record(jobs.request("GET", f"/v2.1/jobs/{job_id}"))


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.fixture
def held(jobs: JobsClient) -> Iterator[dict[str, Any]]:
    """A running job that holds until its gate opens (or the test ends)."""
    name = str(uuid.uuid4())
    job = jobs.submit("test.blocking", {"gate": name}).body
    jobs.wait_for(job["id"], lambda seen: seen["state"] == "RUNNING")
    yield {**job, "gate": name}
    gate(name).set()


def test_a_post_answers_202_with_the_new_job_anchored_to_its_object(jobs: JobsClient) -> None:
    record = submitted(jobs, {"action": "demo.echo", "request_payload": {"a": 1},
                              "job_summary": "echo one", "object_type": "volume",
                              "object_id": "vol-1", "object_name": "data"})

    assert record["action"] == "demo.echo" and record["job_summary"] == "echo one"
    assert (record["object_id"], record["object_type"], record["object_name"]) == \
        ("vol-1", "volume", "data")
    assert record["status"] == "pending" and record["state"] == "NORMAL"
    native = jobs.get(record["id"]).body
    assert native["arguments"] == {"a": 1} and native["resource"] == "volume:vol-1"
    assert native["description"] == "echo one"


def test_a_finished_job_by_id_and_by_number_is_the_seeds_record(jobs: JobsClient) -> None:
    job = jobs.submit("demo.echo", {"x": 1}, resources=[
        {"type": "drive", "id": "d-7", "name": "boot"}]).body

    record = finished(jobs, job["id"])
    by_number = one_record(jobs.request("GET", f"/v2.1/jobs/{job['number']}"))

    native = jobs.get(job["id"]).body
    assert record == by_number
    assert record == {
        "id": job["id"], "action": "demo.echo", "job_summary": "demo.echo",
        "created": native["time_created"], "updated": native["time_updated"],
        "object_id": "d-7", "object_type": "drive", "object_name": "boot",
        "status": "successful", "status_detail": "Completed successfully.",
        "last_error": "", "user_id": "tester", "state": "NORMAL", "job_tasks": []}


def test_a_failed_job_is_an_error_with_its_last_error(jobs: JobsClient) -> None:
    job = jobs.submit("demo.fail", {"message": "the disk is gone"}).body

    record = finished(jobs, job["id"])

    assert (record["status"], record["state"]) == ("failed", "ERROR")
    assert "the disk is gone" in record["last_error"]
    assert record["object_id"] == "" and record["object_name"] == ""


def test_a_server_clone_with_a_failed_drive_shows_partial_failures_and_its_tasks(
    jobs: JobsClient,
) -> None:
    body = {"action": "demo.server_clone", "object_type": "server", "object_id": "srv-1",
            "request_payload": {"server": "srv-1", "drives": ["drv-a", "drv-b"],
                                "fail_drives": ["drv-b"], "seconds": 0}}
    job = submitted(jobs, body)

    record = finished(jobs, job["id"])

    assert (record["status"], record["state"]) == ("successful", "PARTIAL_FAILURES")
    assert "1 of 2 tasks failed" in record["status_detail"]
    assert (record["object_type"], record["object_id"]) == ("server", "srv-1")
    tasks = record["job_tasks"]
    assert [task["object_id"] for task in tasks] == ["drv-a", "drv-b"]
    assert [task["status"] for task in tasks] == ["successful", "failed"]
    assert {task["object_type"] for task in tasks} == {"drive"} == \
        {task["resource_type"] for task in tasks}
    assert {(task["action"], task["driver"]) for task in tasks} == \
        {("demo.drive_clone", "demo")}
    assert tasks[0]["last_error"] == "" and "drv-b" in tasks[1]["last_error"]
    assert tasks[1]["request_payload"]["drive"] == "drv-b"
    assert tasks[1]["request_payload"]["fail"] is True
    native_children = jobs.request("GET", f"/jobs/{job['id']}/children").body["records"]
    assert {task["id"] for task in tasks} == {child["id"] for child in native_children}


def test_a_tasks_secret_arguments_never_reach_its_request_payload(jobs: JobsClient) -> None:
    tenant = JobsClient.as_caller(jobs, token_for("netapp-secrets", "ann"))
    job = tenant.submit("demo.echo", {}, children=[
        {"method": "demo.secret", "params": {"username": "ann", "password": CANARY}}]).body
    tenant.wait_for(job["id"])

    by_id = tenant.request("GET", f"/v2.1/jobs/{job['id']}")
    listed = tenant.request("GET", "/v2.1/jobs")

    (task,) = one_record(by_id)["job_tasks"]
    assert task["request_payload"]["username"] == "ann"
    assert task["request_payload"]["password"] == "********"
    assert listed.status == 200 and job["id"] in json.dumps(listed.body)
    for answer in (by_id, listed):
        assert CANARY not in json.dumps(answer.body)


def test_a_list_pages_by_offset_and_limit_and_sorts_both_ways(jobs: JobsClient) -> None:
    tenant = jobs.as_caller(token_for("netapp-paging", "pat"))
    made = [tenant.submit("demo.echo", {"n": n}).body["id"] for n in range(5)]
    for job_id in made:
        tenant.wait_for(job_id)

    first = ok(tenant.request("GET", "/v2.1/jobs?limit=2"))
    second = ok(tenant.request("GET", "/v2.1/jobs?limit=2&offset=2"))
    last = ok(tenant.request("GET", "/v2.1/jobs?limit=2&offset=4"))
    oldest = ok(tenant.request("GET", "/v2.1/jobs?limit=3&order_by=asc&sort_by=created"))

    newest_first = list(reversed(made))
    assert [r["id"] for r in first["records"] + second["records"] + last["records"]] == \
        newest_first
    assert {key: first[key] for key in LIST_RESULT - {"records"}} == {
        "returned_records": 2, "total_records": 5, "sort_by": "created", "order_by": "desc",
        "offset": 0, "limit": 2}
    assert (last["returned_records"], last["total_records"]) == (1, 5)
    assert [r["id"] for r in oldest["records"]] == made[:3] and oldest["order_by"] == "asc"
    for page in (first, second, last, oldest):
        assert set(page) == LIST_RESULT
        for record in page["records"]:
            check_record(record)


def test_the_list_answer_says_how_many_it_returned(jobs: JobsClient) -> None:
    tenant = jobs.as_caller(token_for("netapp-words", "pat"))
    assert tenant.request("GET", "/v2.1/jobs").body["status"]["user_message"] == \
        "Okay. Returned 0 records."
    tenant.wait_for(tenant.submit("demo.echo", {}).body["id"])

    answer = tenant.request("GET", "/v2.1/jobs")

    assert answer.body["status"] == {"user_message": "Okay. Returned 1 record.",
                                     "verbose_message": "", "code": 200}


def test_a_list_sorts_by_action_and_pages_a_jobs_tasks_by_parent_id(jobs: JobsClient) -> None:
    tenant = jobs.as_caller(token_for("netapp-sorting", "pat"))
    parent = tenant.submit("demo.fanout", {"count": 3}).body["id"]
    tenant.wait_for(parent)

    by_action = ok(tenant.request("GET", "/v2.1/jobs?sort_by=action&order_by=asc"))
    tasks = ok(tenant.request("GET", f"/v2.1/jobs?parent_id={parent}&limit=2&order_by=asc"))

    actions = [record["action"] for record in by_action["records"]]
    assert actions == sorted(actions) and by_action["sort_by"] == "action"
    assert tasks["total_records"] == 3 and tasks["returned_records"] == 2
    shown = one_record(tenant.request("GET", f"/v2.1/jobs/{parent}"))["job_tasks"]
    assert {r["id"] for r in tasks["records"]} <= {task["id"] for task in shown}


def test_a_tenant_id_names_the_tenant_listed(jobs: JobsClient) -> None:
    tenant = jobs.as_caller(token_for("netapp-tenant", "pat"))
    tenant.wait_for(tenant.submit("demo.echo", {}).body["id"])

    own = ok(tenant.request("GET", "/v2.1/jobs?tenant_id=netapp-tenant"))
    other = ok(tenant.request("GET", "/v2.1/jobs?tenant_id=someone-else"))

    assert own["total_records"] == 1
    assert (other["total_records"], other["records"]) == (0, [])


@pytest.mark.parametrize(("query", "words"), [
    ("limit=0", ("limit",)), ("limit=101", ("limit", "100")), ("limit=ten", ("limit",)),
    ("offset=-1", ("offset",)), ("offset=1001", ("offset",)), ("offset=x", ("offset",)),
    ("sort_by=size", ("sort_by", "created")), ("order_by=up", ("order_by", "asc")),
    ("filter=state", ("unknown query parameter", "'filter'", "tenant_id")),
    ("wait=5", ("unknown query parameter", "'wait'")),
    ("%00bad=1", ("unknown query parameter", "(an unreadable name)")),
])
def test_bad_list_parameters_are_400s_that_say_what_was_wrong(
    jobs: JobsClient, query: str, words: tuple[str, ...],
) -> None:
    refused(jobs.request("GET", f"/v2.1/jobs?{query}"), 400, *words)


def test_unknown_jobs_are_404s_in_the_envelope(jobs: JobsClient) -> None:
    for job_id in (str(uuid.uuid4()), "123456789", "not-a-job", "9" * 30):
        refused(jobs.request("GET", f"/v2.1/jobs/{quote(job_id)}"), 404)


def test_bad_job_queries_and_bodies_are_refused_in_the_envelope(jobs: JobsClient) -> None:
    job_id = jobs.submit("demo.echo", {}).body["id"]

    refused(jobs.request("GET", f"/v2.1/jobs/{job_id}?wait=26"), 400, "wait")
    refused(jobs.request("GET", f"/v2.1/jobs/{job_id}?limit=1"), 400, "'limit'")
    refused(jobs.request("POST", "/v2.1/jobs", {"request_payload": {}}), 400, "action")
    refused(jobs.request("POST", "/v2.1/jobs", {"action": "no.such"}), 400)
    refused(jobs.request("POST", "/v2.1/jobs", {"action": "demo.echo", "params": {}}), 400)
    refused(jobs.request("POST", "/v2.1/jobs", {"action": "demo.echo", "object_id": "v-1"}),
            400, "object_type")
    refused(jobs.request("POST", "/v2.1/jobs", {"action": "demo.echo", "object_type": "Vol",
                                                "object_id": "v-1"}), 400, "object_type")
    refused(jobs.request("POST", "/v2.1/jobs", raw="[1, 2]"), 400, "JSON object")
    refused(jobs.request("POST", "/v2.1/jobs", raw="{"), 400, "JSON")
    refused(jobs.request("POST", "/v2.1/jobs", raw=""), 400, "empty")
    big = {"action": "demo.echo", "request_payload": {"x": "y" * 300_000}}
    refused(jobs.request("POST", "/v2.1/jobs", big), 413)
    refused(jobs.request("POST", "/v2.1/jobs", {"action": "demo.secret", "request_payload": {
        "username": "ann"}}), 400, "password")


def test_a_long_poll_answers_when_the_job_moves(jobs: JobsClient, held: dict[str, Any]
                                                 ) -> None:
    running = one_record(jobs.request("GET", f"/v2.1/jobs/{held['id']}"))
    threading.Timer(0.5, gate(held["gate"]).set).start()

    started = time.monotonic()
    moved = one_record(jobs.request("GET", f"/v2.1/jobs/{held['id']}?wait=20"))

    assert running["status"] == "running" and running["state"] == "NORMAL"
    assert moved["status"] == "successful" and moved["state"] == "NORMAL"
    assert 0.3 < time.monotonic() - started < 15


def test_a_long_poll_of_a_job_that_does_not_move_ends_after_wait(
    jobs: JobsClient, held: dict[str, Any],
) -> None:
    started = time.monotonic()
    record = one_record(jobs.request("GET", f"/v2.1/jobs/{held['number']}?wait=1"))

    assert record["status"] == "running"
    assert 0.9 < time.monotonic() - started < 10


def test_basic_with_an_api_key_and_bearer_jwts_and_keys_are_admitted(jobs: JobsClient) -> None:
    key = jobs.request("POST", "/api_keys", {"name": "netapp"}).body["key"]
    job_id = jobs.submit("demo.echo", {}).body["id"]

    for authorization in (basic("anyone", key), f"Bearer {key}",
                          f"Bearer {token_for()}"):
        headers = {"Authorization": authorization}
        assert one_record(jobs.request("GET", f"/v2.1/jobs/{job_id}", headers=headers))
        assert ok(jobs.request("GET", "/v2.1/jobs", headers=headers))["records"]


@pytest.mark.parametrize("authorization", [
    None, "Bearer not-a-jwt", f"Bearer {token_for(secret='another-stage-secret-' * 3)}",
    f"Bearer {token_for(seconds=-60)}", "Basic bm90LWEta2V5", "Basic %%%", "Digest abc",
    basic("ann", "a" * 10 + "-" + "x" * 64),
])
def test_a_missing_or_refused_credential_is_a_401_in_the_envelope(
    jobs: JobsClient, authorization: str | None,
) -> None:
    caller = jobs.as_caller(None)
    headers = {"Authorization": authorization} if authorization else None
    for method, path in (("GET", "/v2.1/jobs"), ("GET", f"/v2.1/jobs/{uuid.uuid4()}"),
                         ("POST", "/v2.1/jobs")):
        answer = caller.request(method, path, {"action": "demo.echo"}, headers=headers)
        refused(answer, 401, "Authorization")


def test_another_tenant_finds_no_job_and_lists_none(jobs: JobsClient) -> None:
    job = jobs.submit("demo.echo", {}).body
    outsider = jobs.as_caller(token_for("netapp-outsider", "olga"))

    refused(outsider.request("GET", f"/v2.1/jobs/{job['id']}"), 404)
    refused(outsider.request("GET", f"/v2.1/jobs/{job['number']}"), 404)
    listed = ok(outsider.request("GET", "/v2.1/jobs?tenant_id=default"))
    assert listed["records"] == [] and job["id"] not in json.dumps(listed)


# -- fuzzed requests ------------------------------------------------------------------------

BODY_FIELDS = ["action", "request_payload", "job_summary", "object_type", "object_id",
               "object_name", "params"]
ACTIONS = st.sampled_from(["demo.echo", "demo.fail", "nope", "", "demo.", "demo.secret"])
bodies = st.one_of(
    st.fixed_dictionaries({"action": ACTIONS}, optional={
        name: json_values for name in BODY_FIELDS if name != "action"}),
    st.dictionaries(st.sampled_from(BODY_FIELDS) | st.text(max_size=8), json_values,
                    max_size=5),
    json_values,
)
QUERY_NAMES = ["tenant_id", "offset", "limit", "sort_by", "order_by", "parent_id", "wait"]
queries = st.dictionaries(
    st.sampled_from(QUERY_NAMES) | st.text(min_size=1, max_size=6),
    st.sampled_from(["0", "1", "-1", "100", "101", "1e3", "asc", "DESC", "created", "", "x"])
    | st.text(max_size=30) | st.integers().map(str),
    max_size=4)
job_ids = st.text(min_size=1, max_size=40) | st.uuids().map(str) | \
    st.integers(min_value=0).map(str)


def in_envelope(answer: Any, what: str) -> None:
    assert answer.status_code < 500, (what, answer.status_code, answer.body)
    body = json.loads(answer.body)
    assert set(body) == ENVELOPE and set(body["status"]) == STATUS, (what, body)
    assert body["status"]["code"] == answer.status_code, (what, body)
    if answer.status_code >= 400:
        assert body["status"]["user_message"], (what, body)


@pytest.fixture
def send(client: Any) -> Any:
    auth = {"Authorization": f"Bearer {token_for()}", "Content-Type": "application/json"}

    def send(method: str, path: str, body: bytes = b"") -> None:
        answer = client.http.request(method, path, body=body, headers=auth)
        in_envelope(answer, f"{method} {path} {body[:200]!r}")

    return send


@FUZZ
@given(query=queries)
def test_fuzzed_list_queries_never_fail_on_our_side(send: Any, query: dict[str, str]) -> None:
    send("GET", f"/v2.1/jobs?{urlencode(query)}" if query else "/v2.1/jobs")


@FUZZ
@given(job_id=job_ids, query=queries)
def test_fuzzed_job_reads_never_fail_on_our_side(send: Any, job_id: str,
                                                 query: dict[str, str]) -> None:
    query.pop("wait", None)  # a valid wait would only make the test slow
    path = f"/v2.1/jobs/{quote(job_id, safe='')}"
    send("GET", f"{path}?{urlencode(query)}" if query else path)


@FUZZ
@given(body=bodies)
def test_fuzzed_submits_never_fail_on_our_side(send: Any, body: Any) -> None:
    send("POST", "/v2.1/jobs", json.dumps(body).encode())


@FUZZ
@given(raw=st.binary(max_size=200))
def test_fuzzed_raw_bodies_never_fail_on_our_side(send: Any, raw: bytes) -> None:
    send("POST", "/v2.1/jobs", raw)


@pytest.mark.parametrize("content_type", ["application/xml", "image/png", "text/plain"])
def test_any_content_type_is_read_as_json_and_refused_in_the_envelope(
        client: Client, content_type: str) -> None:
    headers = {"Authorization": f"Bearer {token_for()}", "Content-Type": content_type}

    good = client.http.post("/v2.1/jobs", headers=headers, body=b'{"action": "demo.echo"}')
    bad = client.http.post("/v2.1/jobs", headers=headers, body=b"<job/>")

    assert good.status_code == 202
    body = json.loads(bad.body)
    assert bad.status_code == 400 and body["status"]["code"] == 400 and body["result"] == {}
