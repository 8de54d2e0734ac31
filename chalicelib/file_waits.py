"""Parking a job's execution on a task token until its file moves (the
WaitUpload and WaitDownload states): the token goes into the record, unless
the wait is over already, in which case the execution is resumed at once.
Whoever ends the wait later (the S3 event, the download's claim, a cancel)
finds the token there."""

from __future__ import annotations

from chalicelib.errors import TransitionRejected
from chalicelib.store import JobStore
from chalicelib.worker_contract import TaskResult
from chalicelib.workflow import Workflow


def park_for_file(store: JobStore, workflow: Workflow, job_id: str, token: str,
                  kind: str) -> TaskResult:
    """`kind`: "upload" or "download"."""
    try:
        job = store.set_file_wait_token(job_id, token, kind)
    except TransitionRejected as exc:
        workflow.resume(token)
        return TaskResult(job_id, exc.actual_state, waiting=False)
    return TaskResult(job_id, job.state.value, waiting=True)
