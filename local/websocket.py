"""API Gateway's WebSocket API, locally, on the local server's own port.

On AWS, watchers connect to an API Gateway WebSocket API: it calls the
app's $connect, $default and $disconnect handlers (Chalice's
on_ws_connect, on_ws_message, on_ws_disconnect) with its own event shapes,
and the app talks back through the API Gateway Management API
(POST/GET/DELETE /@connections/{id}, boto3's "apigatewaymanagementapi").
`install(app)` makes Chalice's local server do both: a GET /events (or a
TrueNAS path: /api/current, /api/v25.04.0) with `Upgrade: websocket`
becomes a WebSocket (spoken with the `websockets`
library's sans-I/O protocol on the request's own socket, in its own server
thread), and /@connections/{id} answers as the Management API does,
GoneException and all, so the app's code is the same on both.

What API Gateway does, done here too: a $connect answer other than 2xx
refuses the handshake with that status; a message over 128 KB closes the
connection with 1009; a handler that raises is logged, refuses a connect
with 500, and answers a message with API Gateway's "Internal server error"
message; $disconnect is called once, whoever closes. A connection cannot be
sent to before its $connect handler has accepted it.
"""

from __future__ import annotations

import base64
import contextlib
import email.utils
import json
import logging
import re
import secrets
import socket
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from functools import wraps
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from chalice import Chalice
from chalice.local import ChaliceRequestHandler
from websockets.frames import Frame, Opcode
from websockets.http11 import Request
from websockets.protocol import State
from websockets.server import ServerProtocol

logger = logging.getLogger("jobapi.local")

EVENTS_PATH = "/events"
# The TrueNAS face's paths (/api/current, /api/v25.04.0, ...): the same
# WebSocket API, the face told by the first message (chalicelib.faces.sockets).
TRUENAS_PATH = re.compile(r"^/api/(?:current|v[0-9]+(?:\.[0-9]+)*)$")
# What Chalice deploys the WebSocket API as (its stage is always "api").
STAGE = "api"
API_ID = "local"
# API Gateway's limit on one WebSocket message, either way.
MAX_MESSAGE_BYTES = 128 * 1024
# How long a closing connection may take to finish the closing handshake
# before its socket is shut (a client that never answers must not hold a thread).
CLOSE_TIMEOUT = 5.0
# boto3 appends /@connections/{id} to the endpoint's path (a stage, on AWS).
MANAGEMENT_PATH = re.compile(r"^(?:/[^/@]+)*/@connections/(?P<id>[^/]+)$")
INTERNAL_ERROR = "Internal server error"


class Connection:
    """One open WebSocket. Every use of its protocol and socket holds its
    lock: the reader thread and any thread sending to it take turns."""

    def __init__(self, connection_id: str, protocol: ServerProtocol, sock: socket.socket,
                 source_ip: str, user_agent: str) -> None:
        self.id = connection_id
        self.source_ip = source_ip
        self.user_agent = user_agent
        self.connected_at = time.time()
        self.last_active_at = self.connected_at
        self._protocol = protocol
        self._socket = sock
        self._lock = threading.Lock()
        self._close_timer: threading.Timer | None = None

    @property
    def is_open(self) -> bool:
        return self._protocol.state is State.OPEN

    def send(self, message: bytes) -> bool:
        """Send one message (text if it is UTF-8, as the Management API
        relays it); False if the connection is no longer open."""
        with self._lock:
            if not self.is_open:
                return False
            try:
                message.decode("utf-8")
                self._protocol.send_text(message)
            except UnicodeDecodeError:
                self._protocol.send_binary(message)
            self.last_active_at = time.time()
            return self._flush()

    def close(self, code: int = 1000, reason: str = "") -> None:
        with self._lock:
            if self.is_open:
                self._protocol.send_close(code, reason)
                self._flush()

    def fail(self, code: int, reason: str = "") -> None:
        """Close without waiting for the client (a protocol violation)."""
        with self._lock:
            self._protocol.fail(code, reason)
            self._flush()

    def receive(self, data: bytes) -> list[Any]:
        """Feed what the socket gave (b"" at its end); returns the frames."""
        with self._lock:
            if data:
                self._protocol.receive_data(data)
                self.last_active_at = time.time()
            else:
                self._protocol.receive_eof()
            events = self._protocol.events_received()
            self._flush()
            return events

    @property
    def finished(self) -> bool:
        return self._protocol.state is State.CLOSED

    @property
    def close_code(self) -> int:
        return int(self._protocol.close_code or 1006)

    @property
    def close_reason(self) -> str:
        return self._protocol.close_reason or ""

    def shut(self) -> None:
        """Make the reader's blocking read end (a closing client that stalls)."""
        with contextlib.suppress(OSError):  # already gone
            shutdown(self._socket, socket.SHUT_RDWR)

    def send_pending(self) -> bool:
        """Write what the protocol has queued (the handshake's answer)."""
        with self._lock:
            return self._flush()

    def cancel_timer(self) -> None:
        if self._close_timer is not None:
            self._close_timer.cancel()

    def _flush(self) -> bool:
        """Write what the protocol has to send; an empty chunk means "end of
        stream". False if the socket failed."""
        try:
            for data in self._protocol.data_to_send():
                if data:
                    self._socket.sendall(data)
                else:
                    shutdown(self._socket, socket.SHUT_WR)
                    self._arm_close_timer()
        except OSError:
            self._protocol.fail(1006)
            self._protocol.data_to_send()
            self._arm_close_timer()
            return False
        if self._protocol.state is State.CLOSING:
            self._arm_close_timer()
        return True

    def _arm_close_timer(self) -> None:
        if self._close_timer is None:
            self._close_timer = threading.Timer(CLOSE_TIMEOUT, self.shut)
            self._close_timer.daemon = True
            self._close_timer.start()


def shutdown(sock: socket.socket, how: int) -> None:
    """Shut the connection's TCP stream. Over TLS (`make run TLS=1`) not with
    SSLSocket.shutdown, which also drops the TLS session: what the client
    still sends (its closing frame) would then be read undecrypted."""
    socket.socket.shutdown(sock, how)


class Registry:
    """The open connections by id, as API Gateway keeps them."""

    def __init__(self) -> None:
        self._connections: dict[str, Connection] = {}
        self._lock = threading.Lock()

    def add(self, connection: Connection) -> None:
        with self._lock:
            self._connections[connection.id] = connection

    def remove(self, connection_id: str) -> None:
        with self._lock:
            self._connections.pop(connection_id, None)

    def get(self, connection_id: str) -> Connection | None:
        with self._lock:
            connection = self._connections.get(connection_id)
        return connection if connection is not None and connection.is_open else None


CONNECTIONS = Registry()


def new_connection_id() -> str:
    """Like API Gateway's: 16 characters of base64 ending in "=" (url-safe
    here, so that it needs no escaping in a path)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(11)).decode("ascii")


# --- the events handed to the app's handlers -------------------------------


def route_handler(app: Chalice, route_key: str) -> Callable[..., Any] | None:
    """The handler Lambda would run for this route (Chalice's wrapper)."""
    config = app.websocket_handlers.get(route_key)
    return None if config is None else app.handler_map.get(config.name)


def request_context(connection: Connection, domain_name: str, route_key: str,
                    event_type: str, **extra: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    request_id = str(uuid.uuid4())
    return {
        "routeKey": route_key,
        "eventType": event_type,
        "extendedRequestId": request_id,
        "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "messageDirection": "IN",
        "stage": STAGE,
        "connectedAt": int(connection.connected_at * 1000),
        "requestTimeEpoch": int(now.timestamp() * 1000),
        "identity": {"sourceIp": connection.source_ip, "userAgent": connection.user_agent},
        "requestId": request_id,
        "domainName": domain_name,
        "connectionId": connection.id,
        "apiId": API_ID,
        **extra,
    }


def connect_event(connection: Connection, domain_name: str, request: Request,
                  query: str) -> dict[str, Any]:
    headers: dict[str, str] = {}
    multi_headers: dict[str, list[str]] = {}
    for name, value in request.headers.raw_items():
        headers[name] = value
        multi_headers.setdefault(name, []).append(value)
    parameters = parse_qs(query, keep_blank_values=True)
    return {
        "requestContext": request_context(connection, domain_name, "$connect", "CONNECT"),
        "headers": headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": {k: v[-1] for k, v in parameters.items()} or None,
        "multiValueQueryStringParameters": parameters or None,
        "isBase64Encoded": False,
    }


def message_event(connection: Connection, domain_name: str, payload: bytes,
                  is_text: bool) -> dict[str, Any]:
    context = request_context(connection, domain_name, "$default", "MESSAGE",
                              messageId=str(uuid.uuid4()))
    body = payload.decode("utf-8") if is_text else base64.b64encode(payload).decode("ascii")
    return {"requestContext": context, "body": body, "isBase64Encoded": not is_text}


def disconnect_event(connection: Connection, domain_name: str) -> dict[str, Any]:
    context = request_context(connection, domain_name, "$disconnect", "DISCONNECT",
                              disconnectStatusCode=connection.close_code,
                              disconnectReason=connection.close_reason)
    return {"requestContext": context, "headers": {}, "isBase64Encoded": False}


def invoke(app: Chalice, route_key: str, event: dict[str, Any]) -> int | None:
    """Run the route's handler as Lambda would; its status code, None if it
    raised (logged, never passed on: this is the connection's own thread)."""
    handler = route_handler(app, route_key)
    if handler is None:
        return 200
    try:
        answer = handler(event, None)
    except Exception:
        logger.exception("WebSocket %s handler failed (connection %s)", route_key,
                         event["requestContext"]["connectionId"])
        return None
    if isinstance(answer, dict):
        return int(answer.get("statusCode", 200))
    return 200


# --- one WebSocket, from handshake to close --------------------------------


def serve_websocket(handler: ChaliceRequestHandler, app: Chalice) -> None:
    """Speak WebSocket on this request's socket until it closes."""
    handler.close_connection = True  # the socket is the WebSocket's from now on
    protocol = ServerProtocol(max_size=MAX_MESSAGE_BYTES)
    connection = Connection(new_connection_id(), protocol, handler.connection,
                            handler.client_address[0], handler.headers.get("User-Agent", ""))
    domain_name = f"127.0.0.1:{handler.server.server_address[1]}"
    request = next((e for e in connection.receive(raw_request(handler))
                    if isinstance(e, Request)), None)
    if request is None:  # not even HTTP: the protocol has closed the socket
        return
    response = protocol.accept(request)
    if response.status_code == 101:
        event = connect_event(connection, domain_name, request, urlsplit(request.path).query)
        status = invoke(app, "$connect", event) or 500
        if not 200 <= status < 300:
            response = protocol.reject(status, f"{HTTPStatus(status).phrase}\n")
    accepted = response.status_code == 101
    if accepted:
        # Known before the client hears its 101: a client whose connect has
        # returned can be reached at once (@connections), as on API Gateway.
        CONNECTIONS.add(connection)
    protocol.send_response(response)
    if not connection.send_pending():
        CONNECTIONS.remove(connection.id)
        return
    handler.log_request(response.status_code)
    if not accepted:
        return
    # The access log names the connection (never the request's query: it may
    # carry a credential), so that a log can be matched to the app's.
    handler.log_message("WebSocket %s connected", connection.id)
    try:
        read_until_closed(handler, connection, app, domain_name)
    finally:
        CONNECTIONS.remove(connection.id)
        connection.cancel_timer()
        invoke(app, "$disconnect", disconnect_event(connection, domain_name))
        handler.log_message("WebSocket %s disconnected (%d)", connection.id,
                            connection.close_code)


def raw_request(handler: ChaliceRequestHandler) -> bytes:
    """The request as it came, from what http.server has already parsed."""
    lines = [handler.requestline, *(f"{k}: {v}" for k, v in handler.headers.raw_items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def read_until_closed(handler: ChaliceRequestHandler, connection: Connection,
                      app: Chalice, domain_name: str) -> None:
    message = MessageAssembler()
    while not connection.finished:
        try:
            # read1: what http.server's buffer already holds first, then one recv.
            data = handler.rfile.read1(65536)
        except OSError:
            data = b""
        for frame in connection.receive(data):
            payload = message.add(frame)
            if payload is not None:
                deliver(app, connection, domain_name, payload, message.is_text)
        if not data:
            return


class MessageAssembler:
    """Joins a fragmented message's frames (the protocol yields frames, and
    has already bounded the whole message by MAX_MESSAGE_BYTES)."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self.is_text = True

    def add(self, frame: Frame) -> bytes | None:
        if frame.opcode in (Opcode.TEXT, Opcode.BINARY):
            self.is_text = frame.opcode is Opcode.TEXT
            self._parts = [bytes(frame.data)]
        elif frame.opcode is Opcode.CONT:
            self._parts.append(bytes(frame.data))
        else:
            return None  # ping, pong and close: the protocol answers them
        if not frame.fin:
            return None
        payload, self._parts = b"".join(self._parts), []
        return payload


def deliver(app: Chalice, connection: Connection, domain_name: str, payload: bytes,
            is_text: bool) -> None:
    if is_text:
        try:
            payload.decode("utf-8")
        except UnicodeDecodeError:
            connection.fail(1007, "invalid UTF-8")
            return
    event = message_event(connection, domain_name, payload, is_text)
    if invoke(app, "$default", event) is None:
        # What API Gateway sends back when the integration fails (a handler
        # that answers a 500 itself gets nothing sent back).
        connection.send(json.dumps({
            "message": INTERNAL_ERROR, "connectionId": connection.id,
            "requestId": event["requestContext"]["requestId"]}).encode())


# --- the Management API: /@connections/{id} --------------------------------


def serve_management(handler: ChaliceRequestHandler, connection_id: str) -> None:
    if handler.client_address[0] != "127.0.0.1":
        # The Management API is IAM-signed on AWS; locally only this machine may use it.
        answer_json(handler, 403, {"message": "Forbidden"}, "ForbiddenException")
        return
    body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
    connection = CONNECTIONS.get(connection_id)
    if connection is None:
        answer_json(handler, 410, {"message": "Gone"}, "GoneException")
    elif handler.command == "POST":
        post_to_connection(handler, connection, body)
    elif handler.command == "DELETE":
        connection.close(1000)
        answer_json(handler, 204, None)
    else:
        # The wire names (boto3 shows them as ConnectedAt, Identity.SourceIp, ...).
        answer_json(handler, 200, {
            "connectedAt": iso_time(connection.connected_at),
            "identity": {"sourceIp": connection.source_ip, "userAgent": connection.user_agent},
            "lastActiveAt": iso_time(connection.last_active_at),
        })


def post_to_connection(handler: ChaliceRequestHandler, connection: Connection,
                       body: bytes) -> None:
    if len(body) > MAX_MESSAGE_BYTES:
        answer_json(handler, 413, {"message": "Message too long"}, "PayloadTooLargeException")
    elif connection.send(body):
        answer_json(handler, 200, None)
    else:
        answer_json(handler, 410, {"message": "Gone"}, "GoneException")


def iso_time(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def answer_json(handler: ChaliceRequestHandler, status: int, body: Any,
                error_type: str | None = None) -> None:
    data = b"" if body is None else json.dumps(body).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.send_header("x-amzn-RequestId", str(uuid.uuid4()))
    handler.send_header("Date", email.utils.formatdate(usegmt=True))
    if error_type:
        # boto3 takes the error's code from this header.
        handler.send_header("x-amzn-ErrorType", error_type)
    handler.end_headers()
    handler.wfile.write(data)


# --- the hook into Chalice's local server ----------------------------------


def is_websocket_request(handler: ChaliceRequestHandler) -> bool:
    upgrade = handler.headers.get("Upgrade", "")
    path = urlsplit(handler.path).path
    return (handler.command == "GET" and (path == EVENTS_PATH or bool(TRUENAS_PATH.match(path)))
            and "websocket" in upgrade.lower())


def management_connection_id(handler: ChaliceRequestHandler) -> str | None:
    match = MANAGEMENT_PATH.match(urlsplit(handler.path).path)
    return unquote(match["id"]) if match else None


def install(app: Chalice) -> None:
    """Serve /events, /api/current (and /api/v<version>) and /@connections/{id}
    on Chalice's local server, before its routing, with `app`'s WebSocket
    handlers (idempotent: the last app wins)."""
    for method in ("do_GET", "do_POST", "do_DELETE"):
        current = getattr(ChaliceRequestHandler, method)
        original = getattr(current, "original", current)
        setattr(ChaliceRequestHandler, method, _intercepting(original, app))


def _intercepting(original: Callable[[ChaliceRequestHandler], None],
                  app: Chalice) -> Callable[[ChaliceRequestHandler], None]:
    @wraps(original)
    def handle(handler: ChaliceRequestHandler) -> None:
        if is_websocket_request(handler):
            serve_websocket(handler, app)
            return
        connection_id = management_connection_id(handler)
        if connection_id is not None:
            serve_management(handler, connection_id)
            return
        original(handler)

    handle.original = original  # type: ignore[attr-defined]
    return handle


def uninstall() -> None:
    """Chalice's local server as it was (for tests that install a throwaway app)."""
    for method in ("do_GET", "do_POST", "do_DELETE"):
        current = getattr(ChaliceRequestHandler, method)
        setattr(ChaliceRequestHandler, method, getattr(current, "original", current))
