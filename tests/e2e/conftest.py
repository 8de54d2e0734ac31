"""Starts the real local server (`python -m local.server`, what `make run`
runs) on a free port, and stops it after the module; `tls_server` as `make
run TLS=1` runs it, with a certificate of its own. The dashboard's tests
save screenshots in SCREENSHOTS; the session's summary names the folder."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from local.launcher import RunningServer, running_server

LocalServer = RunningServer
SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"
SESSION_START = time.time()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Where this session's screenshots are (under `pytest -n`, `make test`
    prints it itself: the controller does not load this file)."""
    taken = [shot for shot in SCREENSHOTS.glob("*.png") if shot.stat().st_mtime >= SESSION_START]
    if taken:
        terminalreporter.write_line(f"Dashboard screenshots ({len(taken)}): {SCREENSHOTS}/")


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    with running_server() as running:
        yield running


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    with running_server(tls_dir=tmp_path_factory.mktemp("tls")) as running:
        yield running


@pytest.fixture(scope="module")
def api_key(server: LocalServer, request: pytest.FixtureRequest) -> str:
    """An API key of the server's admin, named after the test module."""
    name = request.module.__name__.rpartition(".")[2]
    answer = server.http.post(f"{server.url}/api_keys", json={"name": name}, timeout=10)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["key"])
