"""`make run`'s /events WebSocket and its API Gateway Management API
(/@connections/{id}), over real sockets: the transport local/websocket.py
provides, with the app's own $connect, $default and $disconnect handlers.

The app's handlers decide who may connect (a credential in the
Authorization header, the auth_token query parameter, or the first
message); these tests hold only to that contract."""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import requests
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from tests.e2e.conftest import LocalServer
from tests.helpers import wait_until

CONNECTED = re.compile(r"WebSocket (\S+) connected")


def ws_url(server: LocalServer, query: str = "") -> str:
    return server.url.replace("http://", "ws://") + "/events" + query


def management(server: LocalServer) -> Any:
    return boto3.client("apigatewaymanagementapi", endpoint_url=server.url,
                        region_name="us-east-1")


def connected_ids(server: LocalServer) -> list[str]:
    return [m[1] for line in list(server.output) if (m := CONNECTED.search(line))]


@pytest.fixture
def watcher(server: LocalServer) -> Iterator[tuple[ClientConnection, str]]:
    """A connection the app accepted (the admin token in its header), and its id."""
    before = set(connected_ids(server))
    headers = {"Authorization": str(server.http.headers["Authorization"])}
    with connect(ws_url(server), additional_headers=headers) as ws:
        new = wait_until(lambda: [i for i in connected_ids(server) if i not in before], bool,
                         timeout=10)
        yield ws, new[0]


def receive_until(ws: ClientConnection, expected: str, timeout: float = 10) -> str:
    """The app may send messages of its own first; wait for ours."""
    deadline = time.monotonic() + timeout
    while True:
        message = ws.recv(timeout=max(0.1, deadline - time.monotonic()))
        if message == expected:
            return str(message)


def test_the_banner_names_the_websocket_url(server: LocalServer) -> None:
    assert any(ws_url(server) in line for line in server.banner)


def test_a_plain_get_of_events_is_an_answer_not_a_crash(server: LocalServer) -> None:
    answer = requests.get(f"{server.url}/events", timeout=10)

    assert 400 <= answer.status_code < 500
    assert requests.get(f"{server.url}/health", timeout=10).status_code == 200


def test_a_connect_without_a_credential_is_refused_or_left_to_the_first_message(
        server: LocalServer) -> None:
    try:
        with connect(ws_url(server)) as ws:
            # Accepted: the credential may still come in the first message.
            ws.send('{"not": "a credential"}')
            with contextlib.suppress(TimeoutError, ConnectionClosed):
                ws.recv(timeout=5)
    except InvalidStatus as refused:
        assert refused.response.status_code in (401, 403)


def test_a_credential_in_the_query_is_never_logged(server: LocalServer) -> None:
    secret = "never-log-this-credential-0123456789"
    try:
        with connect(ws_url(server, f"?auth_token={secret}")) as ws:
            ws.close()
    except InvalidStatus:
        pass  # the app refused a token it cannot read: fine here
    time.sleep(0.5)

    assert not [line for line in server.output if secret in line]


def test_post_to_connection_arrives_as_one_frame(
        server: LocalServer, watcher: tuple[ClientConnection, str]) -> None:
    ws, connection_id = watcher

    management(server).post_to_connection(ConnectionId=connection_id,
                                          Data=b'{"transport": "check"}')

    assert receive_until(ws, '{"transport": "check"}')


def test_get_connection_describes_it(server: LocalServer,
                                     watcher: tuple[ClientConnection, str]) -> None:
    _, connection_id = watcher

    answer = management(server).get_connection(ConnectionId=connection_id)

    assert answer["Identity"]["SourceIp"] == "127.0.0.1"
    assert answer["ConnectedAt"] <= answer["LastActiveAt"]


def test_an_unknown_connection_is_gone(server: LocalServer) -> None:
    client = management(server)

    with pytest.raises(client.exceptions.GoneException):
        client.post_to_connection(ConnectionId="AAAAAAAAAAAAAAA=", Data=b"x")


def test_delete_closes_the_socket(server: LocalServer,
                                  watcher: tuple[ClientConnection, str]) -> None:
    ws, connection_id = watcher
    client = management(server)

    client.delete_connection(ConnectionId=connection_id)

    with pytest.raises(ConnectionClosed):
        while True:
            ws.recv(timeout=10)
    with pytest.raises(client.exceptions.GoneException):
        client.post_to_connection(ConnectionId=connection_id, Data=b"x")
    wait_until(lambda: server.output,
               lambda lines: any(f"WebSocket {connection_id} disconnected" in line
                                 for line in lines), timeout=10)
