"""How a job looks to a client: the public fields, with secrets redacted."""

from __future__ import annotations

from typing import Any

from chalicelib import tree
from chalicelib.models import PUBLIC_FIELDS, Job, JobView
from chalicelib.redaction import Redactor
from chalicelib.states import JobState

SCRUBBED_FIELDS = ("description", "progress", "error", "exception", "exc_info", "logs_excerpt")


def job_view(job: Job, raw_result: bool = False) -> dict[str, Any]:
    if job.has_children:
        job = _with_children_rolled_up(job)
    view = job.model_dump(mode="json", include=set(PUBLIC_FIELDS))
    redactor = Redactor(job.secret_paths, job.arguments)
    view["arguments"] = redactor.mask_arguments(view["arguments"])
    for field in SCRUBBED_FIELDS:
        view[field] = redactor.scrub(view[field])
    if job.state is not JobState.SUCCESS:
        view["result"] = None  # published with SUCCESS (a download job stages it earlier)
    elif not raw_result:
        view["result"] = redactor.scrub(view["result"])
    return view


def job_schema() -> dict[str, Any]:
    schema = JobView.model_json_schema()
    schema["$id"] = "/jobs/schema"
    schema["description"] = (
        "A job of the job API. Field names follow TrueNAS core.get_jobs; "
        "states: WAITING, RUNNING, SUCCESS, FAILED, ABORTED."
    )
    return schema


def _with_children_rolled_up(job: Job) -> Job:
    """A parent shows its children's summary, and while they run, their
    progress: both come from its own counters, so showing them costs nothing."""
    update: dict[str, Any] = {"children_summary": tree.summary(job)}
    if tree.waiting_for_children(job):
        update["progress"] = tree.rolled_up(job)
    return job.model_copy(update=update)
