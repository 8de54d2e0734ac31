"""The worker: what the state machine's Lambda tasks run.

A leaf job costs the worker two writes on the success path, plus at most one
progress write per interval after the first: mark_running (WAITING -> RUNNING,
returning the record, so no read) and finish (RUNNING -> terminal, with the
outcome, the last progress and the TTL).

A parent (declared children, or a handler that spawned some) does not finish
in Run: it starts its children and raises WaitForChildren, and the state
machine calls the worker again to park it and then to finish (chalicelib.fanout).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any, ClassVar

from chalicelib import outcomes, tree
from chalicelib.basics import Basics
from chalicelib.blobs import Blobs
from chalicelib.clock import iso
from chalicelib.context import Children, JobAborted, JobContext, Spawner
from chalicelib.downloads import WaitForDownload
from chalicelib.errors import TransitionRejected
from chalicelib.fanout import FanOut, WaitForChildren
from chalicelib.jobfiles import JobFiles, check_upload
from chalicelib.joblog import HandlerLog, JobLogger
from chalicelib.models import (
    ChildPolicy,
    ChildrenSummary,
    ChildSpec,
    DownloadState,
    Job,
    Outcome,
    Progress,
    ResourceRef,
)
from chalicelib.progress import ProgressReporter
from chalicelib.redaction import Redactor
from chalicelib.registry import JobMethod
from chalicelib.results import Results
from chalicelib.retention import retention_deadline
from chalicelib.states import JobState
from chalicelib.store import JobStore
from chalicelib.transfers import Transfers
from chalicelib.uploads import UPLOAD_EXPIRED, WaitForUpload, upload_pending
from chalicelib.worker_contract import TIMEOUT_ERRORS, Action, Task, TaskResult
from chalicelib.workflow import Runner

# What a method's code is called with: the handler, or its aggregate.
Call = Callable[[JobMethod, JobContext, Any], Any]
# What a task of the state machine is answered by.
Step = Callable[["Worker", Task], TaskResult]

# Raised to move the state machine on: a Catch rule of infra/template.yaml
# routes on each one's class name.
STEERING_ERRORS: tuple[type[Exception], ...] = (WaitForChildren, WaitForUpload, WaitForDownload)

log = logging.getLogger("jobapi.worker")


class Worker:
    def __init__(
        self,
        store: JobStore,
        results: Results,
        fanout: FanOut,
        transfers: Transfers,
        blobs: Blobs,
        basics: Basics,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._store = store
        self._results = results
        self._fanout = fanout
        self._downloads = transfers.downloads
        self._uploads = transfers.uploads
        self._blobs = blobs  # a handler's files and log
        self._methods = basics.methods
        self._settings = basics.settings
        self._clock = basics.clock
        self._sleep = sleep

    # One step for each action of the state machine (chalicelib.worker_contract).
    STEPS: ClassVar[dict[Action, Step]] = {
        Action.RUN: lambda worker, task: worker.run(task.job_id, task.tenant_id),
        Action.WAIT_CHILDREN: lambda worker, task: worker._fanout.park(task.job_id, task.token),
        Action.WAIT_UPLOAD: lambda worker, task: worker._uploads.park(task.job_id, task.token),
        Action.WAIT_DOWNLOAD:
            lambda worker, task: worker._downloads.park(task.job_id, task.token),
        Action.FINISH: lambda worker, task: worker.finish_parent(task.job_id),
        Action.CRASHED:
            lambda worker, task: worker.record_crash(task.job_id, task.tenant_id, task.failure),
    }

    def handle(self, event: dict[str, Any]) -> dict[str, Any]:
        """One task of the state machine; the answer is the task's output."""
        task = Task.from_event(event)
        return self.STEPS[task.action](self, task).as_dict()

    def run(self, job_id: str, tenant_id: str) -> TaskResult:
        try:
            job = self._store.mark_running(job_id, tenant_id, self._now())
        except TransitionRejected as exc:
            return self._not_run(job_id, exc)
        problem = check_upload(self._blobs, job) if job.upload else None
        if problem:
            outcome = Outcome(state=JobState.FAILED, error=problem)
            return TaskResult(job_id, self._finish(job, outcome), ran=False)
        declared = [ChildSpec.model_validate(spec) for spec in job.children_spec or []]
        outcome, context = self._execute(job, _call_handler,
                                         self._spawner(job, len(declared)))
        if context.cancelled:
            # The record already says ABORTED (that is how the handler learnt
            # it): this write replaces the finish, so a cancel costs nothing extra.
            self._release(job.id)
            return TaskResult(job_id, JobState.ABORTED.value, ran=True)
        children = declared + context.spawned
        if children and outcome.state is JobState.SUCCESS:
            return self._spawn(job, children, outcome)
        if job.download is not None and outcome.state is JobState.SUCCESS:
            return self._offer_download(job, outcome, context)
        return TaskResult(job_id, self._finish(job, outcome), ran=True)

    def _not_run(self, job_id: str, exc: TransitionRejected) -> TaskResult:
        """Aborted before it started, or a duplicate invocation: run nothing."""
        if exc.actual_state is JobState.RUNNING:
            self._resume_waiting_parent(job_id)
        if exc.actual_state is JobState.WAITING:
            # Only a job whose file has not landed stays WAITING here.
            raise WaitForUpload(f"job {job_id} waits for its upload") from None
        return TaskResult(job_id, exc.actual_state, ran=False)

    def _offer_download(self, job: Job, outcome: Outcome,
                        context: JobContext) -> TaskResult:
        writer = context.files.written if context.files else None
        if writer is None or not writer.completed:
            failed = Outcome(state=JobState.FAILED, progress=outcome.progress,
                             logs_path=outcome.logs_path, logs_excerpt=outcome.logs_excerpt,
                             error=f"{job.method} returned without writing its output file")
            return TaskResult(job.id, self._finish(job, failed), ran=True)
        assert job.download is not None
        if job.download.buffered:  # ends now; the file waits for its download
            ready = self._downloads.ready_buffered(job, writer)
            return TaskResult(job.id, self._finish(job, outcome.model_copy(
                update={"download": ready})), ran=True)
        now = self._clock()
        expires_at = retention_deadline(job, self._methods, self._settings, now) + \
            job.download.window_seconds
        try:
            self._downloads.offer(job, self._results.kept(job, outcome), writer, expires_at)
        except TransitionRejected:  # cancelled while it wrote: the file is gone
            self._release(job.id)
            return TaskResult(job.id, JobState.ABORTED.value, ran=True)
        raise WaitForDownload(f"job {job.id}: {writer.size} bytes wait for their download")

    def _resume_waiting_parent(self, job_id: str) -> None:
        """Run invoked again (a Lambda retry) for a parent that already spawned:
        go on waiting, or this execution would end with the parent RUNNING."""
        job = self._store.get(job_id)
        if job is not None and job.has_children and job.state is JobState.RUNNING:
            raise WaitForChildren(f"job {job_id} already waits for its sub-jobs")

    def finish_parent(self, job_id: str) -> TaskResult:
        """The Finish task: the children are done (or one failed)."""
        job = self._store.get(job_id)
        if job is None:
            return TaskResult(job_id, None)
        if job.state is JobState.ABORTED:
            self._fanout.cascade(job, f"parent job {job.id} was aborted")
            self._release(job.id)
            return TaskResult(job_id, job.state.value)
        if job.state is not JobState.RUNNING or not job.has_children:
            return TaskResult(job_id, job.state.value)
        return TaskResult(job_id, self._finish(job, self._parent_outcome(job)))

    def _spawn(self, job: Job, children: list[ChildSpec], outcome: Outcome) -> TaskResult:
        logs = {"logs_path": outcome.logs_path, "logs_excerpt": outcome.logs_excerpt} \
            if outcome.logs_path and outcome.logs_excerpt is not None else None
        kept = self._results.kept_for_finish(job, outcome.result)
        if self._fanout.spawn(job, children, kept, logs):
            raise WaitForChildren(f"job {job.id} waits for {len(children)} sub-jobs")
        # Cancelled while its handler ran: no child was created.
        self._release(job.id)
        return TaskResult(job.id, JobState.ABORTED.value, ran=True)

    def _parent_outcome(self, job: Job) -> Outcome:
        failed = tree.failures(job)
        if job.on_child_failure is ChildPolicy.FAIL and failed:
            return Outcome(state=JobState.FAILED, error=self._children_failed(job),
                           progress=tree.rolled_up(job), outcome="ERROR")
        method = self._methods.find(job.method)
        if method is not None and method.aggregate is not None:
            children = Children(tree.summary(job) or ChildrenSummary(),
                                lambda: self._fanout.children_of(job))
            outcome, _ = self._execute(job, _aggregate_with(children))
        else:
            outcome = _with_full_progress(outcomes.success(self._handler_result(job)))
        if outcome.state is JobState.SUCCESS:
            outcome = outcome.model_copy(update={
                "outcome": "PARTIAL_FAILURES" if failed else "NORMAL"})
        return outcome

    def _handler_result(self, job: Job) -> Any:
        kept = self._results.handler_result(job)
        if kept is not None:
            return kept
        summary = tree.summary(job)
        return summary.model_dump() if summary else None

    def _children_failed(self, job: Job) -> str:
        message = f"{tree.failures(job)} of {job.child_total} sub-jobs did not succeed"
        first = self._store.get(job.first_failed_child) if job.first_failed_child else None
        if first is None:
            return message
        return (f"{message}; the first, {first.id} ({first.method}), "
                f"{first.state.value}: {first.error}")

    def _spawner(self, job: Job, declared: int) -> Spawner:
        def check(spec: ChildSpec, index: int) -> str:
            if job.runner != Runner.STANDARD.value:
                raise RuntimeError(
                    f"{job.method} spawned a sub-job but is not registered with "
                    "spawns_children=True (only Standard executions can wait for sub-jobs)")
            self._fanout.check([spec], "sub-job")
            return tree.child_id(job.id, declared + index)
        return check

    def record_crash(self, job_id: str, tenant_id: str, failure: dict[str, Any]) -> TaskResult:
        job = self._store.get(job_id)
        if job is None or job.state.is_terminal:
            return TaskResult(job_id, job.state.value if job else None)
        if failure.get("Error") in TIMEOUT_ERRORS and _waits_for_a_file(job):
            return TaskResult(job_id, self._file_wait_expired(job))
        if job.state is JobState.WAITING:
            # FAILED is only reachable from RUNNING; a crash before the run
            # began passes through it.
            try:
                job = self._store.mark_running(job_id, tenant_id, self._now())
            except TransitionRejected as exc:
                return TaskResult(job_id, exc.actual_state)
        outcome = outcomes.crashed(failure)
        if tree.waiting_for_children(job) and failure.get("Error") in TIMEOUT_ERRORS:
            timeout = self._fanout.children_timeout(job)
            outcome = outcome.model_copy(update={
                "error": f"{job.child_pending} of {job.child_total} sub-jobs did not finish "
                         f"within the {timeout} s children_timeout",
                "outcome": "ERROR", "progress": tree.rolled_up(job)})
        return TaskResult(job_id, self._finish(job, outcome))

    def expire_file_wait(self, job_id: str) -> str | None:
        """The sweeper's backstop for a wait whose timeout was lost: abort a
        job still waiting for its upload or download. Anything else is left."""
        job = self._store.get(job_id)
        if job is None or not _waits_for_a_file(job):
            return None
        return self._file_wait_expired(job)

    def _file_wait_expired(self, job: Job) -> str:
        """The upload never came, or the ready file was never downloaded."""
        now = self._clock()
        if job.state is JobState.WAITING:
            try:
                self._store.abort(job, iso(now), UPLOAD_EXPIRED, retention_deadline(
                    job, self._methods, self._settings, now), None)
            except TransitionRejected as exc:
                return exc.actual_state or "missing"
            return JobState.ABORTED.value
        state = self._finish(job, self._downloads.expired(job))
        if state == JobState.ABORTED.value:
            self._downloads.discard(job)
        return state

    def _execute(self, job: Job, call: Call,
                 spawner: Spawner | None = None) -> tuple[Outcome, JobContext]:
        redactor = Redactor(job.secret_paths, job.arguments)
        reporter = ProgressReporter(
            lambda progress: self._store.report_progress(
                job.id, redactor.scrub(progress), self._now()),
            time.monotonic,
            self._settings.progress_interval,
        )
        job_log = HandlerLog()
        files = JobFiles(self._blobs, job)
        context = JobContext(job, reporter, JobLogger(job.id, job.method, redactor, job_log),
                             spawner, files, self._write_resources)
        try:
            method = self._methods.get(job.method)
            outcome = self._call_with_retries(method, job, context, call)
        except Exception as exc:  # the method is gone from this deployment
            outcome = outcomes.failure(exc)
        outcome = self._settle_output(files, outcome)
        outcome = outcome.model_copy(update=self._stored_log(job, job_log))
        return _scrubbed(_with_progress(outcome, reporter), redactor), context

    def _write_resources(self, job: Job, resources: list[ResourceRef]) -> Job:
        try:
            return self._store.set_resources(job, resources, self._now())
        except TransitionRejected:  # no longer RUNNING: cancelled meanwhile
            raise JobAborted(f"job {job.id} was aborted") from None

    def _settle_output(self, files: JobFiles, outcome: Outcome) -> Outcome:
        """Complete the output file of a handler that succeeded; drop it otherwise."""
        try:
            files.settle(outcome.state is JobState.SUCCESS)
        except Exception as exc:  # S3 refused the last part: the file is incomplete
            files.settle(False)
            return outcomes.failure(exc)
        return outcome

    def _stored_log(self, job: Job, job_log: HandlerLog) -> dict[str, Any]:
        """Put what the handler logged in S3 (after what an earlier run of the
        same job logged: a parent's aggregate adds to its handler's log)."""
        try:
            if job_log.empty:
                return {}
            earlier = self._blobs.get_bytes(job.logs_path) if job.logs_path else None
            return job_log.store(self._blobs, job.id, earlier)
        except Exception:  # the log is best effort: it must not fail the job
            log.warning("could not store the log of job %s", job.id, exc_info=True)
            return {}
        finally:
            job_log.close()

    def _call_with_retries(self, method: JobMethod, job: Job, context: JobContext,
                           call: Call) -> Outcome:
        attempt = 1
        while True:
            try:
                params = method.parse_params(job.arguments)
                return outcomes.success(call(method, context, params))
            except JobAborted as exc:
                return outcomes.aborted(str(exc))
            except Exception as exc:
                retry = method.retry
                if retry is None or attempt >= retry.attempts or not isinstance(exc, retry.on):
                    return outcomes.failure(exc)
                context.log.warning("attempt %d failed (%s); retrying", attempt,
                                    type(exc).__name__)
                if context.files is not None:
                    context.files.settle(False)  # the next attempt writes its file afresh
                self._sleep(retry.pause_before(attempt))
                attempt += 1

    def _finish(self, job: Job, outcome: Outcome) -> str:
        outcome = self._results.kept(job, outcome)
        outcome = outcome.model_copy(update={"expires_at": retention_deadline(
            job, self._methods, self._settings, self._clock())})
        try:
            self._store.finish(job, outcome, self._now())
        except TransitionRejected as exc:
            if exc.actual_state is JobState.ABORTED:
                # Cancelled while running: the execution ends now, so nothing
                # is left for the sweeper to stop.
                self._release(job.id)
            return exc.actual_state or "missing"
        self._after_end(job, outcome.state)
        return outcome.state.value

    def _after_end(self, job: Job, state: JobState) -> None:
        if job.has_children and state is not JobState.SUCCESS:
            self._fanout.cascade(job, f"parent job {job.id} ended {state.value}")
        if job.parent_id:
            self._fanout.child_ended(job)

    def _release(self, job_id: str) -> None:
        with contextlib.suppress(TransitionRejected):
            self._store.release(job_id)

    def _now(self) -> str:
        return iso(self._clock())


def _call_handler(method: JobMethod, context: JobContext, params: Any) -> Any:
    return method.handler(context, params)


def _aggregate_with(children: Children) -> Call:
    def call(method: JobMethod, context: JobContext, params: Any) -> Any:
        assert method.aggregate is not None
        return method.aggregate(context, params, children)
    return call


def _with_full_progress(outcome: Outcome) -> Outcome:
    return outcome.model_copy(update={"progress": Progress(percent=100)})


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


def _waits_for_a_file(job: Job) -> bool:
    if job.state is JobState.WAITING:
        return upload_pending(job)
    return (job.state is JobState.RUNNING and job.download is not None
            and job.download.state is DownloadState.READY)
