"""Built-in methods the faces need (not for clients to call by name, though
they may): `core.job_wait` mirrors another job's outcome (TrueNAS's
core.job_wait with legacy_jobs true answers the id of such a job).
"""

from __future__ import annotations

import time
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.caller import Caller, Role
from chalicelib.context import JobContext
from chalicelib.registry import job_method

POLL_SECONDS = 1.0
# The worker Lambda stops at 15 minutes: a wait gives up cleanly before.
MOST_SECONDS = 14 * 60


class JobWaitParams(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    job_id: str = Field(min_length=1, max_length=200, description="the job to wait for")


class WaitedJobFailed(Exception):
    """The job waited for did not succeed; its error is this one's."""


@job_method("core.job_wait", params=JobWaitParams, abortable=True, long_running=True)
def job_wait(ctx: JobContext, params: JobWaitParams) -> Any:
    """Waits for another job of its tenant to end: its result is that job's,
    or it fails with that job's error, both as that job shows them (redacted:
    its secrets are not this job's to know). Reads the job once a second;
    gives up after 14 minutes."""
    from chalicelib.views import job_view
    from chalicelib.wiring import services  # the worker's own services

    # The face checked that the caller may see the job; the wait reads it
    # within its own tenant only.
    reader = Caller(ctx.job.tenant_id, ctx.job.user_id, frozenset({Role.TENANT_ADMIN}))
    deadline = time.monotonic() + MOST_SECONDS
    while True:
        ctx.check_cancelled()
        job = services().jobs.get(params.job_id, reader)
        if job.state.is_terminal:
            break
        if time.monotonic() > deadline:
            raise TimeoutError(f"job {job.number} had not ended after {MOST_SECONDS} s")
        ctx.set_progress(None, f"waiting for job {job.number} ({job.state.value})")
        time.sleep(POLL_SECONDS)
    shown = job_view(job)
    if job.state.value != "SUCCESS":
        raise WaitedJobFailed(shown["error"] or f"job {job.number} ended {job.state.value}")
    return shown["result"]
