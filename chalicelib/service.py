"""JobService: what the HTTP routes call. Knows nothing of HTTP or of boto3."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from chalicelib.caller import Caller
from chalicelib.clock import Clock, iso
from chalicelib.errors import NotFound
from chalicelib.models import Job, SubmitRequest
from chalicelib.registry import MethodRegistry
from chalicelib.store import JobStore
from chalicelib.workflow import Workflow


def new_job_id() -> str:
    return str(uuid.uuid4())


class JobService:
    def __init__(
        self,
        store: JobStore,
        workflow: Workflow,
        methods: MethodRegistry,
        clock: Clock,
        new_id: Callable[[], str] = new_job_id,
    ) -> None:
        self._store = store
        self._workflow = workflow
        self._methods = methods
        self._clock = clock
        self._new_id = new_id

    def submit(self, request: SubmitRequest, caller: Caller) -> Job:
        method = self._methods.get(request.method)
        params = method.parse_params(request.params)
        now = iso(self._clock())
        job = Job(
            id=self._new_id(),
            method=method.name,
            arguments=params.model_dump(mode="json"),
            description=request.description,
            transient=request.transient,
            abortable=method.abortable,
            time_created=now,
            time_updated=now,
            tenant_id=caller.tenant_id,
            user_id=caller.user_id,
            message_ids=[caller.request_id] if caller.request_id else [],
        )
        # Record first, then start: a start that fails leaves a WAITING job the
        # sweeper starts later, never an execution without a record.
        self._store.create(job)
        self._workflow.start(job.id, job.tenant_id)
        return job

    def get(self, job_id: str, caller: Caller) -> Job:
        job = self._store.get(job_id)
        if job is None or not _visible(job, caller):
            raise NotFound(f"no job {job_id}")
        return job

    def methods(self) -> list[dict[str, Any]]:
        return self._methods.describe()


def _visible(job: Job, caller: Caller) -> bool:
    return job.tenant_id == caller.tenant_id
