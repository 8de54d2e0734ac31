"""Job events (issue 17) over a real WebSocket, through `make run`'s server:
the `websockets` client subscribes at ws://…/events, jobs are submitted over
HTTP, and what arrives is the stream's records delivered by the same event
function Lambda would run (local/streams.py)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from tests.e2e.conftest import LocalServer
from tests.helpers import token_for

TERMINAL = {"SUCCESS", "FAILED", "ABORTED"}


def ws_url(server: LocalServer) -> str:
    return server.url.replace("http://", "ws://") + "/events"


@contextmanager
def watcher(server: LocalServer, token: str | None = None,
            **subscribe: Any) -> Iterator[ClientConnection]:
    headers = {"Authorization": f"Bearer {token or token_for('acme', 'ann', ())}"}
    with connect(ws_url(server), additional_headers=headers, open_timeout=10) as socket:
        if subscribe:
            socket.send(json.dumps({"type": "subscribe", **subscribe}))
            assert json.loads(socket.recv(timeout=10))["type"] == "subscribed"
        yield socket


def until(socket: ClientConnection, done: Any, timeout: float = 30) -> list[dict[str, Any]]:
    """Messages until `done(message)` holds (that one included)."""
    got: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = json.loads(socket.recv(timeout=max(0.1, deadline - time.monotonic())))
        got.append(message)
        if done(message):
            return got
    raise AssertionError(f"gave up; got {got}")


def submit(server: LocalServer, method: str, params: dict[str, Any],
           token: str | None = None) -> str:
    bearer = f"Bearer {token or token_for('acme', 'ann', ())}"
    answer = requests.post(f"{server.url}/jobs", json={"method": method, "params": params},
                           headers={"Authorization": bearer}, timeout=10)
    assert answer.status_code == 202, answer.text
    return str(answer.json()["id"])


def ended(job_id: str) -> Any:
    return lambda m: (m.get("type") == "event" and m["job_id"] == job_id
                      and m["job"]["state"] in TERMINAL)


def test_a_watcher_receives_added_then_changed_in_revision_order_to_the_end(
    server: LocalServer,
) -> None:
    with watcher(server, id="s", query={"method": "demo.sleep"}) as socket:
        job_id = submit(server, "demo.sleep", {"seconds": 1, "steps": 4})
        events = [m for m in until(socket, ended(job_id)) if m.get("job_id") == job_id]

    assert events[0]["event"] == "added" and events[0]["revision"] == 1
    assert [e["revision"] for e in events] == sorted({e["revision"] for e in events})
    assert events[-1]["job"]["state"] == "SUCCESS"
    assert any(e["job"]["progress"]["percent"] for e in events[1:-1])  # progress moved


def test_cancel_and_consume_produce_their_events(server: LocalServer) -> None:
    admin = token_for("acme", "ann", ())
    with watcher(server, id="all", query={}) as socket:
        running = submit(server, "demo.sleep", {"seconds": 30, "steps": 300})
        until(socket, lambda m: m.get("job_id") == running and m["job"]["state"] == "RUNNING")
        requests.post(f"{server.url}/jobs/{running}/cancel", timeout=10,
                      headers={"Authorization": f"Bearer {admin}"})
        until(socket, ended(running))
        done = submit(server, "demo.echo", {})
        until(socket, ended(done))
        requests.get(f"{server.url}/jobs/{done}/result?consume=true", timeout=10,
                     headers={"Authorization": f"Bearer {admin}"})
        removed = until(socket, lambda m: m.get("job_id") == done and m["event"] == "removed")

    assert removed[-1]["event"] == "removed"


def test_a_snapshot_then_live_events_lose_nothing_while_jobs_change(
    server: LocalServer,
) -> None:
    token = token_for("snap", "sam", ())
    stop = threading.Event()
    made: list[str] = []

    def keep_submitting() -> None:
        while not stop.is_set():
            made.append(submit(server, "demo.echo", {"n": len(made)}, token))

    maker = threading.Thread(target=keep_submitting)
    maker.start()
    time.sleep(1)
    try:
        with watcher(server, token) as socket:
            socket.send(json.dumps({"type": "subscribe", "id": "s", "query": {},
                                    "snapshot": {"limit": 1000}}))
            first = until(socket, lambda m: m.get("type") == "snapshot" and m["last"])
            time.sleep(1)
            stop.set()
            maker.join()
            last = made[-1]
            rest = until(socket, ended(last))
    finally:
        stop.set()
        maker.join()

    seen = {r["id"] for m in first if m.get("type") == "snapshot" for r in m["records"]}
    seen |= {m["job_id"] for m in first + rest if m.get("type") == "event"}
    assert set(made) <= seen  # every job: in the snapshot, or an event, or both


def test_another_tenant_or_user_receives_nothing(server: LocalServer) -> None:
    with watcher(server, token_for("acme", "bob", ()), id="all", query={}) as bob, \
            watcher(server, token_for("globex", "olga", ("TENANT_ADMIN",)), id="all",
                    query={}) as olga, \
            watcher(server, token_for("acme", "tina", ("TENANT_ADMIN",)), id="all",
                    query={}) as tina:
        job_id = submit(server, "demo.echo", {})
        until(tina, ended(job_id))
        time.sleep(0.5)
        for socket in (bob, olga):
            try:
                stray = socket.recv(timeout=0.5)
            except TimeoutError:
                continue
            assert job_id not in stray


def test_a_refused_credential_cannot_connect_and_bad_messages_do_not_break_it(
    server: LocalServer,
) -> None:
    try:
        with connect(ws_url(server), additional_headers={"Authorization": "Bearer nope"},
                     open_timeout=10):
            raise AssertionError("connected with a refused credential")
    except InvalidStatus as refused:
        assert refused.response.status_code == 403

    with watcher(server) as socket:
        socket.send("{not json")
        error = json.loads(socket.recv(timeout=10))
        socket.send(json.dumps({"type": "ping"}))
        pong = json.loads(socket.recv(timeout=10))
    assert error["type"] == "error" and error["error"]["code"] == "bad_request"
    assert pong == {"type": "pong"}

    with connect(ws_url(server), open_timeout=10) as anonymous:
        anonymous.send(json.dumps({"type": "subscribe", "id": "s", "query": {}}))
        told = json.loads(anonymous.recv(timeout=10))
        try:
            anonymous.recv(timeout=10)
            closed = False
        except ConnectionClosed:
            closed = True
    assert told["error"]["code"] == "unauthorized" and closed


def test_a_browser_may_send_its_credential_in_the_first_message_and_the_log_hides_it(
    server: LocalServer,
) -> None:
    token = requests.post(f"{server.url}/auth/tokens", json={"ttl": 60}, timeout=10,
                          headers={"Authorization": f"Bearer {token_for('acme', 'ann', ())}"}
                          ).json()["token"]
    with connect(ws_url(server) + f"?auth_token={token}", open_timeout=10) as by_query:
        by_query.send(json.dumps({"type": "ping"}))
        assert json.loads(by_query.recv(timeout=10)) == {"type": "pong"}
    with connect(ws_url(server), open_timeout=10) as first_message:
        first_message.send(json.dumps({"type": "auth", "authorization": f"Token {token}"}))
        assert json.loads(first_message.recv(timeout=10))["type"] == "authenticated"
    time.sleep(0.2)
    assert token not in "".join(server.output)


def test_a_gone_connection_is_forgotten_at_its_first_failed_send(server: LocalServer) -> None:
    """A connection API Gateway dropped without a $disconnect (it happens):
    its subscription stays until a send finds it gone, then both go."""
    import boto3

    dynamodb = boto3.client("dynamodb", endpoint_url=f"http://127.0.0.1:{server.moto_port}",
                            region_name="us-east-1", aws_access_key_id="testing",
                            aws_secret_access_key="testing")
    table = "jobapi-local-watchers"
    key = json.dumps(["tenant#ghosts", "ghost0000000001=#s"])
    dynamodb.put_item(TableName=table, Item={
        "pk": {"S": "conn#ghost0000000001="}, "sk": {"S": "conn"}, "face": {"S": "native"},
        "tenant_id": {"S": "ghosts"}, "roles": {"L": [{"S": "TENANT_ADMIN"}]},
        "via": {"S": "jwt"}, "subscriptions": {"SS": [key]}, "expires_at": {"N": "9999999999"}})
    dynamodb.put_item(TableName=table, Item={
        "pk": {"S": "tenant#ghosts"}, "sk": {"S": "ghost0000000001=#s"},
        "connection_id": {"S": "ghost0000000001="}, "subscription_id": {"S": "s"},
        "face": {"S": "native"}, "filters": {"S": "[]"}, "include_transient": {"BOOL": False},
        "tenant_id": {"S": "ghosts"}, "roles": {"L": [{"S": "TENANT_ADMIN"}]},
        "via": {"S": "jwt"}, "expires_at": {"N": "9999999999"}})
    token = token_for("ghosts", "gil", ("TENANT_ADMIN",))

    with watcher(server, token, id="live", query={}) as live:
        job_id = submit(server, "demo.echo", {}, token)
        until(live, ended(job_id))

    def ghosts() -> list[Any]:
        items = dynamodb.scan(TableName=table)["Items"]
        return [item for item in items if "ghost0000000001=" in json.dumps(item)]

    # The live watcher's event may arrive before the ghost's failed send
    # returns (sends to different connections run side by side).
    deadline = time.monotonic() + 10
    while ghosts() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert ghosts() == []
