"""A job as a NetApp Service Engine record, and its children as its
`job_tasks`. Every field comes from the job's view (chalicelib.views.job_view:
the redacted one), never from the stored record itself.

    id, action, job_summary     the job's UUID, its method, its description
                                (the method when it has none)
    created, updated            time_created, time_updated (ISO, ms, Z)
    object_id, object_type,     its first resource (the one it acts on); ""
    object_name                 when it names none
    status                      pending, running, successful, failed, aborted
    status_detail, last_error   what it is doing or how it ended; its error
    user_id                     who submitted it ("" for a tenant's own key)
    state                       NORMAL, WARNING (still running, some tasks
                                failed already), PARTIAL_FAILURES (finished,
                                some tasks failed), ERROR (failed or aborted)
    job_tasks                   its children, at most JOB_TASKS_SHOWN, in the
                                order they were declared or spawned

A task: {id, job_id (its parent), action (its method), driver (the family of
job methods that runs it: "demo" for demo.drive_clone), object_id,
object_type, resource_type (its first resource; both are its type),
status, status_detail, last_error, user_id, request_payload (its arguments,
redacted: a secret field is "********", never its value)}.
"""

from __future__ import annotations

from typing import Any

from chalicelib.states import JobState

JOB_TASKS_SHOWN = 20  # more: GET /v2.1/jobs?parent_id=<id> pages through them all
STATUS = {JobState.WAITING: "pending", JobState.RUNNING: "running",
          JobState.SUCCESS: "successful", JobState.FAILED: "failed",
          JobState.ABORTED: "aborted"}
FINISHED = {JobState.SUCCESS: "Completed successfully.", JobState.FAILED: "Failed.",
            JobState.ABORTED: "Aborted."}
PARTIAL_FAILURES = "PARTIAL_FAILURES"


def record(view: dict[str, Any], tasks: list[dict[str, Any]]) -> dict[str, Any]:
    """The record of a job, from its view and its children's views."""
    anchor = _anchor(view)
    return {
        "id": view["id"],
        "action": view["method"],
        "job_summary": view.get("description") or view["method"],
        "created": view["time_created"],
        "updated": view["time_updated"],
        "object_id": anchor.get("id") or "",
        "object_type": anchor.get("type") or "",
        "object_name": anchor.get("name") or "",
        **_how_it_goes(view),
        "state": state(view),
        "job_tasks": [task(child) for child in tasks],
    }


def task(view: dict[str, Any]) -> dict[str, Any]:
    """One of a job's children, as a job task."""
    anchor = _anchor(view)
    return {
        "id": view["id"],
        "job_id": view.get("parent_id") or "",
        "action": view["method"],
        "driver": str(view["method"]).split(".", 1)[0],
        "object_id": anchor.get("id") or "",
        "object_type": anchor.get("type") or "",
        "resource_type": anchor.get("type") or "",
        **_how_it_goes(view),
        "request_payload": view.get("arguments") or {},
    }


def state(view: dict[str, Any]) -> str:
    """NetApp's state. A client's long-poll loop ends on NORMAL, ERROR or
    PARTIAL_FAILURES, so an aborted job is ERROR (its status says aborted)."""
    job_state = JobState(view["state"])
    failed = _failed_tasks(view)
    if job_state in (JobState.FAILED, JobState.ABORTED):
        return "ERROR"
    if job_state is JobState.SUCCESS:
        return PARTIAL_FAILURES if view.get("outcome") == PARTIAL_FAILURES or failed \
            else "NORMAL"
    return "WARNING" if failed else "NORMAL"


def status_detail(view: dict[str, Any]) -> str:
    job_state = JobState(view["state"])
    failed, total = _failed_tasks(view), (view.get("children_summary") or {}).get("total", 0)
    if job_state is JobState.SUCCESS and failed:
        return f"Completed with partial failures: {failed} of {total} tasks failed."
    if job_state in FINISHED:
        return FINISHED[job_state]
    progress = view.get("progress") or {}
    described = progress.get("description") or ("Running." if job_state is JobState.RUNNING
                                                 else "Waiting to run.")
    percent = progress.get("percent")
    return f"{percent}%: {described}" if percent is not None else str(described)


def _how_it_goes(view: dict[str, Any]) -> dict[str, Any]:
    """What a record and a task both say of a job's run."""
    return {"status": STATUS[JobState(view["state"])], "status_detail": status_detail(view),
            "last_error": view.get("error") or "", "user_id": view.get("user_id") or ""}


def _anchor(view: dict[str, Any]) -> dict[str, Any]:
    resources = view.get("resources") or []
    return dict(resources[0]) if resources else {}


def _failed_tasks(view: dict[str, Any]) -> int:
    summary = view.get("children_summary") or {}
    return int(summary.get("FAILED", 0)) + int(summary.get("ABORTED", 0))
