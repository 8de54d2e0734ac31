"""Starts `python -m local.server` (what `make run` runs) as a subprocess, for
the end-to-end tests and the benchmarks, and stops it afterwards; with
`tls_dir`, as `make run TLS=1` runs it (its certificate kept there)."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

from local.server import free_port
from local.tls import certificate_in

PROJECT_DIR = Path(__file__).resolve().parent.parent


@dataclass
class RunningServer:
    url: str
    moto_port: int
    process: subprocess.Popen[str]
    banner: list[str]  # what it printed up to "Serving on"
    output: list[str]  # everything it printed (the banner, then its log)
    http: requests.Session  # sends the admin token the server printed
    ca_file: Path | None = None  # with TLS: the certificate to trust (else plain HTTP)


# A port found free may be taken by another process before the server binds
# it (the tests start servers in parallel): such a start is tried again on
# other ports.
START_ATTEMPTS = 3
PORT_TAKEN = "Address already in use"


@contextmanager
def running_server(start_timeout: float = 120,
                   tls_dir: Path | None = None) -> Iterator[RunningServer]:
    tls_args = [] if tls_dir is None else ["--tls", "--tls-dir", str(tls_dir)]
    ca_file = None if tls_dir is None else certificate_in(tls_dir).cert_file
    process, port, moto_port, banner, output = _start(start_timeout, tls_args)
    url = f"{'http' if ca_file is None else 'https'}://127.0.0.1:{port}"
    try:
        http = requests.Session()
        if ca_file is not None:
            http.verify = str(ca_file)
            http.trust_env = False  # else REQUESTS_CA_BUNDLE would replace `verify`
        _wait_until_healthy(url, process, http)
        http.headers["Authorization"] = f"Bearer {_admin_token(banner)}"
        yield RunningServer(url, moto_port, process, banner, output, http, ca_file)
    finally:
        _stop(process)


def _start(start_timeout: float, tls_args: list[str],
           ) -> tuple[subprocess.Popen[str], int, int, list[str], list[str]]:
    """The server process on two free ports, once it says "Serving on"."""
    # No AWS_* from the caller: the server sets its own fake credentials.
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    for attempt in range(1, START_ATTEMPTS + 1):
        port, moto_port = free_port(), free_port()
        process = subprocess.Popen(
            [sys.executable, "-m", "local.server", "--port", str(port),
             "--moto-port", str(moto_port), *tls_args],
            cwd=PROJECT_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True,
        )
        output: list[str] = []
        try:
            return process, port, moto_port, _wait_for_banner(process, start_timeout, output), \
                output
        except RuntimeError as exc:
            _stop(process)
            if PORT_TAKEN not in str(exc) or attempt == START_ATTEMPTS:
                raise
    raise AssertionError("unreachable")


def _stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _wait_for_banner(process: subprocess.Popen[str], timeout: float,
                     output: list[str]) -> list[str]:
    """Read until "Serving on", then keep draining the output (into `output`)
    so the server never blocks on a full pipe (it logs every request)."""
    lines: queue.Queue[str | None] = queue.Queue()

    def drain() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line)
            lines.put(line)
        lines.put(None)

    threading.Thread(target=drain, daemon=True).start()
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            break
        if line is None:
            raise RuntimeError("the local server exited:\n" + "".join(seen))
        seen.append(line)
        if line.startswith("Serving on"):
            return seen
    raise TimeoutError("the local server did not start:\n" + "".join(seen))


def _admin_token(banner: list[str]) -> str:
    marker = next(n for n, line in enumerate(banner) if line.startswith("Admin token"))
    return banner[marker + 1].strip()


def _wait_until_healthy(url: str, process: subprocess.Popen[str],
                        http: requests.Session) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the local server exited")
        try:
            if http.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            time.sleep(0.1)
    raise TimeoutError("the local server never became healthy")
