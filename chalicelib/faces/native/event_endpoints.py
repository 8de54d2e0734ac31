"""/events, the native face's WebSocket: what its connect, message and
disconnect handlers do, and how it renders an event (JSON objects).

Client -> server, one JSON object per message:

    {"type": "auth", "authorization": "Bearer <jwt or key>" | "Token <t>" | ...}
    {"type": "subscribe", "id": "s1", "query": {<GET /jobs parameters>},
     "snapshot": false | true | {"limit": N}}
    {"type": "unsubscribe", "id": "s1"}
    {"type": "ping"}

Server -> client: {"type": "authenticated" | "subscribed" | "snapshot" |
"unsubscribed" | "pong" | "event" | "error", ...}; see README "Events".
A credential may also come with the connection (chalicelib.faces.sockets
checks it, for every face): the Authorization header, or
`?auth_token=<short-lived token>` (a URL may be logged by a proxy: only a
token that dies within minutes belongs there).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from chalice.app import WebsocketEvent
from pydantic import BaseModel, ConfigDict, Field

from chalicelib.caller import Caller
from chalicelib.errors import BadRequest, JobApiError, PayloadTooLarge
from chalicelib.events.delivery import Delivery
from chalicelib.events.subscribing import NotAuthenticated
from chalicelib.events.watchers import Connection
from chalicelib.faces.auth import Refused, request_caller
from chalicelib.faces.json_input import client_json
from chalicelib.faces.native.list_params import ListParams, list_query
from chalicelib.listing import MAX_LIMIT
from chalicelib.validation import parse
from chalicelib.views import Viewer, job_view
from chalicelib.wiring import authenticator, services

log = logging.getLogger("jobapi.events")
FACE = "native"
MAX_MESSAGE_BYTES = 96 * 1024  # API Gateway sends at most 128 KB per message
OK = {"statusCode": 200}
# GET /jobs parameters that mean nothing to a subscription.
NOT_FOR_SUBSCRIPTIONS = ("count", "get", "total", "select", "raw_result", "next_token",
                         "offset")


class Subscribe(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    type: str
    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    query: dict[str, Any] = Field(default_factory=dict)
    snapshot: bool | dict[str, int] = False


class Named(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    type: str
    id: str = Field(min_length=1, max_length=64)


class Auth(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    type: str
    authorization: str = Field(min_length=1, max_length=8192)


def message(event: WebsocketEvent, connection: Connection | None) -> dict[str, Any]:
    """One message on `connection` as chalicelib.faces.sockets read it (None:
    gone, or never accepted)."""
    connection_id = event.connection_id
    request_id: str | None = None
    try:
        body = _message_body(event)
        request_id = body.get("id") if isinstance(body.get("id"), str) else None
        if connection is None:  # its $connect was refused or it expired
            raise NotAuthenticated()
        _dispatch(connection, body)
    except NotAuthenticated:
        _send(connection_id, _error(request_id, "unauthorized",
                                    "send {\"type\": \"auth\", \"authorization\": ...} first"))
        services().sender.close(connection_id)
    except Refused as refused:
        _send(connection_id, {"type": "error", "error": refused.body["error"]})
        services().sender.close(connection_id)
    except JobApiError as error:
        _send(connection_id, _error(request_id, error.code, error.message, error.details))
    except Exception:
        log.exception("events message failed")
        _send(connection_id, _error(request_id, "internal_error",
                                    "internal error; the message left no trace"))
    return OK


def _dispatch(connection: Connection, body: dict[str, Any]) -> None:
    kind = body.get("type")
    if kind == "auth":
        _authenticate(connection, parse(Auth, body, "auth message"))
    elif connection.caller is None:
        raise NotAuthenticated()
    elif kind == "subscribe":
        _subscribe(connection, parse(Subscribe, body, "subscribe message"))
    elif kind == "unsubscribe":
        named = parse(Named, body, "unsubscribe message")
        if not services().subscribing.unsubscribe(connection, named.id):
            raise BadRequest(f"no subscription {named.id!r} on this connection")
        _send(connection.connection_id, {"type": "unsubscribed", "id": named.id})
    elif kind == "ping":
        _send(connection.connection_id, {"type": "pong"})
    else:
        raise BadRequest("type must be auth, subscribe, unsubscribe or ping")


def _authenticate(connection: Connection, auth: Auth) -> None:
    if connection.caller is not None:
        raise BadRequest("this connection is authenticated already")
    caller = request_caller({"authorization": auth.authorization}, {}, authenticator())
    services().subscribing.authenticate(connection, caller)
    _send(connection.connection_id, {"type": "authenticated", "tenant_id": caller.tenant_id,
                                      "user_id": caller.user_id})


def _subscribe(connection: Connection, request: Subscribe) -> None:
    params, snapshot_limit = _list_params(request)
    query = list_query(params)
    filters = list(query.fingerprint["filters"])  # the client's, shorthands folded in
    subscribing = services().subscribing
    subscribing.subscribe(connection, request.id, query, filters)
    _send(connection.connection_id, {"type": "subscribed", "id": request.id})
    if snapshot_limit:
        page = subscribing.snapshot(connection, query)
        viewer = Viewer(_caller(connection))
        _send_snapshot(connection.connection_id, request.id,
                       [job_view(job, viewer) for job in page.jobs], page.next_token)


def _list_params(request: Subscribe) -> tuple[ListParams, int]:
    given = dict(request.query)
    for name in NOT_FOR_SUBSCRIPTIONS:
        if name in given:
            raise BadRequest(f"query.{name} does not apply to a subscription")
    text = {name: _parameter(value) for name, value in given.items()}
    limit = 0
    if request.snapshot:
        asked = request.snapshot if isinstance(request.snapshot, dict) else {}
        unknown = set(asked) - {"limit"}
        if unknown:
            raise BadRequest("snapshot takes only limit")
        limit = int(asked.get("limit", 50))
        if not 1 <= limit <= MAX_LIMIT:
            raise BadRequest(f"snapshot.limit must be 1 to {MAX_LIMIT}")
        text["limit"] = str(limit)
    return parse(ListParams, text, "subscription query"), limit


def _parameter(value: Any) -> str:
    """A query value as GET /jobs would receive it: text (lists as JSON)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else json.dumps(value)


def render(delivery: Delivery) -> str:
    """An event as the native face sends it: one JSON object."""
    event = delivery.event
    body: dict[str, Any] = {"type": "event", "id": delivery.subscription.subscription_id,
                            "event": event.kind, "job_id": event.job.id,
                            "revision": event.revision, "fields": list(event.fields),
                            "job": delivery.view}
    text = _text(body)
    if len(text.encode()) > MAX_MESSAGE_BYTES:  # too big for one message: fetch it instead
        body.pop("job")
        body["truncated"] = True
        text = _text(body)
    return text


def _send_snapshot(connection_id: str, subscription_id: str, records: list[dict[str, Any]],
                   next_token: str | None) -> None:
    """The snapshot in messages under API Gateway's size limit."""
    chunk: list[dict[str, Any]] = []
    size = 0
    for record in records:
        record_size = len(_text(record).encode())
        if chunk and size + record_size > MAX_MESSAGE_BYTES:
            _send(connection_id, {"type": "snapshot", "id": subscription_id, "records": chunk,
                                  "last": False})
            chunk, size = [], 0
        chunk.append(record)
        size += record_size
    _send(connection_id, {"type": "snapshot", "id": subscription_id, "records": chunk,
                          "last": True, "next_token": next_token})


def _message_body(event: WebsocketEvent) -> dict[str, Any]:
    raw = event.body or ""
    if len(raw.encode() if isinstance(raw, str) else raw) > MAX_MESSAGE_BYTES:
        raise PayloadTooLarge(f"a message is at most {MAX_MESSAGE_BYTES} bytes")
    body = client_json(raw, "the message")
    if not isinstance(body, dict):
        raise BadRequest("a message is a JSON object with a type")
    return body


def _caller(connection: Connection) -> Caller:
    if connection.caller is None:
        raise NotAuthenticated()
    return connection.caller


def _error(request_id: str | None, code: str, message: str,
           details: Any = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        error["details"] = details
    answer: dict[str, Any] = {"type": "error", "error": error}
    if request_id is not None:
        answer["id"] = request_id[:64]
    return answer


def _send(connection_id: str, body: dict[str, Any]) -> None:
    services().sender.send(connection_id, _text(body))


def _text(body: Any) -> str:
    return json.dumps(body, separators=(",", ":"))
