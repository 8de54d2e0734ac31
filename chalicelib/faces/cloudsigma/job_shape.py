"""A job as CloudSigma shows one (its response_jobs_* dumps):

    uuid           the job's id
    operation      CloudSigma's name for what it does: OPERATIONS maps our
                   demo methods to CloudSigma's operations (demo.drive_clone
                   -> drive_clone); any other method is its own name
    state          STATES: started (WAITING, RUNNING), success; and for the
                   outcomes CloudSigma does not document, error (FAILED) and
                   cancelled (ABORTED)
    data           {"progress": 0-100}: 100 once the job has finished, failed
                   or not (clients wait for 100 and ignore the state); also
                   "message" (the progress description) and "error" when
                   there is one, redacted as every face shows them
    created, last_modified   time_created, time_updated as CloudSigma writes
                   them: ISO 8601 with microseconds and +00:00
    resource_uri   /api/2.0/jobs/<uuid>/
    resources      the job's resources as URIs: /api/2.0/<collection>/<id>/,
                   COLLECTIONS naming the collection of a type (drive ->
                   drives), any other type its name plus "s"
    children       filled in by sub_jobs
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from chalicelib.models import Job
from chalicelib.states import JobState
from chalicelib.views import Viewer, job_view

API = "/api/2.0"
OPERATIONS = {"demo.drive_clone": "drive_clone", "demo.server_clone": "server_clone"}
METHODS = {operation: method for method, operation in OPERATIONS.items()}
STATES: dict[JobState, str] = {JobState.WAITING: "started", JobState.RUNNING: "started",
                               JobState.SUCCESS: "success", JobState.FAILED: "error",
                               JobState.ABORTED: "cancelled"}
OUR_STATES: dict[str, tuple[JobState, ...]] = {
    name: tuple(state for state, shown in STATES.items() if shown == name)
    for name in dict.fromkeys(STATES.values())}
COLLECTIONS = {"drive": "drives", "server": "servers", "ip": "ips", "vlan": "vlans",
               "snapshot": "snapshots", "libdrive": "libdrives"}


def operation_of(method: str) -> str:
    return OPERATIONS.get(method, method)


def method_of(operation: str) -> str | None:
    """The method an operation names; None when it names none (a mapped
    method's own name: demo.drive_clone is shown as drive_clone only)."""
    if operation in OPERATIONS:
        return None
    return METHODS.get(operation, operation)


def job_uri(job_id: str) -> str:
    return f"{API}/jobs/{job_id}/"


def resource_uri(kind: str, resource_id: str) -> str:
    return f"{API}/{COLLECTIONS.get(kind, kind + 's')}/{resource_id}/"


def cloudsigma_time(stamp: str) -> str:
    """Our ISO stamp (milliseconds, Z) as CloudSigma's (microseconds, +00:00)."""
    moment = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    return moment.isoformat(timespec="microseconds")


def cloudsigma_job(job: Job, viewer: Viewer) -> dict[str, Any]:
    """The job without its children (`children` is empty here)."""
    view = job_view(job, viewer)
    uris = [resource_uri(ref.type, ref.id) for ref in job.resources]
    return {
        "children": [],
        "created": cloudsigma_time(job.time_created),
        "data": _data(job, view),
        "last_modified": cloudsigma_time(job.time_updated),
        "operation": operation_of(job.method),
        "resource_uri": job_uri(job.id),
        "resources": list(dict.fromkeys(uris)),
        "state": STATES[job.state],
        "uuid": job.id,
    }


def _data(job: Job, view: dict[str, Any]) -> dict[str, Any]:
    progress = view.get("progress") or {}
    percent = 100 if job.state.is_terminal else int(progress.get("percent") or 0)
    data: dict[str, Any] = {"progress": max(0, min(100, percent))}
    if progress.get("description"):
        data["message"] = progress["description"]
    if view.get("error"):
        data["error"] = view["error"]
    return data
