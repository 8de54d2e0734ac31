"""NetApp's state and status of a job, from its view (pure: no AWS)."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.faces.netapp.job_record import record, state, status_detail, task


def view(state_: str, **extra: Any) -> dict[str, Any]:
    return {"id": "j-1", "method": "demo.echo", "state": state_, "time_created": "t0",
            "time_updated": "t1", "progress": {}, "arguments": {}, **extra}


@pytest.mark.parametrize(("given", "expected"), [
    (view("WAITING"), "NORMAL"),
    (view("RUNNING"), "NORMAL"),
    (view("SUCCESS"), "NORMAL"),
    (view("FAILED"), "ERROR"),
    (view("ABORTED"), "ERROR"),  # a long-poll loop ends on NORMAL, ERROR or PARTIAL_FAILURES
    (view("SUCCESS", outcome="PARTIAL_FAILURES"), "PARTIAL_FAILURES"),
    (view("SUCCESS", children_summary={"total": 3, "FAILED": 1}), "PARTIAL_FAILURES"),
    (view("RUNNING", children_summary={"total": 3, "ABORTED": 1}), "WARNING"),
    (view("FAILED", children_summary={"total": 3, "FAILED": 3}), "ERROR"),
])
def test_each_job_has_the_netapp_state_of_its_outcome(given: dict[str, Any],
                                                      expected: str) -> None:
    assert state(given) == expected


def test_the_status_detail_says_what_it_does_or_how_it_ended() -> None:
    assert status_detail(view("WAITING")) == "Waiting to run."
    assert status_detail(view("RUNNING", progress={"percent": 50, "description": "half"})) \
        == "50%: half"
    assert status_detail(view("SUCCESS", children_summary={"total": 4, "FAILED": 1})) == \
        "Completed with partial failures: 1 of 4 tasks failed."
    assert status_detail(view("ABORTED")) == "Aborted."


def test_a_job_without_resources_has_empty_object_fields_and_its_method_as_summary() -> None:
    shown = record(view("WAITING", error=None, user_id=None), [])

    assert (shown["object_id"], shown["object_type"], shown["object_name"]) == ("", "", "")
    assert shown["job_summary"] == "demo.echo" and shown["user_id"] == ""
    assert shown["status"] == "pending" and shown["job_tasks"] == []


def test_a_task_is_its_childs_view_with_its_arguments_as_request_payload() -> None:
    child = view("FAILED", parent_id="p-1", method="demo.secret", error="refused",
                 arguments={"username": "ann", "password": "********"},
                 resources=[{"type": "drive", "id": "d-1", "name": None}])

    assert task(child) == {
        "id": "j-1", "job_id": "p-1", "action": "demo.secret", "driver": "demo",
        "object_id": "d-1", "object_type": "drive", "resource_type": "drive",
        "status": "failed", "status_detail": "Failed.", "last_error": "refused",
        "user_id": "", "request_payload": {"username": "ann", "password": "********"}}
