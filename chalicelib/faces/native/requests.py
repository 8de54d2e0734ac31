"""Reading what a client sent: bodies become models here, at the edge."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any, Literal

from chalice.app import Request
from pydantic import BaseModel, ConfigDict, Field

from chalicelib.caller import Caller
from chalicelib.errors import BadRequest
from chalicelib.faces.auth import principal_of, request_caller
from chalicelib.faces.json_input import body_object
from chalicelib.models import SubmitRequest
from chalicelib.validation import parse

# A job's params live in its record (DynamoDB items stop at 400 KB); bigger
# inputs belong in an upload.
MAX_BODY_BYTES = 256 * 1024
MAX_TREE_DEPTH = 5
MAX_WAIT_SECONDS = 25  # under API Gateway's 29 s integration timeout
IDEMPOTENCY_KEY_CHARS = set(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.:~+/="
)
# The same rule as a JSON Schema pattern, for the contract.
IDEMPOTENCY_KEY_PATTERN = r"^[A-Za-z0-9\-_.:~+/=]{1,255}$"


class JobQuery(BaseModel):
    """Query parameters of GET /jobs/{id}."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    wait: float = Field(0, ge=0, le=MAX_WAIT_SECONDS, description="long-poll seconds")
    since: str | None = Field(None, max_length=40, description="time_updated already seen")
    raw_result: bool = False
    children: Literal["none", "first", "tree"] = Field(
        "first", description="sub-jobs shown: none, the first level, or a tree to `depth`")
    depth: int = Field(1, ge=1, le=MAX_TREE_DEPTH, description="levels of children=tree")


def json_body(request: Request | None) -> dict[str, Any]:
    return body_object(_present(request).raw_body or b"", MAX_BODY_BYTES,
                       "the body is empty; send a JSON object",
                       "; upload big inputs as a file")


def no_body(request: Request | None) -> None:
    """A route that takes nothing (cancel, download_link): no body, or `{}`.
    Anything else is refused rather than ignored: a client that sends fields
    expects them to mean something."""
    raw = _present(request).raw_body or b""
    if raw.strip() and json_body(request) != {}:
        raise BadRequest("this request takes no body: send none, or {}")


def submit_request(request: Request | None) -> SubmitRequest:
    return parse(SubmitRequest, json_body(request), "request body")


def job_query(request: Request | None) -> JobQuery:
    params = dict(_present(request).query_params or {})
    return parse(JobQuery, params, "query parameters")


def idempotency_key(request: Request | None) -> str | None:
    headers: Any = _present(request).headers or {}
    key = headers.get("idempotency-key")
    if key is None:
        return None
    if not 1 <= len(key) <= 255 or not set(key) <= IDEMPOTENCY_KEY_CHARS:
        raise BadRequest(
            "the Idempotency-Key header must be 1 to 255 characters of letters, digits "
            "and -_.:~+/="
        )
    return str(key)


def caller_of(request: Request | None) -> Caller:
    """The principal the authorizer verified (chalicelib.faces.auth), with the
    request's id, which feeds the job's message_ids (TrueNAS)."""
    request = _present(request)
    headers: Any = request.headers or {}
    context: Any = request.context or {}
    request_id = headers.get("x-request-id") or context.get("requestId") or str(uuid.uuid4())
    principal = principal_of(context.get("authorizer"))
    return replace(principal, request_id=request_id[:200])


def caller_checked_here(request: Request | None) -> Caller:
    """For a route declared without the authorizer because it also takes
    `?auth_token=` (/_upload): checks the credential itself, as the
    authorizer would; chalicelib.faces.auth.Refused when there is none or
    it is refused."""
    from chalicelib.wiring import authenticator

    request = _present(request)
    headers: Any = request.headers or {}
    caller = request_caller(headers, request.query_params, authenticator())
    request_id = headers.get("x-request-id") or str(uuid.uuid4())
    return replace(caller, request_id=request_id[:200])


def _present(request: Request | None) -> Request:
    if request is None:  # only outside a request, which would be a wiring bug
        raise RuntimeError("no current request")
    return request
