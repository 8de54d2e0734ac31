"""How a job looks to a client: the public fields, with secrets redacted.

Every answer that shows a job renders it with `job_view`, which alone decides
whether its result may be shown unredacted (`raw_result=true`): only to a
FULL_ADMIN (TrueNAS), and each time with an audit line.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from chalicelib import tree
from chalicelib.caller import Caller
from chalicelib.models import PUBLIC_FIELDS, Job, JobView
from chalicelib.redaction import Redactor
from chalicelib.states import JobState

# Every field that may hold text from the client or the handler; the others
# are the service's own (ids, states, times, counters).
SCRUBBED_FIELDS = ("arguments", "description", "progress", "result_encoding_error", "error",
                   "exception", "exc_info", "logs_excerpt")
FILE_TEXT_FIELDS = ("filename", "content_type")  # in `download` and `upload`

audit = logging.getLogger("jobapi.audit")


@dataclass(frozen=True)
class Viewer:
    """Whom a job is shown to, and whether they asked for its result
    unredacted (`?raw_result=true`). Asking is not enough: see `sees_raw_result`."""

    caller: Caller
    raw_result: bool = False

    def sees_raw_result(self, job: Job) -> bool:
        """Honoured for a FULL_ADMIN only; each job so shown is an audit line:
        who read which job's result unredacted (never the value)."""
        if not self.raw_result or not self.caller.is_full_admin:
            return False
        audit.info("raw_result: user %s of tenant %s read job %s (tenant %s) unredacted",
                   self.caller.user_id, self.caller.tenant_id, job.id, job.tenant_id)
        return True


def job_view(job: Job, viewer: Viewer | None = None) -> dict[str, Any]:
    """The job as `viewer` may see it (no viewer: redacted, as anyone may)."""
    if job.has_children:
        job = _with_children_rolled_up(job)
    view = job.model_dump(mode="json", include=set(PUBLIC_FIELDS))
    redactor = Redactor(job.secret_paths, job.arguments)
    view["arguments"] = redactor.mask_arguments(view["arguments"])
    for field in SCRUBBED_FIELDS:
        view[field] = redactor.scrub(view[field])
    for field in ("download", "upload"):
        if view.get(field):
            view[field] |= {name: redactor.scrub(view[field].get(name))
                            for name in FILE_TEXT_FIELDS if name in view[field]}
    if job.state is not JobState.SUCCESS:
        view["result"] = None  # published with SUCCESS (a download job stages it earlier)
    elif viewer is None or not viewer.sees_raw_result(job):
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
