"""Reading what a client sent: bodies become models here, at the edge."""

from __future__ import annotations

import json
import uuid
from typing import Any

from chalice.app import Request

from chalicelib.caller import DEFAULT_TENANT, Caller
from chalicelib.errors import BadRequest
from chalicelib.models import SubmitRequest
from chalicelib.validation import parse

MAX_BODY_BYTES = 1024 * 1024


def json_body(request: Request | None) -> dict[str, Any]:
    request = _present(request)
    raw = request.raw_body or b""
    if len(raw) > MAX_BODY_BYTES:
        raise BadRequest(f"the body is larger than {MAX_BODY_BYTES} bytes")
    if not raw.strip():
        raise BadRequest("the body is empty; send a JSON object")
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadRequest(f"the body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise BadRequest(f"the body must be a JSON object, not {type(body).__name__}")
    return body


def submit_request(request: Request | None) -> SubmitRequest:
    return parse(SubmitRequest, json_body(request), "request body")


def caller_of(request: Request | None) -> Caller:
    """Until authentication lands, every caller is an anonymous member of the
    default tenant. The request id feeds the job's message_ids (TrueNAS)."""
    request = _present(request)
    headers: Any = request.headers or {}
    context: Any = request.context or {}
    request_id = headers.get("x-request-id") or context.get("requestId") or str(uuid.uuid4())
    return Caller(tenant_id=DEFAULT_TENANT, request_id=request_id[:200])


def _present(request: Request | None) -> Request:
    if request is None:  # only outside a request, which would be a wiring bug
        raise RuntimeError("no current request")
    return request
