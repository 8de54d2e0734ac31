"""JobService: what the HTTP routes call. Knows nothing of HTTP or of boto3."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from chalicelib import keys
from chalicelib.blobs import Blobs
from chalicelib.caller import Caller
from chalicelib.clock import Clock, iso
from chalicelib.errors import Conflict, NotFound, ServiceUnavailable, TransitionRejected
from chalicelib.fanout import FanOut
from chalicelib.models import Job, SubmitRequest
from chalicelib.redaction import reveal
from chalicelib.registry import JobMethod, MethodRegistry
from chalicelib.retention import retention_deadline, stop_deadline
from chalicelib.settings import Settings
from chalicelib.states import JobState
from chalicelib.store import DuplicateJob, JobStore, LockHeld
from chalicelib.workflow import Runner, Workflow

# Idempotent submits derive the job id from (tenant, key): the job's own
# conditional put is then the dedup, with no extra item and no extra call.
IDEMPOTENCY_NAMESPACE = uuid.UUID("6f1c1d1e-8a53-4c53-9a43-1f0d6b7f8e21")
LOCK_ATTEMPTS = 3
POLL_SECONDS = 1.0


@dataclass(frozen=True)
class Submission:
    job: Job
    created: bool = True
    joined: bool = False


class JobService:
    def __init__(
        self,
        store: JobStore,
        workflow: Workflow,
        blobs: Blobs,
        methods: MethodRegistry,
        settings: Settings,
        clock: Clock,
        fanout: FanOut,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._store = store
        self._workflow = workflow
        self._blobs = blobs
        self._methods = methods
        self._settings = settings
        self._clock = clock
        self._fanout = fanout
        self._sleep = sleep

    def submit(
        self, request: SubmitRequest, caller: Caller, idempotency_key: str | None = None
    ) -> Submission:
        method = self._methods.get(request.method)
        params = method.parse_params(request.params)
        if request.children:
            self._fanout.check(request.children)
        job = self._new_job(method, params, request, caller, idempotency_key)
        try:
            if method.lock is not None:
                return self._submit_locked(job, method.lock(params), caller)
            self._store.create(job)
        except DuplicateJob as duplicate:
            return self._replay(duplicate.existing, job)
        # Record first, then start: a start that fails leaves a WAITING job
        # that a retry or the sweeper starts, never an execution without a record.
        self._start(job)
        return Submission(job)

    def get(self, job_id: str, caller: Caller, load_result: bool = True) -> Job:
        job = self._store.get(job_id)
        if job is None or not _visible(job, caller) or job.is_expired(self._clock()):
            raise NotFound(f"no job {job_id}")
        if load_result and job.result_ref:
            job = job.model_copy(update={"result": self._blobs.get_json(job.result_ref)})
        return job

    def wait(self, job_id: str, caller: Caller, seconds: float, since: str | None) -> Job:
        """Long poll (NetApp): return when the job's state or progress moves
        past `since` (default: what the first read saw), or after `seconds`."""
        job = self.get(job_id, caller, load_result=False)
        baseline = since or job.time_updated
        deadline = self._clock() + seconds
        while not _moved(job, baseline) and self._clock() < deadline:
            self._sleep(min(POLL_SECONDS, max(0.0, deadline - self._clock())))
            job = self.get(job_id, caller, load_result=False)
        return self.get(job_id, caller) if job.result_ref else job

    def cancel(self, job_id: str, caller: Caller) -> Job:
        job = self.get(job_id, caller, load_result=False)
        for _ in range(2):  # once more if a start or a finish raced the write
            _check_cancellable(job)
            try:
                now = self._clock()
                aborted = self._store.abort(
                    job, iso(now), "aborted by request",
                    retention_deadline(job, self._methods, self._settings, now),
                    stop_deadline(job, self._settings, now),
                )
            except TransitionRejected:
                job = self.get(job_id, caller, load_result=False)
                continue
            # A parent waiting for its children goes on to Finish, which
            # aborts them; a child may have been the one its parent waited for.
            self._fanout.wake(job)
            self._fanout.child_ended(aborted)
            return aborted
        _check_cancellable(job)
        raise ServiceUnavailable("the job changed state while being cancelled; retry")

    def methods(self) -> list[dict[str, Any]]:
        return self._methods.describe()

    def _submit_locked(self, job: Job, lock_key: str, caller: Caller) -> Submission:
        lock_id = keys.lock_id(job.tenant_id, lock_key)
        stale: str | None = None
        for _ in range(LOCK_ATTEMPTS):
            try:
                self._store.create_locked(job.model_copy(update={"lock_key": lock_key}),
                                          lock_id, stale)
            except LockHeld as held:
                try:
                    joined = self._store.join(held.holder_id, caller.request_id or job.id)
                    return Submission(joined, created=False, joined=True)
                except TransitionRejected:
                    stale = held.holder_id  # the holder finished: take its lock over
                continue
            self._start(job)
            return Submission(job)
        raise ServiceUnavailable("the lock kept changing hands; retry")

    def _replay(self, existing: Job, attempted: Job) -> Submission:
        if existing.request_hash != attempted.request_hash:
            raise Conflict(
                "this Idempotency-Key was used with a different request body",
                details={"job_id": existing.id},
            )
        if existing.state is JobState.WAITING:
            # The first request may have died between its write and its start;
            # if it did start, the claim makes the second execution run nothing.
            self._start(existing)
        return Submission(existing, created=False)

    def _start(self, job: Job) -> None:
        self._workflow.start(job.id, job.tenant_id, Runner(job.runner),
                             self._fanout.children_timeout(job))

    def _new_job(self, method: JobMethod, params: BaseModel, request: SubmitRequest,
                 caller: Caller, idempotency_key: str | None) -> Job:
        arguments = reveal(params)
        return self._fanout.new_job(
            method, arguments, request,
            id=_job_id(caller.tenant_id, idempotency_key),
            transient=request.transient,
            tenant_id=caller.tenant_id,
            user_id=caller.user_id,
            message_ids=[caller.request_id] if caller.request_id else [],
            # This service's own workflow decides (tests give it a variant).
            runner=self._workflow.runner_for(
                self._fanout.needs_standard(method.name, bool(request.children))).value,
            request_hash=_request_hash(method.name, arguments, request) if idempotency_key
            else None,
        )

    def _now(self) -> str:
        return iso(self._clock())


def _job_id(tenant_id: str, idempotency_key: str | None) -> str:
    if idempotency_key is None:
        return str(uuid.uuid4())
    return str(uuid.uuid5(IDEMPOTENCY_NAMESPACE, f"{tenant_id}\x00{idempotency_key}"))


def _request_hash(method: str, arguments: dict[str, Any], request: SubmitRequest) -> str:
    canonical = json.dumps(
        {"method": method, "params": arguments, "description": request.description,
         "transient": request.transient,
         "children": request.model_dump(mode="json")["children"],
         "on_child_failure": request.on_child_failure,
         "children_timeout": request.children_timeout},
        sort_keys=True, separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _moved(job: Job, baseline: str) -> bool:
    return job.state.is_terminal or job.time_updated > baseline


def _check_cancellable(job: Job) -> None:
    if job.state.is_terminal:
        raise Conflict(f"job {job.id} already finished: {job.state.value}",
                       details={"state": job.state.value})
    if job.state is JobState.RUNNING and not job.abortable:
        raise Conflict(f"job {job.id} is running and its method ({job.method}) is not abortable",
                       details={"state": job.state.value, "abortable": False})


def _visible(job: Job, caller: Caller) -> bool:
    return job.tenant_id == caller.tenant_id
