"""What /api_keys and /auth/tokens do, imported by their first request."""

from __future__ import annotations

from chalice.app import Request, Response

from chalicelib.faces.native.credential_params import (
    key_id,
    key_list_query,
    new_api_key,
    new_token,
)
from chalicelib.faces.native.requests import caller_of
from chalicelib.faces.native.responses import json_response, translate_errors
from chalicelib.wiring import services

NO_STORE = {"Cache-Control": "no-store"}  # an answer that holds a secret is never cached


@translate_errors
def create_api_key(request: Request) -> Response:
    body = new_api_key(request)
    created = services().api_keys.create(caller_of(request), body.name, body.roles,
                                         body.expiry())
    return json_response(created.as_dict(), 201,
                         {**NO_STORE, "Location": f"/api_keys/{created.record.key_id}"})


@translate_errors
def list_api_keys(request: Request) -> Response:
    query = key_list_query(request)
    return json_response(services().api_keys.list(caller_of(request), query.tenant_id,
                                                  query.limit, query.next_token))


@translate_errors
def revoke_api_key(request: Request, key: str) -> Response:
    revoked = key_id(key)
    services().api_keys.revoke(caller_of(request), revoked)
    return json_response({"id": revoked, "revoked": True})


@translate_errors
def create_token(request: Request) -> Response:
    body = new_token(request)
    issued = services().auth_tokens.issue(caller_of(request), body.ttl, body.single_use)
    return json_response(issued.as_dict(), 201, NO_STORE)
