"""The CloudSigma face's parsing and rendering, without AWS: times,
operations, states, resource URIs, the list's parameters and errors."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.caller import Caller, Role
from chalicelib.errors import BadRequest, JobApiError, NotFound, ServiceUnavailable
from chalicelib.faces.cloudsigma.envelope import CloudSigmaError, error_response
from chalicelib.faces.cloudsigma.job_params import job_id_of, list_params
from chalicelib.faces.cloudsigma.job_schema import jobs_schema
from chalicelib.faces.cloudsigma.job_shape import (
    cloudsigma_job,
    cloudsigma_time,
    method_of,
    operation_of,
    resource_uri,
)
from chalicelib.models import Job, Progress, ResourceRef
from chalicelib.states import JobState
from chalicelib.views import Viewer

VIEWER = Viewer(Caller(tenant_id="t", user_id="u", roles=frozenset({Role.TENANT_ADMIN}),
                       via="jwt"))


class FakeRequest:
    def __init__(self, query: dict[str, Any] | None) -> None:
        self.query_params = query


def job(**fields: Any) -> Job:
    base: dict[str, Any] = {"id": "6c809fa7-f797-4d0f-bbfb-b1b9ba737dda",
                            "method": "demo.drive_clone", "tenant_id": "t",
                            "time_created": "2014-06-05T09:45:08.003Z",
                            "time_updated": "2014-06-05T09:45:12.941Z"}
    return Job(**{**base, **fields})


def test_times_are_cloudsigmas_microseconds_with_an_offset() -> None:
    assert cloudsigma_time("2014-06-05T09:45:08.003Z") == "2014-06-05T09:45:08.003000+00:00"
    assert cloudsigma_time("9999-12-31T23:59:59.999Z") == "9999-12-31T23:59:59.999000+00:00"


def test_operations_map_the_demo_methods_and_keep_any_other_name() -> None:
    assert operation_of("demo.drive_clone") == "drive_clone"
    assert operation_of("demo.server_clone") == "server_clone"
    assert operation_of("demo.echo") == "demo.echo"
    assert method_of("drive_clone") == "demo.drive_clone"
    assert method_of("demo.echo") == "demo.echo"
    assert method_of("demo.drive_clone") is None  # shown as drive_clone, never by this name


def test_resource_uris_name_cloudsigmas_collections() -> None:
    assert resource_uri("drive", "d1") == "/api/2.0/drives/d1/"
    assert resource_uri("server", "s1") == "/api/2.0/servers/s1/"
    assert resource_uri("volume", "v1") == "/api/2.0/volumes/v1/"


@pytest.mark.parametrize(("state", "shown", "progress"), [
    (JobState.WAITING, "started", 40), (JobState.RUNNING, "started", 40),
    (JobState.SUCCESS, "success", 100), (JobState.FAILED, "error", 100),
    (JobState.ABORTED, "cancelled", 100)])
def test_states_and_progress(state: JobState, shown: str, progress: int) -> None:
    rendered = cloudsigma_job(job(state=state, progress=Progress(percent=40)), VIEWER)

    assert rendered["state"] == shown and rendered["data"]["progress"] == progress


def test_a_job_renders_every_reference_field() -> None:
    rendered = cloudsigma_job(job(state=JobState.SUCCESS, resources=[
        ResourceRef(type="drive", id="a"), ResourceRef(type="drive", id="b"),
        ResourceRef(type="drive", id="a", action="clone")]), VIEWER)

    assert rendered == {
        "children": [], "created": "2014-06-05T09:45:08.003000+00:00",
        "data": {"progress": 100}, "last_modified": "2014-06-05T09:45:12.941000+00:00",
        "operation": "drive_clone",
        "resource_uri": "/api/2.0/jobs/6c809fa7-f797-4d0f-bbfb-b1b9ba737dda/",
        "resources": ["/api/2.0/drives/a/", "/api/2.0/drives/b/"], "state": "success",
        "uuid": "6c809fa7-f797-4d0f-bbfb-b1b9ba737dda"}


def test_a_uuid_names_a_job_in_any_case_and_nothing_else_does() -> None:
    assert job_id_of("6C809FA7-F797-4D0F-BBFB-B1B9BA737DDA") == \
        "6c809fa7-f797-4d0f-bbfb-b1b9ba737dda"
    for text in ("", "schema", "6c809fa7f7974d0fbbfbb1b9ba737dda", "٦c809fa7-f797-4d0f-bbfb-"
                 "b1b9ba737dda", "{6c809fa7-f797-4d0f-bbfb-b1b9ba737dda}"):
        assert job_id_of(text) is None, text


def test_list_parameters() -> None:
    params = list_params(FakeRequest({"limit": "0", "offset": "5",
                                      "state": "started, success", "operation": "drive_clone"}))

    assert (params.limit, params.offset) == (0, 5)
    assert params.where is not None
    assert {(c.field, c.op, tuple(c.value)) for c in params.where.conditions()} == {
        ("state", "in", ("RUNNING", "SUCCESS", "WAITING")),
        ("method", "in", ("demo.drive_clone",))}
    assert list_params(FakeRequest(None)).limit == 20
    assert list_params(FakeRequest({"operation": "demo.drive_clone"})).where is None


def test_errors_are_cloudsigmas_list() -> None:
    def body(error: JobApiError) -> Any:
        return json.loads(error_response(error).body)

    assert body(NotFound("no such job")) == [
        {"error_type": "notexist", "error_message": "no such job", "error_point": None}]
    assert body(BadRequest("x", details={"path": "limit"}))[0]["error_point"] == "limit"
    assert body(CloudSigmaError(401, "permission", "no"))[0]["error_type"] == "permission"
    unavailable = error_response(ServiceUnavailable("busy", retry_after=3))
    assert unavailable.status_code == 503 and unavailable.headers["Retry-After"] == "3"
    assert json.loads(unavailable.body)[0]["error_type"] == "backend"
    assert body(JobApiError("internal"))[0]["error_type"] == "backend"


def test_the_schema_says_what_the_face_does() -> None:
    schema = jobs_schema()

    assert schema["filtering"] == {"state": 1, "operation": 1}
    assert schema["default_limit"] == 20
    assert schema["fields"]["created"]["default"].endswith("+00:00")
