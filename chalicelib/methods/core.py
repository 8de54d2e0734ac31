"""Built-in methods the faces need (not for clients to call by name, though
they may): `core.job_wait` mirrors another job's outcome (TrueNAS's
core.job_wait with legacy_jobs true answers the id of such a job);
`core.http_request` replays a request to the REST API in the worker and
keeps its whole response (ArangoDB's `x-arango-async`).
"""

from __future__ import annotations

import base64
import time
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from chalicelib.caller import Caller, Role
from chalicelib.context import JobContext
from chalicelib.registry import job_method

POLL_SECONDS = 1.0
# The worker Lambda stops at 15 minutes: a wait gives up cleanly before.
MOST_SECONDS = 14 * 60


class JobWaitParams(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    job_id: str = Field(min_length=1, max_length=200, description="the job to wait for")


class WaitedJobFailed(Exception):
    """The job waited for did not succeed; its error is this one's."""


@job_method("core.job_wait", params=JobWaitParams, abortable=True, long_running=True)
def job_wait(ctx: JobContext, params: JobWaitParams) -> Any:
    """Waits for another job of its tenant to end: its result is that job's,
    or it fails with that job's error, both as that job shows them (redacted:
    its secrets are not this job's to know). Reads the job once a second;
    gives up after 14 minutes."""
    from chalicelib.views import job_view
    from chalicelib.wiring import services  # the worker's own services

    # The face checked that the caller may see the job; the wait reads it
    # within its own tenant only.
    reader = Caller(ctx.job.tenant_id, ctx.job.user_id, frozenset({Role.TENANT_ADMIN}))
    deadline = time.monotonic() + MOST_SECONDS
    while True:
        ctx.check_cancelled()
        job = services().jobs.get(params.job_id, reader)
        if job.state.is_terminal:
            break
        if time.monotonic() > deadline:
            raise TimeoutError(f"job {job.number} had not ended after {MOST_SECONDS} s")
        ctx.set_progress(None, f"waiting for job {job.number} ({job.state.value})")
        time.sleep(POLL_SECONDS)
    shown = job_view(job)
    if job.state.value != "SUCCESS":
        raise WaitedJobFailed(shown["error"] or f"job {job.number} ended {job.state.value}")
    return shown["result"]


# core.http_request: the request, as API Gateway's proxy event holds it, and
# the authorizer's context it had (tenant_id, user_id, roles, via:
# chalicelib.faces.auth.context_of). It is `internal`: only the ArangoDB face
# makes such jobs, so no client can name roles it lacks.


class HttpRequestParams(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    method: str = Field(max_length=10)
    resource: str = Field(max_length=2000, description="the route, e.g. /jobs/{job_id}")
    path: str = Field("", max_length=8000)
    path_params: dict[str, str] | None = None
    query: dict[str, list[str]] | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    # Secret: a body may carry another method's secret params (POST /jobs).
    body: SecretStr | None = None
    base64: bool = Field(False, description="body is base64 (binary)")
    caller: dict[str, str] = Field(description="the authorizer's context of the request")
    keep: bool = Field(True, description="keep the response (false: fire and forget)")


class NotTheJobsCaller(PermissionError):
    """A core.http_request whose caller is not its job's own."""


# Abortable, as arangod's async jobs are: a cancel ends the job at once
# (ABORTED; a fetch then answers 410; one still waiting is never replayed). A
# replay already under way runs to its end (a request is not interrupted
# halfway), but its response is not kept.
@job_method("core.http_request", params=HttpRequestParams, internal=True, abortable=True)
def http_request(ctx: JobContext, params: HttpRequestParams) -> Any:
    """Replays a request to the REST API through the app's own routes, as the
    caller who sent it, and answers its whole response: `{"status",
    "headers", "body", "base64"}` (None when it is not to be kept)."""
    caller = params.caller
    if caller.get("tenant_id") != ctx.job.tenant_id or \
            (caller.get("user_id") or None) != ctx.job.user_id:
        raise NotTheJobsCaller("the request's caller is not its job's: it is not replayed")
    from app import app  # the worker runs the same app.py; loaded on first replay only

    answer = app(_proxy_event(params, ctx.job.id), None)
    if not params.keep:
        return None
    return {"status": answer["statusCode"], "headers": _single_headers(answer),
            "body": answer.get("body") or "", "base64": bool(answer.get("isBase64Encoded"))}


def _proxy_event(params: HttpRequestParams, job_id: str) -> dict[str, Any]:
    """API Gateway's proxy event of the request: the authorizer is not run
    again, its context is the one the request had."""
    body = params.body.get_secret_value() if params.body is not None else None
    return {
        "resource": params.resource, "path": params.path, "httpMethod": params.method,
        "headers": params.headers,
        "multiValueHeaders": {name: [value] for name, value in params.headers.items()},
        "queryStringParameters": {k: v[-1] for k, v in params.query.items()}
        if params.query else None,
        "multiValueQueryStringParameters": params.query or None,
        "pathParameters": params.path_params, "stageVariables": None,
        "body": body, "isBase64Encoded": params.base64,
        "requestContext": {"resourcePath": params.resource, "httpMethod": params.method,
                           "path": params.path, "requestId": f"job-{job_id}",
                           "authorizer": dict(params.caller)},
    }


def _single_headers(answer: dict[str, Any]) -> dict[str, str]:
    headers = {name: str(value) for name, value in (answer.get("headers") or {}).items()}
    for name, values in (answer.get("multiValueHeaders") or {}).items():
        headers[name] = ", ".join(str(value) for value in values)
    return headers


def response_body(result: dict[str, Any]) -> str | bytes:
    """The body of a kept response, binary restored."""
    body = str(result.get("body") or "")
    return base64.b64decode(body) if result.get("base64") else body
