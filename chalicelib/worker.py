"""The worker: what the state machine's Lambda tasks run.

A leaf job costs the worker two writes on the success path, plus at most one
progress write per interval after the first: claim (WAITING -> RUNNING,
returning the record, so no read) and finish (RUNNING -> terminal, with the
outcome, the last progress and the TTL).
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Callable
from typing import Any

from chalicelib import outcomes
from chalicelib.blobs import Blobs, result_key
from chalicelib.clock import Clock, iso
from chalicelib.context import JobAborted, JobContext
from chalicelib.errors import TransitionRejected
from chalicelib.models import Job, Outcome, Progress
from chalicelib.progress import ProgressReporter
from chalicelib.redaction import Redactor
from chalicelib.registry import JobMethod, MethodRegistry
from chalicelib.service import retention_deadline
from chalicelib.settings import Settings
from chalicelib.states import JobState
from chalicelib.store import JobStore

log = logging.getLogger("jobapi.worker")


class Worker:
    def __init__(
        self,
        store: JobStore,
        blobs: Blobs,
        methods: MethodRegistry,
        settings: Settings,
        clock: Clock,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._store = store
        self._blobs = blobs
        self._methods = methods
        self._settings = settings
        self._clock = clock
        self._sleep = sleep

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
        outcome, context = self._execute(job)
        if context.cancelled:
            # The record already says ABORTED (that is how the handler learnt
            # it): this write replaces the finish, so a cancel costs nothing extra.
            self._release(job.id)
            return {"job_id": job_id, "state": JobState.ABORTED.value, "ran": True}
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

    def _execute(self, job: Job) -> tuple[Outcome, JobContext]:
        redactor = Redactor(job.secret_paths, job.arguments)
        reporter = ProgressReporter(
            lambda progress: self._store.report_progress(
                job.id, redactor.scrub(progress), self._now()),
            time.monotonic,
            self._settings.progress_interval,
        )
        context = JobContext(job, reporter, _job_logger(job, redactor))
        try:
            method = self._methods.get(job.method)
            outcome = self._call_with_retries(method, job, context)
        except Exception as exc:  # the method is gone from this deployment
            outcome = outcomes.failure(exc)
        return _scrubbed(_with_progress(outcome, reporter), redactor), context

    def _call_with_retries(self, method: JobMethod, job: Job, context: JobContext) -> Outcome:
        attempt = 1
        while True:
            try:
                params = method.parse_params(job.arguments)
                return outcomes.success(method.handler(context, params))
            except JobAborted as exc:
                return outcomes.aborted(str(exc))
            except Exception as exc:
                retry = method.retry
                if retry is None or attempt >= retry.attempts or not isinstance(exc, retry.on):
                    return outcomes.failure(exc)
                context.log.warning("attempt %d failed (%s); retrying", attempt,
                                    type(exc).__name__)
                self._sleep(retry.pause_before(attempt))
                attempt += 1

    def _finish(self, job: Job, outcome: Outcome) -> str:
        outcome = self._stored_result(job, outcome)
        outcome = outcome.model_copy(update={"expires_at": retention_deadline(
            job, self._methods, self._settings, self._clock())})
        try:
            return self._store.finish(job, outcome, self._now()).state.value
        except TransitionRejected as exc:
            if exc.actual_state == JobState.ABORTED.value:
                # Cancelled while running: the execution ends now, so nothing
                # is left for the sweeper to stop.
                self._release(job.id)
            return exc.actual_state or "missing"

    def _release(self, job_id: str) -> None:
        with contextlib.suppress(TransitionRejected):
            self._store.release(job_id)

    def _stored_result(self, job: Job, outcome: Outcome) -> Outcome:
        """Keep big results in S3; the record holds only a reference."""
        if outcome.result is None:
            return outcome
        body = json.dumps(outcome.result, separators=(",", ":")).encode()
        if len(body) <= self._settings.inline_result_bytes:
            return outcome
        key = result_key(job.id)
        self._blobs.put_json(key, body)
        return outcome.model_copy(update={"result": None, "result_ref": key})

    def _now(self) -> str:
        return iso(self._clock())


def _with_progress(outcome: Outcome, reporter: ProgressReporter) -> Outcome:
    """Fold the last progress into the finishing write: it always lands, for free."""
    pending = reporter.close()
    latest = reporter.latest
    if outcome.state is JobState.SUCCESS:
        done = Progress(percent=100, description=latest.description, extra=latest.extra)
        return outcome.model_copy(update={"progress": done})
    return outcome.model_copy(update={"progress": pending}) if pending else outcome


def _scrubbed(outcome: Outcome, redactor: Redactor) -> Outcome:
    """Secrets never reach the stored error, traceback or progress. The result
    is kept whole (admins may ask for it raw) and redacted when served."""
    if not redactor.active:
        return outcome
    return outcome.model_copy(update={
        "error": redactor.scrub(outcome.error),
        "exception": redactor.scrub(outcome.exception),
        "exc_info": redactor.scrub(outcome.exc_info),
        "progress": redactor.scrub(outcome.progress),
    })


class JobLogger(logging.LoggerAdapter[logging.Logger]):
    """A handler's logger: tags lines with the job id and masks its secrets."""

    def __init__(self, job: Job, redactor: Redactor) -> None:
        super().__init__(log.getChild(job.method), {"job_id": job.id})
        self._job_id = job.id
        self._redactor = redactor

    def log(self, level: int, msg: object, *args: Any, **kwargs: Any) -> None:
        if not self.isEnabledFor(level):
            return
        text = str(msg) % args if args else str(msg)
        kwargs.setdefault("extra", self.extra)
        self.logger.log(level, "job %s: %s", self._job_id, self._redactor.scrub(text),
                        **kwargs)


def _job_logger(job: Job, redactor: Redactor) -> JobLogger:
    return JobLogger(job, redactor)
