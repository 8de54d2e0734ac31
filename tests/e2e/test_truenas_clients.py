"""The TrueNAS face's session with a real TrueNAS client, unchanged:
pytruenas 0.7.1 (from PyPI) against `make run`'s server over
ws://127.0.0.1:<port>/api/current, logging in with an API key (legacy
`auth.login_with_api_key` and `auth.login_ex`) and with a token."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pytruenas import TrueNASClient
from pytruenas.auth import AuthenticationError
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.e2e.conftest import LocalServer


def ws_url(server: LocalServer, path: str = "/api/current") -> str:
    return server.url.replace("http://", "ws://") + path


@pytest.fixture
def nas(server: LocalServer, api_key: str) -> Iterator[TrueNASClient]:
    client = TrueNASClient(ws_url(server), credentials=api_key, timeout=20)
    try:
        yield client
    finally:
        client.close()


def test_pytruenas_logs_in_with_an_api_key_and_pings(nas: TrueNASClient) -> None:
    assert nas.ping() == "pong"
    assert nas.api.core.ping() == "pong"


def test_pytruenas_generates_a_token_that_logs_in_another_client(
    nas: TrueNASClient, server: LocalServer
) -> None:
    token = nas.api.auth.generate_token(300)
    other = TrueNASClient(ws_url(server, "/api/v25.04.0"), credentials=None, token=token,
                          timeout=20)
    try:
        assert other.me()["account_attributes"] == ["TOKEN"]
    finally:
        other.close()


def test_pytruenas_login_ex_answers_the_user(server: LocalServer, api_key: str) -> None:
    client = TrueNASClient(ws_url(server), api_key=api_key, username="e2e", autologin=False,
                           timeout=20)
    try:
        answer = client.login(login_ex=True)
        assert answer["response_type"] == "SUCCESS"
        assert client.api.auth.mechanism_choices() == ["API_KEY_PLAIN", "TOKEN_PLAIN"]
    finally:
        client.close()


def test_pytruenas_refuses_a_wrong_key(server: LocalServer, api_key: str) -> None:
    wrong = api_key[:-1] + ("a" if api_key[-1] != "a" else "b")
    client = TrueNASClient(ws_url(server), credentials=wrong, timeout=20)
    try:
        with pytest.raises(AuthenticationError):
            client.ping()
    finally:
        client.close()


def test_raw_frames_over_the_socket_echo_the_id_and_an_oversized_frame_closes_it(
    server: LocalServer
) -> None:
    with connect(ws_url(server, "/api/v25.04.0")) as ws:
        ws.send(json.dumps({"jsonrpc": "2.0", "id": 41, "method": "core.ping"}))
        assert json.loads(ws.recv(timeout=10)) == {"jsonrpc": "2.0", "result": "pong", "id": 41}
        ws.send(json.dumps({"jsonrpc": "2.0", "id": 42, "method": "core.ping",
                            "pad": "x" * 8192}))
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=10)


AIOTRUENAS_PYTHON = Path(__file__).resolve().parents[2] / ".venv-aiotruenas" / "bin" / "python"


def aiotruenas_session(server: LocalServer, key: str) -> dict[str, Any]:
    assert AIOTRUENAS_PYTHON.exists(), "no .venv-aiotruenas: `make test` builds it (Python 3.13)"
    port = server.url.rsplit(":", 1)[1]
    script = Path(__file__).parent / "clients" / "aiotruenas_session.py"
    ran = subprocess.run([str(AIOTRUENAS_PYTHON), str(script), port, key], capture_output=True,
                         text=True, timeout=120)
    assert ran.returncode == 0, ran.stderr
    answer: dict[str, Any] = json.loads(ran.stdout)
    return answer


def test_aiotruenas_logs_in_with_an_api_key_and_pings(server: LocalServer,
                                                      api_key: str) -> None:
    assert aiotruenas_session(server, api_key) == {"ping": "pong"}
    wrong = f"{api_key.split('-')[0]}-{'Q' * 64}"
    assert aiotruenas_session(server, wrong) == {"refused": "TrueNASAuthenticationError"}


def test_after_login_a_frame_of_64_kib_is_read_over_the_socket_and_one_char_more_closes_it(
    server: LocalServer, api_key: str
) -> None:
    def padded(request_id: int, chars: int) -> str:
        """A core.set_options frame of exactly `chars` characters (unknown keys are ignored)."""
        frame = {"jsonrpc": "2.0", "id": request_id, "method": "core.set_options",
                 "params": [{"pad": ""}]}
        text = json.dumps(frame)
        frame["params"] = [{"pad": "x" * (chars - len(text))}]
        text = json.dumps(frame)
        assert len(text) == chars
        return text

    with connect(ws_url(server)) as ws:
        ws.send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "auth.login_with_api_key",
                            "params": [api_key]}))
        assert json.loads(ws.recv(timeout=10)) == {"jsonrpc": "2.0", "result": True, "id": 1}
        ws.send(padded(2, 65_536))
        answer = json.loads(ws.recv(timeout=10))
        assert answer["id"] == 2 and answer["result"]["legacy_jobs"] is True
        ws.send(padded(3, 65_537))
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=10)
