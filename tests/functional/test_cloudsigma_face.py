"""The CloudSigma 2.0 face (issue 20, items 3 to 5) over the Chalice test
client: /api/2.0/jobs/..., compared field by field (keys, types, formats)
with CloudSigma's documented examples (REFERENCE_* below, copied from the
seed's dumps: response_jobs_drive_clone, response_jobs_server_clone,
response_jobs_list, response_jobs_schema), its filters and limits, its
credentials, and its error list for every refusal."""

from __future__ import annotations

import base64
import json
import re
import uuid
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.faces.cloudsigma import job_window
from tests.helpers import Answer, JobsClient, token_for, wait_until

API = "/api/2.0"
# CloudSigma's documented job (response_jobs_drive_clone) and list envelope
# (response_jobs_list): the shapes every answer is held to.
REFERENCE_JOB: dict[str, Any] = {
    "children": [],
    "created": "2014-06-05T09:45:08.003595+00:00",
    "data": {"progress": 100},
    "last_modified": "2014-06-05T09:45:12.941760+00:00",
    "operation": "drive_clone",
    "resource_uri": "/api/2.0/jobs/6c809fa7-f797-4d0f-bbfb-b1b9ba737dda/",
    "resources": ["/api/2.0/drives/842e4c44-75a2-4d81-b812-9bc63d3be11e/",
                  "/api/2.0/drives/963e3f37-572a-4e40-b70f-06f093ea7eb5/"],
    "state": "success",
    "uuid": "6c809fa7-f797-4d0f-bbfb-b1b9ba737dda",
}
REFERENCE_META = {"limit": 20, "offset": 0, "total_count": 500}
REFERENCE_SCHEMA_KEYS = {"allowed_detail_http_methods", "allowed_list_http_methods",
                         "default_format", "default_limit", "fields", "filtering", "ordering"}
REFERENCE_FIELD_KEYS = {"blank", "default", "help_text", "nullable", "readonly", "type",
                        "unique"}
REFERENCE_FIELDS = {"children": "related", "created": "datetime", "data": "object",
                    "last_modified": "datetime", "operation": "string",
                    "resource_uri": "string", "resources": "list", "state": "string",
                    "uuid": "string"}
TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00")
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
STATES = {"started", "success", "error", "cancelled"}


def basic(password: str, user: str = "anyone@example.com") -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@pytest.fixture
def api_key(jobs: JobsClient) -> str:
    answer = jobs.request("POST", "/api_keys", {"name": "cloudsigma"})
    assert answer.status == 201, answer.body
    return str(answer.body["key"])


class _BasicClient:
    """The face as CloudSigma's library calls it: Basic, an API key as the password."""

    def __init__(self, jobs: JobsClient, key: str) -> None:
        self._jobs = jobs.as_caller(None)
        self._auth = basic(key)

    def get(self, path: str, headers: dict[str, str] | None = None) -> Answer:
        return self._jobs.request("GET", path, headers={**self._auth, **(headers or {})})


@pytest.fixture
def cloudsigma(jobs: JobsClient, api_key: str) -> _BasicClient:
    return _BasicClient(jobs, api_key)


def finished(jobs: JobsClient, method: str, params: dict[str, Any]) -> dict[str, Any]:
    job = jobs.submit(method, params).body
    return jobs.wait_for(job["id"], timeout=60)


def assert_job_shape(job: dict[str, Any]) -> None:
    """Field by field against REFERENCE_JOB: the same keys, types and formats."""
    assert set(job) == set(REFERENCE_JOB), job
    for key, example in REFERENCE_JOB.items():
        assert isinstance(job[key], type(example)), (key, job[key])
    assert re.fullmatch(UUID, job["uuid"]), job["uuid"]
    assert job["resource_uri"] == f"/api/2.0/jobs/{job['uuid']}/"
    assert TIME.fullmatch(job["created"]) and TIME.fullmatch(job["last_modified"]), job
    assert job["last_modified"] >= job["created"]
    assert job["state"] in STATES
    assert isinstance(job["data"]["progress"], int) and 0 <= job["data"]["progress"] <= 100
    for uri in job["resources"]:
        assert re.fullmatch(r"/api/2\.0/[a-z_]+/[A-Za-z0-9_.:@-]+/", uri), uri
    for child in job["children"]:
        assert_job_shape(child)


def assert_error(answer: Answer, status: int, error_type: str,
                 point: str | None = None) -> dict[str, Any]:
    assert answer.status == status, answer.body
    assert answer.headers["content-type"].startswith("application/json")
    assert isinstance(answer.body, list) and len(answer.body) == 1, answer.body
    (error,) = answer.body
    assert set(error) == {"error_type", "error_message", "error_point"}, error
    assert error["error_type"] == error_type, error
    assert isinstance(error["error_message"], str) and error["error_message"]
    assert error["error_point"] == point, error
    return dict(error)


def test_a_drive_clone_is_shown_as_cloudsigma_documents_it(
        jobs: JobsClient, cloudsigma: _BasicClient) -> None:
    drive = str(uuid.uuid4())
    job = finished(jobs, "demo.drive_clone", {"drive": drive, "seconds": 0})

    answer = cloudsigma.get(f"{API}/jobs/{job['id']}/")

    assert answer.status == 200, answer.body
    assert answer.headers["content-type"] == "application/json; charset=utf-8"
    shown = answer.body
    assert_job_shape(shown)
    clone = job["result"]["uuid"]
    assert shown["uuid"] == job["id"]
    assert shown["operation"] == "drive_clone"
    assert shown["state"] == "success"
    assert shown["data"]["progress"] == 100
    assert shown["children"] == []
    assert shown["resources"] == [f"/api/2.0/drives/{drive}/", f"/api/2.0/drives/{clone}/"]
    # Our milliseconds, as CloudSigma's microseconds.
    assert shown["created"] == job["time_created"][:23] + "000+00:00"
    assert shown["last_modified"] == job["time_updated"][:23] + "000+00:00"


def test_a_server_clone_nests_its_drive_clones(jobs: JobsClient,
                                               cloudsigma: _BasicClient) -> None:
    server, drive = str(uuid.uuid4()), str(uuid.uuid4())
    job = finished(jobs, "demo.server_clone",
                   {"server": server, "drives": [drive], "seconds": 0})

    shown = cloudsigma.get(f"{API}/jobs/{job['id']}/").body

    assert_job_shape(shown)
    assert shown["operation"] == "server_clone" and shown["state"] == "success"
    assert shown["resources"][0] == f"/api/2.0/servers/{server}/"
    assert all(uri.startswith("/api/2.0/servers/") for uri in shown["resources"])
    (child,) = shown["children"]
    assert child["operation"] == "drive_clone" and child["state"] == "success"
    assert child["data"]["progress"] == 100 and child["children"] == []
    assert child["resources"][0] == f"/api/2.0/drives/{drive}/"
    # The child is a job too: read by its own uuid, it is the same.
    assert cloudsigma.get(child["resource_uri"]).body == child


def test_a_failed_job_is_error_and_reaches_100(jobs: JobsClient,
                                               cloudsigma: _BasicClient) -> None:
    job = finished(jobs, "demo.drive_clone", {"drive": "d1", "seconds": 0, "fail": True})
    assert job["state"] == "FAILED"

    shown = cloudsigma.get(f"{API}/jobs/{job['id']}/").body

    assert_job_shape(shown)
    assert shown["state"] == "error"
    assert shown["data"]["progress"] == 100
    assert "halfway" in shown["data"]["error"]


def test_a_running_job_is_started_below_100_and_a_cancelled_one_reaches_100(
        jobs: JobsClient, cloudsigma: _BasicClient) -> None:
    job = jobs.submit("demo.sleep", {"seconds": 60, "steps": 600}).body
    jobs.wait_for(job["id"], lambda seen: seen["state"] == "RUNNING")
    shown = cloudsigma.get(f"{API}/jobs/{job['id']}/").body
    assert shown["state"] == "started" and shown["data"]["progress"] < 100
    assert jobs.request("POST", f"/jobs/{job['id']}/cancel", {}).status < 300
    jobs.wait_for(job["id"])

    shown = cloudsigma.get(f"{API}/jobs/{job['id']}/").body
    assert shown["state"] == "cancelled" and shown["data"]["progress"] == 100


def test_the_list_has_cloudsigmas_envelope(jobs: JobsClient, cloudsigma: _BasicClient) -> None:
    ids = [finished(jobs, "demo.drive_clone", {"drive": f"d{n}", "seconds": 0})["id"]
           for n in range(3)]

    answer = cloudsigma.get(f"{API}/jobs/")

    assert answer.status == 200
    assert set(answer.body) == {"meta", "objects"}
    meta = answer.body["meta"]
    assert set(meta) == set(REFERENCE_META)
    assert all(isinstance(meta[key], int) for key in REFERENCE_META)
    assert meta == {"limit": 20, "offset": 0, "total_count": 3}
    for job in answer.body["objects"]:
        assert_job_shape(job)
    # Newest created first.
    assert [job["uuid"] for job in answer.body["objects"]] == ids[::-1]


def test_the_paths_without_a_slash_answer_the_same(jobs: JobsClient,
                                                   cloudsigma: _BasicClient) -> None:
    job = finished(jobs, "demo.echo", {})
    for path in ("/jobs", f"/jobs/{job['id']}", "/jobs/schema"):
        with_slash = cloudsigma.get(f"{API}{path}/")
        without = cloudsigma.get(f"{API}{path}")
        assert with_slash.status == without.status == 200, path
        if path != "/jobs/schema":  # the schema's datetime defaults are "now"
            assert with_slash.body == without.body, path
    assert cloudsigma.get(f"{API}/jobs/detail/").body == cloudsigma.get(f"{API}/jobs/").body


def test_filters_take_a_comma_for_or(jobs: JobsClient, cloudsigma: _BasicClient) -> None:
    ok = finished(jobs, "demo.drive_clone", {"drive": "d1", "seconds": 0})["id"]
    failed = finished(jobs, "demo.fail", {"message": "no"})["id"]
    echo = finished(jobs, "demo.echo", {})["id"]

    def listed(**query: str) -> list[str]:
        answer = cloudsigma.get(f"{API}/jobs/?{urlencode(query)}")
        assert answer.status == 200, (query, answer.body)
        assert answer.body["meta"]["total_count"] == len(answer.body["objects"])
        return sorted(job["uuid"] for job in answer.body["objects"])

    assert listed(state="success") == sorted([ok, echo])
    assert listed(state="error") == [failed]
    assert listed(state="success,error") == sorted([ok, echo, failed])
    assert listed(state="started,cancelled") == []
    assert listed(operation="drive_clone") == [ok]
    assert listed(operation="drive_clone,demo.echo") == sorted([ok, echo])
    assert listed(operation="demo.drive_clone") == []  # shown as drive_clone only
    assert listed(operation="drive_clone,demo.fail", state="error") == [failed]
    # Repeated, a parameter's values are ORed too.
    answer = cloudsigma.get(f"{API}/jobs/?state=error&state=success")
    assert len(answer.body["objects"]) == 3


def test_limit_and_offset_window_the_list(jobs: JobsClient, cloudsigma: _BasicClient) -> None:
    ids = [finished(jobs, "demo.echo", {"n": n})["id"] for n in range(5)][::-1]

    page = cloudsigma.get(f"{API}/jobs/?limit=2&offset=1").body
    assert page["meta"] == {"limit": 2, "offset": 1, "total_count": 5}
    assert [job["uuid"] for job in page["objects"]] == ids[1:3]
    everything = cloudsigma.get(f"{API}/jobs/?limit=0").body
    assert everything["meta"] == {"limit": 0, "offset": 0, "total_count": 5}
    assert [job["uuid"] for job in everything["objects"]] == ids
    tail = cloudsigma.get(f"{API}/jobs/?limit=0&offset=3").body
    assert [job["uuid"] for job in tail["objects"]] == ids[3:]
    past = cloudsigma.get(f"{API}/jobs/?offset=9").body
    assert past == {"meta": {"limit": 20, "offset": 9, "total_count": 5}, "objects": []}


def test_limit_0_is_served_in_bounded_reads_and_refused_past_its_cap(
        jobs: JobsClient, cloudsigma: _BasicClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(job_window, "MAX_ALL", 3)
    monkeypatch.setattr(job_window, "PAGE", 2)  # several reads for one answer
    ids = [finished(jobs, "demo.echo", {"n": n})["id"] for n in range(4)][::-1]

    refused = cloudsigma.get(f"{API}/jobs/?limit=0")
    error = assert_error(refused, 400, "validation", "limit")
    assert "at most 3 jobs" in error["error_message"]
    narrowed = cloudsigma.get(f"{API}/jobs/?limit=0&offset=1").body
    assert [job["uuid"] for job in narrowed["objects"]] == ids[1:]
    assert narrowed["meta"]["total_count"] == 4
    paged = cloudsigma.get(f"{API}/jobs/?limit=3").body
    assert [job["uuid"] for job in paged["objects"]] == ids[:3]
    assert paged["meta"]["total_count"] == 4


@pytest.mark.parametrize(("query", "point", "words"), [
    ("colour=red", "colour", "unknown parameter 'colour'"),
    ("order_by=created", "order_by", "unknown parameter"),
    ("limit=-1", "limit", "from 0 (all) to 1000"),
    ("limit=1001", "limit", "from 0 (all) to 1000"),
    ("limit=ten", "limit", "integer"),
    ("limit=1&limit=2", "limit", "given 2 times"),
    ("offset=1001", "offset", "from 0 to 1000"),
    ("offset=1.5", "offset", "integer"),
    ("state=done", "state", "started, success, error, cancelled"),
    ("state=", "state", "empty"),
    ("state=,,", "state", "empty"),
    ("operation=a%20b", "operation", "operation"),
])
def test_bad_parameters_are_400s_that_say_what_was_wrong(
        cloudsigma: _BasicClient, query: str, point: str, words: str) -> None:
    error = assert_error(cloudsigma.get(f"{API}/jobs/?{query}"), 400, "validation", point)
    assert words in error["error_message"], error


def test_an_unknown_or_unseen_job_is_notexist(jobs: JobsClient,
                                              cloudsigma: _BasicClient) -> None:
    job = finished(jobs, "demo.echo", {})
    outsider = jobs.as_caller(token_for("globex", "olga"))
    for path in (f"/jobs/{uuid.uuid4()}/", "/jobs/not-a-uuid/", "/jobs/%20/",
                 f"/jobs/{'x' * 3000}/"):
        assert_error(cloudsigma.get(f"{API}{path}"), 404, "notexist")
    assert_error(outsider.request("GET", f"{API}/jobs/{job['id']}/"), 404, "notexist")
    assert job["id"] not in json.dumps(outsider.request("GET", f"{API}/jobs/?limit=0").body)
    # An upper-case uuid names the same job.
    assert cloudsigma.get(f"{API}/jobs/{job['id'].upper()}/").body["uuid"] == job["id"]


def test_the_schema_is_cloudsigmas(cloudsigma: _BasicClient) -> None:
    answer = cloudsigma.get(f"{API}/jobs/schema/")

    assert answer.status == 200
    schema = answer.body
    assert set(schema) == REFERENCE_SCHEMA_KEYS
    assert schema["allowed_detail_http_methods"] == schema["allowed_list_http_methods"] == \
        ["get"]
    assert schema["default_format"] == "application/json" and schema["default_limit"] == 20
    assert {name: field["type"] for name, field in schema["fields"].items()} == \
        REFERENCE_FIELDS
    for name, field in schema["fields"].items():
        assert set(field) == REFERENCE_FIELD_KEYS, name
        if field["type"] == "datetime":
            assert TIME.fullmatch(field["default"]), field
    assert schema["fields"]["state"]["default"] == "started"
    assert schema["fields"]["uuid"]["unique"] is True
    assert schema["filtering"] == {"state": 1, "operation": 1}
    assert isinstance(schema["ordering"], list)


def test_the_credentials_cloudsigma_clients_send(jobs: JobsClient, api_key: str) -> None:
    anonymous = jobs.as_caller(None)
    path = f"{API}/jobs/"

    # Basic with an API key as the password (any user name), a JWT, a bearer API key.
    for headers in (basic(api_key), basic(api_key, user=""),
                    {"Authorization": f"Bearer {token_for()}"},
                    {"Authorization": f"Bearer {api_key}"}):
        assert anonymous.request("GET", path, headers=headers).status == 200, headers
    # Refused, all with CloudSigma's 401 `permission` list.
    for headers in ({}, basic("not-a-key"), basic(api_key[:-1] + "x"),
                    {"Authorization": "Basic !!!"},
                    {"Authorization": f"Bearer {token_for(seconds=-3600)}"},
                    {"Authorization": "Digest whatever"}):
        for route in (path, f"{API}/jobs/schema/", f"{API}/jobs/{uuid.uuid4()}/"):
            assert_error(anonymous.request("GET", route, headers=headers), 401, "permission")


def test_the_jobs_api_is_read_only(cloudsigma: _BasicClient, jobs: JobsClient,
                                   api_key: str) -> None:
    anonymous = jobs.as_caller(None)
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        for path in ("/jobs/", "/jobs/schema/", f"/jobs/{uuid.uuid4()}/"):
            answer = anonymous.request(method, f"{API}{path}", raw="<not json>",
                                       headers={**basic(api_key), "Content-Type": "text/xml"})
            assert_error(answer, 405, "validation")
            assert answer.headers["allow"] == "GET"
    assert_error(anonymous.request("DELETE", f"{API}/jobs/"), 401, "permission")


def test_children_are_bounded_and_a_cut_says_so(
        jobs: JobsClient, cloudsigma: _BasicClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.faces.cloudsigma import sub_jobs

    drives = [f"d{n}" for n in range(3)]
    job = finished(jobs, "demo.server_clone", {"server": "s1", "drives": drives, "seconds": 0})
    monkeypatch.setattr(sub_jobs, "PER_PARENT", 2)

    shown = cloudsigma.get(f"{API}/jobs/{job['id']}/").body

    assert len(shown["children"]) == 2
    assert shown["data"]["children_total"] == 3 and shown["data"]["children_truncated"]
    monkeypatch.setattr(sub_jobs, "PER_PARENT", 100)
    whole = cloudsigma.get(f"{API}/jobs/{job['id']}/").body
    assert len(whole["children"]) == 3 and "children_truncated" not in whole["data"]


def test_a_list_nests_children_under_their_parent(jobs: JobsClient,
                                                  cloudsigma: _BasicClient) -> None:
    job = finished(jobs, "demo.server_clone", {"server": "s1", "drives": ["d1"], "seconds": 0})

    listed = wait_until(lambda: cloudsigma.get(f"{API}/jobs/?limit=0").body,
                        lambda body: len(body["objects"]) == 2)

    by_id = {shown["uuid"]: shown for shown in listed["objects"]}
    parent = by_id[job["id"]]
    (child,) = parent["children"]
    assert by_id[child["uuid"]] == child  # a sub-job is listed too


FUZZ = settings(max_examples=60, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])
QUERY_NAMES = ["limit", "offset", "state", "operation", "format", "order_by", "uuid",
               "resource"]
queries = st.lists(st.tuples(st.sampled_from(QUERY_NAMES) | st.text(min_size=1, max_size=6),
                             st.text(max_size=30) | st.integers().map(str)), max_size=4)
paths = st.sampled_from(["/jobs", "/jobs/", "/jobs/schema/", "/jobs/detail/"]) | \
    (st.text(max_size=40) | st.uuids().map(str)).map(lambda text: f"/jobs/{text}/")
AUTHS = st.sampled_from(["key", "jwt", "none", "garbage"])


def quoted(path: str) -> str:
    from urllib.parse import quote

    return quote(path, safe="/")


@FUZZ
@given(path=paths, query=queries, method=st.sampled_from(["GET", "GET", "POST", "DELETE"]),
       auth=AUTHS, content_type=st.sampled_from(["application/json", "text/plain", "x/y"]))
def test_fuzzed_requests_are_never_a_500_and_every_error_is_cloudsigmas(
        jobs: JobsClient, api_key: str, path: str, query: list[tuple[str, str]], method: str,
        auth: str, content_type: str) -> None:
    headers = {"key": basic(api_key), "jwt": {"Authorization": f"Bearer {token_for()}"},
               "none": {}, "garbage": {"Authorization": "Basic ###"}}[auth]
    target = f"{API}{quoted(path)}" + (f"?{urlencode(query)}" if query else "")
    if "//" in target or quoted(path).rstrip("/").count("/") > 2:
        return  # another route's path (or none): not the face's
    answer = jobs.as_caller(None).request(method, target, raw="{",
                                          headers={**headers, "Content-Type": content_type})

    assert answer.status < 500, (target, answer.body)
    if answer.status >= 400:
        assert isinstance(answer.body, list) and answer.body, (target, answer.body)
        for error in answer.body:
            assert set(error) == {"error_type", "error_message", "error_point"}
            assert error["error_type"] in {"validation", "notexist", "permission"}
    else:
        assert isinstance(answer.body, dict)
