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


class Job(BaseModel):
    """One job as stored and as served (the view decides what a caller sees)."""

    id: str
    method: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    description: str | None = None
    transient: bool = False
    abortable: bool = False
    state: JobState = JobState.WAITING
    progress: Progress = Field(default_factory=Progress)
    result: Any = None
    result_encoding_error: str | None = None
    error: str | None = None
    exception: str | None = None
    exc_info: ExcInfo | None = None
    logs_path: str | None = None
    logs_excerpt: str | None = None
    message_ids: list[str] = Field(default_factory=list)
    time_created: IsoTime
    time_started: IsoTime | None = None
    time_finished: IsoTime | None = None
    time_updated: IsoTime
    tenant_id: str
    user_id: str | None = None
    parent_id: str | None = None
    root_id: str | None = None


class SubmitRequest(BaseModel):
    """The body of `POST /jobs`."""

    model_config = ConfigDict(extra="forbid")

    method: str = Field(min_length=1, max_length=200)
    params: dict[str, Any] = Field(default_factory=dict)
    description: str | None = Field(None, max_length=1000)
    transient: bool = False


class Outcome(BaseModel):
    """How a run ended: what the worker writes with the terminal state."""

    state: JobState
    result: Any = None
    result_encoding_error: str | None = None
    error: str | None = None
    exception: str | None = None
    exc_info: ExcInfo | None = None
    progress: Progress | None = None
