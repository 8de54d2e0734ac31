"""The HTTP side of removal: DELETE /jobs[/{id}] and GET /jobs/{id}/result."""

from __future__ import annotations

from chalice import Response
from chalice.app import Request
from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from chalicelib.clock import MAX_EPOCH, iso
from chalicelib.faces.native.responses import json_response
from chalicelib.models import Job
from chalicelib.validation import parse
from chalicelib.views import Viewer, job_view


class DeleteQuery(BaseModel):
    """Query parameters of DELETE /jobs."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    expired_before: float | None = Field(
        None, description=f"UNIX time from 0 to {MAX_EPOCH}: only the finished jobs "
                          "created before it")

    @field_validator("expired_before")
    @classmethod
    def _a_time_a_record_can_hold(cls, value: float | None) -> float | None:
        # Not NaN, not infinite, and within the years a timestamp can name
        # (chalicelib.clock.iso): anything else would fail deeper down.
        if value is not None and not 0 <= value <= MAX_EPOCH:
            raise PydanticCustomError(
                "time_range", "must be a UNIX time from 0 to {max} ({last})",
                {"max": MAX_EPOCH, "last": iso(MAX_EPOCH)})
        return value


class ResultQuery(BaseModel):
    """Query parameters of GET /jobs/{id}/result."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    consume: bool = Field(False, description="remove the job as its result is read (once)")
    raw_result: bool = False


def delete_query(request: Request | None) -> DeleteQuery:
    return parse(DeleteQuery, dict((request.query_params if request else None) or {}),
                 "query parameters")


def result_query(request: Request | None) -> ResultQuery:
    return parse(ResultQuery, dict((request.query_params if request else None) or {}),
                 "query parameters")


def result_response(job: Job | None, viewer: Viewer) -> Response:
    """200 with a finished job's outcome; 204 while it runs (ArangoDB's
    "pending"), with nothing in the body."""
    if job is None:
        return Response(body="", status_code=204)
    view = job_view(job, viewer)
    return json_response({name: view[name] for name in ("id", "state", "result", "error")})
