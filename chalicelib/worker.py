"""The worker: what the state machine's Lambda tasks run.

A leaf job costs the worker three writes at most on the success path:
claim (WAITING -> RUNNING, returning the record), coalesced progress, and
finish (RUNNING -> terminal, with the outcome and the last progress).
"""

from __future__ import annotations

import logging
from typing import Any

from chalicelib import outcomes
from chalicelib.clock import Clock, iso
from chalicelib.context import JobAborted, JobContext
from chalicelib.errors import TransitionRejected
from chalicelib.models import Job, Outcome, Progress
from chalicelib.progress import ProgressReporter
from chalicelib.registry import JobMethod, MethodRegistry
from chalicelib.states import JobState
from chalicelib.store import JobStore

log = logging.getLogger("jobapi.worker")


class Worker:
    def __init__(
        self, store: JobStore, methods: MethodRegistry, clock: Clock, progress_interval: float
    ) -> None:
        self._store = store
        self._methods = methods
        self._clock = clock
        self._progress_interval = progress_interval

    def handle(self, event: dict[str, Any]) -> dict[str, Any]:
        action = event.get("action", "run")
        job_id, tenant_id = event["job_id"], event["tenant_id"]
        if action == "crashed":
            return self.record_crash(job_id, tenant_id, event.get("failure") or {})
        return self.run(job_id, tenant_id)

    def run(self, job_id: str, tenant_id: str) -> dict[str, Any]:
        try:
            job = self._store.claim(job_id, tenant_id, self._now())
        except TransitionRejected as exc:
            # Aborted before it started, or a duplicate invocation: run nothing.
            return {"job_id": job_id, "state": exc.actual_state, "ran": False}
        outcome = self._execute(job)
        return {"job_id": job_id, "state": self._finish(job, outcome), "ran": True}

    def record_crash(self, job_id: str, tenant_id: str, failure: dict[str, Any]) -> dict[str, Any]:
        job = self._store.get(job_id)
        if job is None or job.state.is_terminal:
            return {"job_id": job_id, "state": job.state.value if job else None}
        if job.state is JobState.WAITING:
            # FAILED is only reachable from RUNNING; a crash before the claim
            # passes through it.
            try:
                job = self._store.claim(job_id, tenant_id, self._now())
            except TransitionRejected as exc:
                return {"job_id": job_id, "state": exc.actual_state}
        return {"job_id": job_id, "state": self._finish(job, outcomes.crashed(failure))}

    def _execute(self, job: Job) -> Outcome:
        reporter = ProgressReporter(
            lambda progress: self._store.report_progress(job.id, progress, self._now()),
            self._clock,
            self._progress_interval,
        )
        context = JobContext(job, reporter, log.getChild(job.method))
        try:
            method = self._methods.get(job.method)
            outcome = self._call(method, job, context)
        except Exception as exc:  # the method is gone from this deployment
            outcome = outcomes.failure(exc)
        return _with_progress(outcome, reporter)

    def _call(self, method: JobMethod, job: Job, context: JobContext) -> Outcome:
        try:
            params = method.parse_params(job.arguments)
            return outcomes.success(method.handler(context, params))
        except JobAborted as exc:
            return outcomes.aborted(str(exc))
        except Exception as exc:
            log.info("job %s (%s) failed: %s", job.id, job.method, type(exc).__name__)
            return outcomes.failure(exc)

    def _finish(self, job: Job, outcome: Outcome) -> str:
        try:
            return self._store.finish(job, outcome, self._now()).state.value
        except TransitionRejected as exc:
            # A cancel (or the sweeper) finished the job first; its state stands.
            return exc.actual_state or "missing"

    def _now(self) -> str:
        return iso(self._clock())


def _with_progress(outcome: Outcome, reporter: ProgressReporter) -> Outcome:
    """Fold the last progress into the finishing write: it always lands, for free."""
    pending = reporter.close()
    latest = reporter.latest
    if outcome.state is JobState.SUCCESS:
        return outcome.model_copy(
            update={"progress": Progress(percent=100, description=latest.description,
                                         extra=latest.extra)}
        )
    return outcome.model_copy(update={"progress": pending}) if pending else outcome
