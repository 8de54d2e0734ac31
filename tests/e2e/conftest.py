"""Starts the real local server (`python -m local.server`, what `make run`
runs) on a free port, and stops it after the module."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from local.server import free_port

PROJECT_DIR = Path(__file__).resolve().parents[2]


@dataclass
class LocalServer:
    url: str
    process: subprocess.Popen[str]
    banner: list[str]


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "local.server", "--port", str(port)],
        cwd=PROJECT_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        banner = _read_banner(process)
        _wait_until_healthy(url, process)
        yield LocalServer(url, process, banner)
    finally:
        process.terminate()
        process.wait(timeout=20)


def _read_banner(process: subprocess.Popen[str]) -> list[str]:
    lines: list[str] = []
    assert process.stdout is not None
    while not any(line.startswith("Serving on") for line in lines):
        line = process.stdout.readline()
        if not line:
            raise AssertionError("the local server exited:\n" + "".join(lines))
        lines.append(line)
    return lines


def _wait_until_healthy(url: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, "the local server exited"
        try:
            if requests.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            time.sleep(0.1)
    raise AssertionError("the local server never became healthy")
