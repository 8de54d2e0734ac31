"""Jobs anchored to the resources they act on (issue 20, item 1): named at
submit, by a spawn, or by the handler through its context; a resource's jobs
listed through the by_tenant_resource index (a Query, never a Scan), with
the usual options and paging; demo.drive_clone and demo.server_clone."""

from __future__ import annotations

import urllib.parse
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib import keys
from chalicelib.wiring import services
from tests.helpers import CallRecorder, JobsClient, token_for


def drive(name: str = "") -> str:
    return name or str(uuid.uuid4())


def listed(jobs: JobsClient, query: str) -> dict[str, Any]:
    answer = jobs.request("GET", f"/jobs?{query}")
    assert answer.status == 200, answer.body
    return dict(answer.body)


def test_a_submit_names_its_resources_and_the_first_anchors_it(jobs: JobsClient) -> None:
    source, target = drive(), drive()
    resources = [{"type": "drive", "id": source, "name": "db disk", "action": "clone"},
                 {"type": "drive", "id": target}]

    job = jobs.submit("demo.echo", {}, resources=resources).body

    assert job["resources"] == [resources[0], {**resources[1], "name": None, "action": None}]
    assert job["resource"] == f"drive:{source}"
    assert jobs.wait_for(job["id"])["resources"] == job["resources"]


def test_a_resources_jobs_are_one_query_of_its_index(jobs: JobsClient) -> None:
    mine, other = drive(), drive()
    ids = [jobs.submit("demo.echo", {"i": i}, resources=[{"type": "drive", "id": mine}]
                       ).body["id"] for i in range(3)]
    jobs.submit("demo.echo", {}, resources=[{"type": "drive", "id": other}])
    jobs.submit("demo.echo", {})
    calls = CallRecorder(services().clients.dynamodb, api_only=True)

    page = listed(jobs, f"resource=drive:{mine}")

    assert [job["id"] for job in page["records"]] == list(reversed(ids))
    queries = [params for name, params in calls.calls if name == "Query"]
    assert [params["IndexName"] for params in queries] == [keys.BY_TENANT_RESOURCE]
    assert "Scan" not in calls.names()


def test_a_resource_listing_pages_and_combines_with_other_filters(jobs: JobsClient) -> None:
    anchor = [{"type": "volume", "id": drive()}]
    for i in range(7):
        jobs.submit("demo.echo" if i % 2 else "demo.fail", {}, resources=anchor)
    key = f"resource=volume:{anchor[0]['id']}"

    first = listed(jobs, f"{key}&limit=3")
    rest = listed(jobs, f"{key}&limit=3&next_token={first['next_token']}")
    echoes = listed(jobs, f"{key}&method=demo.echo")
    counted = listed(jobs, f"{key}&count=true")

    assert first["returned_records"] == 3 and rest["returned_records"] == 3
    assert not {job["id"] for job in first["records"]} & {job["id"] for job in rest["records"]}
    assert echoes["returned_records"] == 3
    assert counted == {"count": 7}


def test_another_tenants_or_users_jobs_on_the_same_resource_are_not_listed(
        jobs: JobsClient) -> None:
    shared = [{"type": "drive", "id": drive()}]
    ann = jobs.as_caller(token_for("acme", "ann", ("USER",)))
    bob = jobs.as_caller(token_for("acme", "bob", ("USER",)))
    olga = jobs.as_caller(token_for("globex", "olga", ("TENANT_ADMIN",)))
    anns = ann.submit("demo.echo", {}, resources=shared).body["id"]
    bob.submit("demo.echo", {}, resources=shared)
    olga.submit("demo.echo", {}, resources=shared)

    seen = listed(ann, f"resource=drive:{shared[0]['id']}")

    assert [job["id"] for job in seen["records"]] == [anns]


@pytest.mark.parametrize(("resources", "field"), [
    ([{"type": "Drive", "id": "x"}], "resources.0.type"),
    ([{"type": "drive", "id": "a/b"}], "resources.0.id"),
    ([{"type": "drive", "id": "a#b"}], "resources.0.id"),
    ([{"type": "drive"}], "resources.0.id"),
    ([{"type": "drive", "id": "x", "extra": 1}], "resources.0.<unknown field>"),
    ([{"type": "drive", "id": str(i)} for i in range(21)], "resources"),
    ("drive:x", "resources"),
])
def test_a_bad_resource_is_a_400_naming_it_and_makes_no_job(
        jobs: JobsClient, resources: Any, field: str) -> None:
    answer = jobs.submit("demo.echo", {}, resources=resources)

    assert answer.status == 400, answer.body
    assert field in {problem["field"] for problem in answer.body["error"]["details"]}, \
        answer.body
    assert listed(jobs, "transient=true")["records"] == []


@pytest.mark.parametrize("query", ["resource=drive", "resource=drive:", "resource=Drive:x",
                                   "resource=drive:a%2Fb"])
def test_a_bad_resource_filter_is_a_400(jobs: JobsClient, query: str) -> None:
    answer = jobs.request("GET", f"/jobs?{query}")

    assert answer.status == 400 and "resource" in answer.body["error"]["message"]


def test_a_drive_clone_names_its_drive_and_its_clone_from_its_handler(
        jobs: JobsClient) -> None:
    source = drive()

    job = jobs.wait_for(jobs.submit("demo.drive_clone", {"drive": source, "seconds": 0.2}
                                    ).body["id"])

    clone = job["result"]["uuid"]
    assert job["state"] == "SUCCESS" and job["progress"]["percent"] == 100
    assert [(r["type"], r["id"], r["action"]) for r in job["resources"]] == \
        [("drive", source, "clone"), ("drive", clone, "create")]
    assert [j["id"] for j in listed(jobs, f"resource=drive:{source}")["records"]] == [job["id"]]


def test_a_server_clone_clones_its_drives_as_sub_jobs_anchored_to_each(
        jobs: JobsClient) -> None:
    server, drives = drive(), [drive(), drive()]

    parent = jobs.wait_for(jobs.submit("demo.server_clone", {
        "server": server, "drives": drives, "seconds": 0.2, "fail_drives": [drives[1]],
    }).body["id"])

    children = listed(jobs, f"parent_id={parent['id']}&transient=true")["records"]
    by_drive = {child["resource"]: child for child in children}
    assert parent["state"] == "SUCCESS" and parent["outcome"] == "PARTIAL_FAILURES"
    assert parent["resource"] == f"server:{server}"
    assert set(by_drive) == {f"drive:{d}" for d in drives}
    assert by_drive[f"drive:{drives[0]}"]["state"] == "SUCCESS"
    assert by_drive[f"drive:{drives[1]}"]["state"] == "FAILED"
    assert [j["id"] for j in listed(jobs, f"resource=server:{server}")["records"]] == \
        [parent["id"]]
    assert [j["id"] for j in listed(jobs, f"resource=drive:{drives[0]}")["records"]] == \
        [by_drive[f"drive:{drives[0]}"]["id"]]


def test_a_handlers_bad_resource_fails_its_job_with_the_field_named(jobs: JobsClient) -> None:
    bad = [{"type": "drive", "id": "a/b"}]

    job = jobs.wait_for(jobs.submit("test.names_resources", {"resources": bad}).body["id"])

    assert job["state"] == "FAILED" and "id:" in job["error"] and job["resources"] == []


def test_a_job_submitted_without_resources_is_anchored_by_its_handler(
        jobs: JobsClient) -> None:
    named = [{"type": "server", "id": drive()}, {"type": "drive", "id": drive()}]
    job = jobs.wait_for(jobs.submit("test.names_resources", {"resources": named}).body["id"])
    again = jobs.wait_for(jobs.submit("test.names_resources", {"resources": named[1:]},
                                      resources=named).body["id"])

    assert job["result"] == 2 and job["resource"] == f"server:{named[0]['id']}"
    assert again["result"] == 2  # named twice, kept once
    assert {j["id"] for j in listed(jobs, f"resource=server:{named[0]['id']}")["records"]} \
        == {job["id"], again["id"]}


resource_text = st.text(max_size=12) | st.sampled_from(["drive", "server", "x:y", "a/b", "é"])
fuzzed_resources = st.lists(st.fixed_dictionaries(
    {"type": resource_text, "id": resource_text},
    optional={"name": st.text(max_size=8) | st.none(), "action": resource_text}), max_size=3)


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(resources=fuzzed_resources, query=resource_text)
def test_fuzzed_resources_and_resource_filters_never_fail_on_our_side(
        jobs: JobsClient, resources: list[dict[str, Any]], query: str) -> None:
    submitted = jobs.submit("demo.echo", {}, resources=resources)
    listed_by = jobs.request("GET", "/jobs?" + urllib.parse.urlencode({"resource": query}))

    assert submitted.status in (202, 400), submitted.body
    assert listed_by.status in (200, 400), listed_by.body
    for answer in (submitted, listed_by):
        if answer.status == 400:
            assert answer.body["error"]["message"]
