"""The job record and the request bodies, as pydantic models.

Field names follow TrueNAS's `core.get_jobs` record; `tenant_id`, `user_id`,
`parent_id` and the time stamps come from NetApp and CloudSigma.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.states import JobState

IsoTime = str  # ISO 8601 UTC, see chalicelib.clock.iso


class Progress(BaseModel):
    percent: int | None = Field(None, ge=0, le=100)
    description: str | None = None
    extra: Any = None


class ExcInfo(BaseModel):
    repr: str | None = None
    type: str | None = None
    errno: int | None = None
    extra: Any = None


class JobView(BaseModel):
    """A job as clients see it (published at GET /jobs/schema)."""

    model_config = ConfigDict(title="Job")

    id: str = Field(description="Unique identifier of the job.")
    method: str = Field(description="The job method that runs it.")
    arguments: dict[str, Any] = Field(
        default_factory=dict, description="The params, with secret fields redacted."
    )
    description: str | None = None
    transient: bool = Field(False, description="Hidden from lists; expires soon after finishing.")
    abortable: bool = Field(False, description="Whether a RUNNING job may be cancelled.")
    state: JobState = JobState.WAITING
    progress: Progress = Field(default_factory=Progress)
    result: Any = Field(None, description="What the method returned (redacted by default).")
    result_encoding_error: str | None = None
    error: str | None = None
    exception: str | None = Field(None, description="The traceback, when the method raised.")
    exc_info: ExcInfo | None = None
    logs_path: str | None = None
    logs_excerpt: str | None = None
    message_ids: list[str] = Field(
        default_factory=list, description="Request ids of the calls that submitted or joined it."
    )
    time_created: IsoTime = Field(json_schema_extra={"format": "date-time"})
    time_started: IsoTime | None = Field(None, json_schema_extra={"format": "date-time"})
    time_finished: IsoTime | None = Field(None, json_schema_extra={"format": "date-time"})
    time_updated: IsoTime = Field(json_schema_extra={"format": "date-time"})
    tenant_id: str
    user_id: str | None = None
    parent_id: str | None = None
    root_id: str | None = None


class Job(JobView):
    """The stored record: the view plus what only the service needs."""

    secret_paths: list[str] = Field(default_factory=list)
    request_hash: str | None = None
    lock_key: str | None = None
    result_ref: str | None = None
    abort_deadline: IsoTime | None = None
    expires_at: int | None = None
    runner: str = "standard"  # chalicelib.workflow.Runner

    def is_expired(self, now: float) -> bool:
        # DynamoDB's TTL deletes late (up to days), so every read checks.
        return self.expires_at is not None and self.expires_at <= now


PUBLIC_FIELDS = frozenset(JobView.model_fields)


# defer_build: each Lambda function builds only the models it uses (the
# worker never parses a submit; the API never writes an outcome).
DEFERRED = ConfigDict(defer_build=True)


class SubmitRequest(BaseModel):
    """The body of `POST /jobs`."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    method: str = Field(min_length=1, max_length=200)
    params: dict[str, Any] = Field(default_factory=dict)
    description: str | None = Field(None, max_length=1000)
    transient: bool = False


class Outcome(BaseModel):
    """How a run ended: what the worker writes with the terminal state."""

    model_config = DEFERRED

    state: JobState
    result: Any = None
    result_encoding_error: str | None = None
    error: str | None = None
    exception: str | None = None
    exc_info: ExcInfo | None = None
    progress: Progress | None = None
    result_ref: str | None = None
    expires_at: int | None = None
