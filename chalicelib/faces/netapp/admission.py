"""Who calls the NetApp face.

Its routes are declared without API Gateway's authorizer, whose refusal has
the native body: the face checks the Authorization header itself, with
every face's check (chalicelib.faces.auth.checked_caller: Basic with an API
key as the password, Bearer with a JWT or an API key, Token; the same cache),
and refuses a missing or untrusted credential with 401 in its own envelope.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

from chalice.app import Request

from chalicelib.caller import Caller
from chalicelib.errors import Unauthorized
from chalicelib.faces.auth import Refused, checked_caller
from chalicelib.wiring import authenticator

NOT_AUTHORIZED = ("Unauthorized: send an Authorization header: Basic <user:API key>, "
                  "Bearer <JWT or API key> or Token <token>")


def admitted(request: Request | None) -> Caller:
    """The caller, with the request's id (it feeds a new job's message_ids)."""
    if request is None:  # only outside a request, which would be a wiring bug
        raise RuntimeError("no current request")
    try:
        caller = checked_caller(request, authenticator())
    except Refused:
        raise Unauthorized(NOT_AUTHORIZED) from None
    headers: Any = request.headers or {}
    context: Any = request.context or {}
    request_id = headers.get("x-request-id") or context.get("requestId") or str(uuid.uuid4())
    return replace(caller, request_id=str(request_id)[:200])
