"""`jobapi`, the command line installed with the client (issue 21, item 4),
run as a real process against `make run`'s server."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import LocalServer

JOBAPI = Path(sys.executable).parent / "jobapi"


@pytest.fixture(scope="module")
def env(server: LocalServer) -> dict[str, str]:
    key = server.http.post(f"{server.url}/api_keys", json={"name": "cli"}, timeout=10).json()
    return {**os.environ, "JOBAPI_URL": server.url, "JOBAPI_TOKEN": key["key"],
            "COLUMNS": "160"}


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(JOBAPI), *args], env=env, capture_output=True, text=True,
                          timeout=120)


def test_submit_wait_shows_progress_and_ends_with_the_result(env: dict[str, str]) -> None:
    done = run(env, "submit", "demo.sleep", "seconds=1", "steps=4", "--wait")

    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"slept": 1, "steps": 4}
    assert "100%" in done.stderr and "step 4 of 4" in done.stderr


def test_a_failed_job_exits_non_zero_with_its_error(env: dict[str, str]) -> None:
    failed = run(env, "submit", "demo.fail", "message=broken on purpose", "--wait")

    assert failed.returncode == 1 and "broken on purpose" in failed.stdout


def test_an_api_error_is_its_message_and_exit_code_2(env: dict[str, str]) -> None:
    refused = run(env, "submit", "no.such.method")
    bad = run(env, "submit", "demo.sleep", "seconds")

    assert refused.returncode == 2 and "unknown_method" in refused.stderr
    assert bad.returncode == 2 and "key=value" in bad.stderr


def test_ls_get_cancel_result_and_methods(env: dict[str, str]) -> None:
    job = json.loads(run(env, "submit", "demo.sleep", "seconds=60", "steps=600").stdout)
    echo = json.loads(run(env, "submit", "demo.echo", "x=[1,2]", "--wait").stdout)

    listed = json.loads(run(env, "ls", "--state", "RUNNING,WAITING", "--json").stdout)
    table = run(env, "ls", "--select", "id,state", "--limit", "5")
    cancelled = json.loads(run(env, "cancel", job["id"]).stdout)
    got = json.loads(run(env, "get", job["id"]).stdout)
    methods = run(env, "methods")

    assert echo == {"x": [1, 2]}
    assert job["id"] in {record["id"] for record in listed}
    assert job["id"] in table.stdout and "state" in table.stdout
    assert cancelled["id"] == got["id"] == job["id"]
    assert "demo.sleep" in methods.stdout


def test_ctrl_c_stops_waiting_not_the_job(env: dict[str, str], server: LocalServer) -> None:
    waiting = subprocess.Popen([str(JOBAPI), "submit", "demo.sleep", "seconds=30", "steps=30",
                                "--wait"], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    time.sleep(4)
    waiting.send_signal(signal.SIGINT)
    _, stderr = waiting.communicate(timeout=30)
    job_id = next(word for line in stderr.splitlines() if line.startswith("job ")
                  for word in line.split()[1:2])

    job: dict[str, Any] = server.http.get(f"{server.url}/jobs/{job_id}", timeout=10).json()
    assert waiting.returncode == 130 and "stopped waiting" in stderr
    assert job["state"] == "RUNNING"
    server.http.post(f"{server.url}/jobs/{job_id}/cancel", json={}, timeout=10)


def test_watch_shows_the_tree_and_its_roll_up(env: dict[str, str]) -> None:
    parent = json.loads(run(env, "submit", "demo.fanout", "count=3").stdout)

    watched = run(env, "watch", parent["id"], "--refresh", "0.3")

    assert watched.returncode == 0, watched.stderr
    assert watched.stdout.count("demo.echo") >= 3 and "SUCCESS" in watched.stdout


def test_upload_and_download_files(env: dict[str, str], tmp_path: Path) -> None:
    source = tmp_path / "config.db"
    source.write_bytes(b"x" * 10_000)
    target = tmp_path / "export.bin"

    uploaded = run(env, "upload", str(source), "--method", "demo.checksum", "--wait")
    exported = run(env, "submit", "demo.export", "size=5000", "--download", str(target))

    assert uploaded.returncode == 0, uploaded.stderr
    assert json.loads(uploaded.stdout)["size"] == 10_000
    assert exported.returncode == 0, exported.stderr
    assert target.stat().st_size == 5000 and "5000 bytes" in exported.stderr


def test_download_by_id_asks_for_a_new_link(env: dict[str, str], server: LocalServer,
                                            tmp_path: Path) -> None:
    job = server.http.post(f"{server.url}/jobs", timeout=10, json={
        "method": "demo.export", "params": {"size": 2000},
        "download": {"filename": "later.bin"}}).json()
    target = tmp_path / "later.bin"

    fetched = run(env, "download", job["id"], "-o", str(target))
    again = run(env, "download", job["id"], "-o", str(tmp_path / "again.bin"))

    assert fetched.returncode == 0, fetched.stderr
    assert target.stat().st_size == 2000
    assert again.returncode == 2 and "409 conflict" in again.stderr


def test_in_a_terminal_the_bar_moves_and_the_result_ends_it(env: dict[str, str]) -> None:
    """A real pseudo-terminal: Rich draws its live bar there (not in a pipe)."""
    import pty
    import select

    pid, terminal = pty.fork()
    if pid == 0:  # the child: jobapi in the terminal
        os.execve(str(JOBAPI), [str(JOBAPI), "submit", "demo.sleep", "seconds=3", "steps=6",
                                "--wait"], {**env, "TERM": "xterm-256color"})
    screen = b""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([terminal], [], [], 1)
        if not ready:
            continue
        try:
            chunk = os.read(terminal, 4096)
        except OSError:  # the child ended
            break
        if not chunk:
            break
        screen += chunk
    _, status = os.waitpid(pid, 0)
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen.decode(errors="replace"))  # colours

    percents = {int(p) for p in re.findall(r"(\d+)%", text)}
    assert os.waitstatus_to_exitcode(status) == 0, text[-500:]
    assert len(percents - {0}) >= 3 and 100 in percents  # the bar moved, then filled
    assert '"slept": 3.0' in text and text.rstrip().endswith("}")  # the result ends it
