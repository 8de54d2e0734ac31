"""A message of a TrueNAS connection (chalicelib.faces.sockets decided its
face): one JSON-RPC 2.0 frame read, its method called, its answer sent back
through API Gateway's management API. Notifications run unanswered; a frame
over its limit closes the connection, as the middleware does (API Gateway
closes it without the middleware's close code and reason: 1007 "Anonymous
connection max message length is 8 kB", 1009 "Max message length is 64 kB").
"""

from __future__ import annotations

import errno
import logging
from typing import Any

from chalice.app import WebsocketEvent

from chalicelib.errors import BadRequest, Conflict, Forbidden, Gone, JobApiError, NotFound
from chalicelib.events.watchers import Connection
from chalicelib.faces.truenas import job_methods, jsonrpc, session_methods
from chalicelib.faces.truenas.jsonrpc import (
    CallError,
    InvalidParams,
    NotAuthenticated,
    TooManyCalls,
)
from chalicelib.wiring import services

log = logging.getLogger("jobapi.truenas")
FACE = "truenas"
OK = {"statusCode": 200}
# A service error's errno, by its class; any other is EFAULT.
ERRNOS: dict[type[JobApiError], int] = {BadRequest: errno.EINVAL, Forbidden: errno.EACCES,
                                        NotFound: errno.ENOENT, Conflict: errno.EBUSY,
                                        Gone: errno.ENOENT}


def message(event: WebsocketEvent, connection: Connection) -> dict[str, Any]:
    connection_id = connection.connection_id
    if event.to_dict().get("isBase64Encoded"):  # a binary frame: the middleware closes
        services().sender.close(connection_id)
        return OK
    try:
        request = jsonrpc.read_frame(event.body or "", connection.caller is not None)
    except jsonrpc.FrameTooLarge as too_large:
        log.warning("connection %s closed: %s", connection_id, too_large)
        services().sender.close(connection_id)
        return OK
    except jsonrpc.FrameRefused as refused:
        if refused.answer is not None:
            send(connection_id, refused.answer)
        return OK
    answer = answered(connection, request)
    if request.has_id and answer is not None:
        send(connection_id, answer)
    return OK


def answered(connection: Connection, request: jsonrpc.Request) -> dict[str, Any] | None:
    """The answer to a request; None when the event function sends it later."""
    if request.method not in session_methods.METHODS and not is_job_call(request.method):
        if connection.caller is None:
            return jsonrpc.call_error(request.id, NotAuthenticated())
        return jsonrpc.method_not_found(request.id)
    try:
        value = called(connection, request)
    except CallError as failure:
        return jsonrpc.call_error(request.id, failure)
    except InvalidParams as failure:
        return jsonrpc.invalid_params(request.id, failure)
    except TooManyCalls as failure:
        return jsonrpc.too_many_calls(request.id, failure)
    except JobApiError as failure:
        return jsonrpc.call_error(request.id, as_call_error(failure))
    except Exception:
        log.exception("truenas call %s failed", request.method[:100])
        return jsonrpc.call_error(request.id, CallError(
            "internal error; the call left no trace", errno.EFAULT))
    if value is job_methods.LATER:
        return None
    return jsonrpc.result(request.id, value)


def is_job_call(name: str) -> bool:
    return name in job_methods.METHODS or job_methods.is_job_method(name)


def called(connection: Connection, request: jsonrpc.Request) -> Any:
    if request.method in session_methods.METHODS:
        return session_methods.call(connection, request.method, request.params)
    return job_methods.call(connection, request.method, request.params, request.id,
                            request.has_id)


def as_call_error(failure: JobApiError) -> CallError:
    code = next((number for kind, number in ERRNOS.items() if isinstance(failure, kind)),
                errno.EFAULT)
    return CallError(failure.message, code)


def send(connection_id: str, body: dict[str, Any]) -> None:
    services().sender.send(connection_id, jsonrpc.text(body))
