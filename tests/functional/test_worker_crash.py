"""A worker Lambda that dies is caught by the state machine, and the job ends
FAILED with a reason instead of staying RUNNING forever."""

from __future__ import annotations

from typing import Any

import app as job_app
from local import seam
from local.provision import Provisioned
from tests.helpers import JobsClient


class LambdaRuntimeDied(Exception):
    pass


def crash_once_running(event: dict[str, Any], context: Any) -> Any:
    """The Lambda marks the job RUNNING, then dies (as an OOM or a timeout would)."""
    if event.get("action") == "run":
        from chalicelib.wiring import services

        services().store.mark_running(event["job_id"], event["tenant_id"],
                                      "2026-01-01T00:00:00.000Z")
        raise LambdaRuntimeDied("Runtime exited with error: signal: killed")
    return job_app.worker(event, context)


def crash_before_running(event: dict[str, Any], context: Any) -> Any:
    if event.get("action") == "run":
        raise LambdaRuntimeDied("Task timed out after 900.00 seconds")
    return job_app.worker(event, context)


def test_a_worker_that_dies_mid_job_leaves_the_job_failed_with_the_reason(
    jobs: JobsClient, aws: Provisioned
) -> None:
    seam.install({aws.worker_function: crash_once_running})

    job = jobs.wait_for(jobs.submit("demo.echo", {}).body["id"])

    assert job["state"] == "FAILED"
    assert "worker stopped before finishing" in job["error"]
    assert "signal: killed" in job["exception"]
    assert job["exc_info"]["type"] == "LambdaRuntimeDied"


def test_a_worker_that_dies_before_marking_the_job_running_still_fails_it(
    jobs: JobsClient, aws: Provisioned
) -> None:
    seam.install({aws.worker_function: crash_before_running})

    job = jobs.wait_for(jobs.submit("demo.echo", {}).body["id"])

    assert job["state"] == "FAILED"
    assert "Task timed out" in job["exception"]
