"""The HTTP side of files: the submit's links, the one-time download, logs."""

from __future__ import annotations

from typing import Any

from chalice import Response
from chalice.app import Request
from pydantic import BaseModel, ConfigDict, Field

from chalicelib.downloads import Claimed, Inline, NotReady
from chalicelib.faces.native.requests import MAX_WAIT_SECONDS
from chalicelib.faces.native.responses import json_response
from chalicelib.service import JobLog, Submission
from chalicelib.validation import parse
from chalicelib.views import job_view

RETRY_AFTER_SECONDS = 2
NO_STORE = {"Cache-Control": "no-store"}
BINARY = "application/octet-stream"


class DownloadQuery(BaseModel):
    """Query parameters of GET /_download/{job_id}."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    auth_token: str | None = Field(None, max_length=200)
    wait: float = Field(20, ge=0, le=MAX_WAIT_SECONDS,
                        description="seconds to wait for the file before answering 202")


def download_query(request: Request | None) -> DownloadQuery:
    params = dict((request.query_params if request else None) or {})
    return parse(DownloadQuery, params, "query parameters")


def submission_body(submission: Submission) -> dict[str, Any]:
    body = job_view(submission.job)
    if submission.joined:
        body["joined"] = True
    if submission.download_url:
        body["download_url"] = submission.download_url
    if submission.upload:
        body["upload_url"] = submission.upload.url
        body["upload_method"] = "PUT"
        body["upload_headers"] = submission.upload.headers
    return body


def inline_limit(request: Request | None, limit: int) -> int:
    """How big a file may be answered inline: `limit` when the client takes
    binary, else 0 (redirect). Chalice refuses a binary answer to a request
    whose Accept names no binary type (and API Gateway would send it as
    base64 text): that must be known before the claim, or the file is lost."""
    headers: Any = (request.headers if request else None) or {}
    return limit if accepts_binary(headers.get("accept")) else 0


def accepts_binary(accept: str | None) -> bool:
    """Chalice's own test (chalice.app._matches_content_type) for our one binary type."""
    if not accept:
        return False
    ranges = {piece.split(";")[0].strip().lower() for piece in accept.split(",")}
    return "*/*" in ranges or BINARY in ranges


def download_response(answer: Claimed | Inline | NotReady) -> Response:
    if isinstance(answer, NotReady):
        job = answer.job
        return json_response(
            {"job_id": job.id, "state": job.state.value,
             "progress": job_view(job)["progress"],
             "message": "the file is not ready yet; retry after the Retry-After seconds"},
            202, {"Retry-After": str(RETRY_AFTER_SECONDS), **NO_STORE})
    if isinstance(answer, Inline):
        return inline_response(answer)
    # The presigned URL lives seconds; it must not be cached anywhere on the way.
    return Response(body="", status_code=302, headers={"Location": answer.url, **NO_STORE})


def inline_response(answer: Inline) -> Response:
    """The bytes themselves: Chalice base64-encodes a bytes body of a binary
    type (app.api.binary_types has application/octet-stream) for API Gateway,
    which decodes it on the way out. Content-Length is the transport's:
    API Gateway (and the local server) set it from the decoded body, and a
    second one would make strict clients (aiohttp) refuse the answer."""
    return Response(body=answer.body, status_code=200, headers={
        "Content-Type": BINARY, "Content-Disposition": answer.disposition, **NO_STORE})


def log_response(answer: JobLog) -> Response:
    if answer.url:
        return Response(body="", status_code=302, headers={"Location": answer.url, **NO_STORE})
    return Response(body=answer.text or "", status_code=200, headers={
        "Content-Type": "text/plain; charset=utf-8", "X-Job-State": answer.job.state.value})
