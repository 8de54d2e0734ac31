"""local/websocket.py's transport, in-process: a throwaway Chalice app with
tiny WebSocket handlers behind Chalice's local server, a real WebSocket
client (`websockets`) and a real Management API client (boto3)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
import requests
from chalice import Chalice
from chalice.config import Config
from chalice.local import LocalDevServer, ThreadedHTTPServer
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from local import websocket
from local.server import free_port
from tests.helpers import wait_until


@dataclass
class Seen:
    events: list[dict[str, Any]] = field(default_factory=list)

    def of(self, route_key: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["requestContext"]["routeKey"] == route_key]


def throwaway_app(seen: Seen) -> Chalice:
    app = Chalice(app_name="ws-transport")
    app.experimental_feature_flags.update(["WEBSOCKETS"])

    @app.on_ws_connect()
    def on_connect(event: Any) -> dict[str, Any]:
        seen.events.append(event.to_dict())
        query = event.to_dict().get("queryStringParameters") or {}
        if query.get("refuse"):
            return {"statusCode": int(query["refuse"])}
        if query.get("crash"):
            raise RuntimeError("connect handler crashed")
        return {"statusCode": 200}

    @app.on_ws_message()
    def on_message(event: Any) -> dict[str, Any]:
        seen.events.append(event.to_dict())
        if event.body == "crash":
            raise RuntimeError("message handler crashed")
        return {"statusCode": 200}

    @app.on_ws_disconnect()
    def on_disconnect(event: Any) -> dict[str, Any]:
        seen.events.append(event.to_dict())
        return {"statusCode": 200}

    @app.route("/ping")
    def ping() -> dict[str, str]:
        return {"pong": "yes"}

    return app


@dataclass
class Running:
    url: str
    ws_url: str
    seen: Seen
    management: Any


@pytest.fixture
def running(monkeypatch: pytest.MonkeyPatch) -> Iterator[Running]:
    seen = Seen()
    app = throwaway_app(seen)
    port = free_port()
    server = LocalDevServer(app, Config.create(chalice_app=app), "127.0.0.1", port,
                            server_cls=ThreadedHTTPServer)
    server.server.daemon_threads = True
    websocket.install(app)
    thread = threading.Thread(target=server.server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    management = boto3.client("apigatewaymanagementapi", endpoint_url=url,
                              region_name="us-east-1")
    try:
        yield Running(url, f"ws://127.0.0.1:{port}/events", seen, management)
    finally:
        server.shutdown()
        server.server.server_close()
        websocket.uninstall()


def connection_id(running: Running) -> str:
    connects = wait_until(lambda: running.seen.of("$connect"), bool)
    return str(connects[-1]["requestContext"]["connectionId"])


def test_a_connect_reaches_the_handler_in_api_gateways_shape(running: Running) -> None:
    with connect(running.ws_url + "?auth_token=secret&x=1",
                 additional_headers={"Authorization": "Bearer abc"}):
        event = wait_until(lambda: running.seen.of("$connect"), bool)[0]

    context = event["requestContext"]
    assert context["eventType"] == "CONNECT"
    assert context["stage"] == "api" and context["apiId"] == "local"
    assert context["domainName"] == running.url.removeprefix("http://")
    assert len(context["connectionId"]) == 16 and context["connectionId"].endswith("=")
    assert event["headers"]["Authorization"] == "Bearer abc"
    assert event["queryStringParameters"] == {"auth_token": "secret", "x": "1"}
    assert event["isBase64Encoded"] is False


@pytest.mark.parametrize("status", [401, 403])
def test_a_connect_handler_refusal_refuses_the_handshake(running: Running, status: int) -> None:
    with pytest.raises(InvalidStatus) as refused:
        connect(running.ws_url + f"?refuse={status}")

    assert refused.value.response.status_code == status
    assert running.seen.of("$disconnect") == []  # never connected, as on API Gateway


def test_a_crashing_connect_handler_is_a_500_and_the_server_lives(running: Running) -> None:
    with pytest.raises(InvalidStatus) as refused:
        connect(running.ws_url + "?crash=1")

    assert refused.value.response.status_code == 500
    assert requests.get(f"{running.url}/ping", timeout=5).json() == {"pong": "yes"}


def test_messages_reach_the_default_handler_text_and_binary(running: Running) -> None:
    with connect(running.ws_url) as ws:
        ws.send("hello")
        ws.send(b"\x00\x01")
        messages = wait_until(lambda: running.seen.of("$default"), lambda m: len(m) == 2)

    assert [(m["body"], m["isBase64Encoded"]) for m in messages] == [
        ("hello", False), ("AAE=", True)]
    assert messages[0]["requestContext"]["eventType"] == "MESSAGE"


def test_a_message_over_128_kb_closes_with_1009(running: Running) -> None:
    with connect(running.ws_url, max_size=None) as ws:
        ws.send("x" * (128 * 1024 + 1))
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)

    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009


def test_a_crashing_message_handler_answers_internal_server_error(running: Running) -> None:
    with connect(running.ws_url) as ws:
        ws.send("crash")
        answer = json.loads(ws.recv(timeout=5))
        ws.send("still here")
        wait_until(lambda: running.seen.of("$default"), lambda m: len(m) == 2)

    assert answer["message"] == "Internal server error"
    assert answer["connectionId"] == connection_id(running)


def test_post_to_connection_arrives_as_one_frame(running: Running) -> None:
    with connect(running.ws_url) as ws:
        running.management.post_to_connection(ConnectionId=connection_id(running),
                                              Data=b'{"event": "added"}')
        assert ws.recv(timeout=5) == '{"event": "added"}'


def test_get_connection_describes_it(running: Running) -> None:
    with connect(running.ws_url):
        answer = running.management.get_connection(ConnectionId=connection_id(running))

    assert answer["Identity"]["SourceIp"] == "127.0.0.1"
    assert answer["ConnectedAt"] <= answer["LastActiveAt"]


def test_an_unknown_connection_is_gone(running: Running) -> None:
    client = running.management
    with pytest.raises(client.exceptions.GoneException):
        client.post_to_connection(ConnectionId="AAAAAAAAAAAAAAA=", Data=b"x")
    with pytest.raises(client.exceptions.GoneException):
        client.get_connection(ConnectionId="AAAAAAAAAAAAAAA=")


def test_delete_closes_the_socket_and_disconnects_once(running: Running) -> None:
    with connect(running.ws_url) as ws:
        connection = connection_id(running)
        running.management.delete_connection(ConnectionId=connection)
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)

    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1000
    disconnects = wait_until(lambda: running.seen.of("$disconnect"), bool)
    assert [d["requestContext"]["connectionId"] for d in disconnects] == [connection]
    with pytest.raises(running.management.exceptions.GoneException):
        running.management.post_to_connection(ConnectionId=connection, Data=b"x")


def test_a_client_close_disconnects_once_with_its_code(running: Running) -> None:
    with connect(running.ws_url) as ws:
        connection = connection_id(running)
        ws.close(code=4000, reason="bye")

    disconnect = wait_until(lambda: running.seen.of("$disconnect"), bool)
    assert len(disconnect) == 1
    context = disconnect[0]["requestContext"]
    assert (context["connectionId"], context["eventType"]) == (connection, "DISCONNECT")
    assert context["disconnectStatusCode"] == 4000


def test_sends_from_many_threads_arrive_whole(running: Running) -> None:
    with connect(running.ws_url) as ws:
        connection = connection_id(running)

        def post(n: int) -> None:
            client = boto3.client("apigatewaymanagementapi", endpoint_url=running.url,
                                  region_name="us-east-1")
            for i in range(10):
                client.post_to_connection(ConnectionId=connection, Data=f"{n}-{i}".encode())

        threads = [threading.Thread(target=post, args=(n,)) for n in range(5)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        received = {ws.recv(timeout=5) for _ in range(50)}

    assert received == {f"{n}-{i}" for n in range(5) for i in range(10)}


def test_a_plain_get_of_events_goes_to_the_app_routes(running: Running) -> None:
    answer = requests.get(f"{running.url}/events", timeout=5)

    assert answer.status_code in (403, 404)
    assert requests.get(f"{running.url}/ping", timeout=5).status_code == 200
