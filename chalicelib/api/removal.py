"""The HTTP side of removal: DELETE /jobs[/{id}] and GET /jobs/{id}/result."""

from __future__ import annotations

from chalice import Response
from chalice.app import Request
from pydantic import BaseModel, ConfigDict, Field

from chalicelib.api.responses import json_response
from chalicelib.models import Job
from chalicelib.validation import parse
from chalicelib.views import job_view


class DeleteQuery(BaseModel):
    """Query parameters of DELETE /jobs."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    expired_before: float | None = Field(
        None, ge=0, description="UNIX time: only the finished jobs created before it")


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


def result_response(job: Job | None, raw_result: bool) -> Response:
    """200 with a finished job's outcome; 204 while it runs (ArangoDB's
    "pending"), with nothing in the body."""
    if job is None:
        return Response(body="", status_code=204)
    view = job_view(job, raw_result=raw_result)
    return json_response({name: view[name] for name in ("id", "state", "result", "error")})
