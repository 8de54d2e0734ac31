"""Which face a WebSocket speaks, told by its first message.

On AWS one WebSocket API serves every face and routes by message, not by
path, so a connection is accepted first (with a credential, checked here as
every face checks it, or without one yet) and its face is decided by the
first message it sends: a JSON-RPC 2.0 request (an object with "jsonrpc",
or a batch of them) makes it a TrueNAS connection, anything else a native
one. The decision is kept on the connection's record; each later message
goes to that face's endpoints, each imported on first use.
"""

from __future__ import annotations

import json
from typing import Any

from chalice.app import WebsocketEvent

from chalicelib.faces.auth import Refused, request_caller
from chalicelib.lazy import LazyModule
from chalicelib.wiring import authenticator, services

# By name, imported on first use: a shared module imports no face (test_faces).
native = LazyModule("chalicelib.faces.native.event_endpoints")
truenas = LazyModule("chalicelib.faces.truenas.endpoints")

UNDECIDED = "undecided"  # a connection's face until its first message
NATIVE, TRUENAS = "native", "truenas"  # each face's FACE (a unit test holds them equal)
OK = {"statusCode": 200}


def connect(event: WebsocketEvent) -> dict[str, Any]:
    """Accepts a connection with a good credential or none (it may log in
    by message); refuses one whose credential is bad, with 401 or 403."""
    raw = event.to_dict()
    headers = {k.lower(): v for k, v in (raw.get("headers") or {}).items()}
    query = raw.get("queryStringParameters") or {}
    caller = None
    if headers.get("authorization") or query.get("auth_token"):
        try:
            caller = request_caller(headers, query, authenticator())
        except Refused as refused:
            return {"statusCode": refused.status}
    services().subscribing.connect(event.connection_id, UNDECIDED, caller)
    return OK


def message(event: WebsocketEvent) -> dict[str, Any]:
    subscribing = services().subscribing
    connection = subscribing.connection(event.connection_id)
    if connection is not None and connection.face == UNDECIDED:
        connection = subscribing.set_face(connection, face_of(event.body))
    if connection is not None and connection.face == TRUENAS:
        return truenas.message(event, connection)
    return native.message(event, connection)  # it answers a connection that is gone, too


def disconnect(event: WebsocketEvent) -> dict[str, Any]:
    services().subscribing.disconnect(event.connection_id)
    return OK


def face_of(first_message: Any) -> str:
    """"truenas" for a JSON-RPC 2.0 request or batch, else "native"."""
    text = first_message if isinstance(first_message, str) else ""
    if '"jsonrpc"' not in text:  # most messages are told apart without parsing
        return NATIVE
    try:
        body = json.loads(text)
    except ValueError:
        return NATIVE
    requests = body if isinstance(body, list) else [body]
    if requests and all(isinstance(r, dict) and "jsonrpc" in r for r in requests):
        return TRUENAS
    return NATIVE

