"""`make run`'s server over real HTTP: the same answers as the Chalice test client."""

from __future__ import annotations

import http.client
import json
import shutil
import socket
import subprocess
import threading
import time
import uuid
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from tests.e2e.conftest import LocalServer
from tests.helpers import is_finished, wait_until


def get_job(server: LocalServer, job_id: str) -> dict[str, Any]:
    answer = server.http.get(f"{server.url}/jobs/{job_id}", timeout=10)
    assert answer.status_code == 200
    return answer.json()


def test_a_demo_echo_job_runs_to_success_over_http(server: LocalServer) -> None:
    answer = server.http.post(
        f"{server.url}/jobs", json={"method": "demo.echo", "params": {"via": "http"}}, timeout=10
    )

    assert answer.status_code == 202
    job = answer.json()
    assert answer.headers["Location"] == f"/jobs/{job['id']}"
    finished = wait_until(lambda: get_job(server, job["id"]), is_finished)
    assert finished["state"] == "SUCCESS"
    assert finished["result"] == {"via": "http"}


def test_the_curl_line_the_server_prints_works(server: LocalServer) -> None:
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    curl_line = next(line.strip() for line in server.banner if line.strip().startswith("curl "))

    output = subprocess.run(curl_line, shell=True, capture_output=True, text=True, timeout=30)

    job = json.loads(output.stdout)
    assert job["state"] == "WAITING"
    assert wait_until(lambda: get_job(server, job["id"]), is_finished)["state"] == "SUCCESS"


def test_bad_input_is_a_400_over_http(server: LocalServer) -> None:
    answer = server.http.post(f"{server.url}/jobs", data="{nope", timeout=10)

    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "bad_request"


def test_methods_are_listed_over_http(server: LocalServer) -> None:
    answer = server.http.get(f"{server.url}/methods", timeout=10)

    assert {"demo.echo", "demo.sleep", "demo.fail"} <= {m["name"] for m in answer.json()["methods"]}


def test_simultaneous_duplicate_posts_with_one_key_make_one_job(server: LocalServer) -> None:
    from concurrent.futures import ThreadPoolExecutor

    body = {"method": "demo.echo", "params": {"burst": "http"}}
    headers = {"Idempotency-Key": "e2e-burst-1"}

    def post(_: int) -> requests.Response:
        return server.http.post(f"{server.url}/jobs", json=body, headers=headers, timeout=30)

    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(post, range(10)))

    assert sorted(a.status_code for a in answers) == [200] * 9 + [202]
    assert len({a.json()["id"] for a in answers}) == 1
    job_id = answers[0].json()["id"]
    assert wait_until(lambda: get_job(server, job_id), is_finished)["state"] == "SUCCESS"


def test_a_job_can_be_watched_by_long_polling_and_cancelled_over_http(
    server: LocalServer,
) -> None:
    sleep = {"method": "demo.sleep", "params": {"seconds": 30, "steps": 30}}
    job = server.http.post(f"{server.url}/jobs", json=sleep, timeout=10).json()
    moved = server.http.get(f"{server.url}/jobs/{job['id']}?wait=10&since={job['time_updated']}",
                         timeout=30).json()

    cancelled = server.http.post(f"{server.url}/jobs/{job['id']}/cancel", timeout=10)

    assert moved["state"] == "RUNNING"
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "ABORTED"


def test_a_burst_of_64_simultaneous_new_connections_each_makes_its_job(
    server: LocalServer,
) -> None:
    """64 clients open a connection each at the same instant and submit a job:
    every one is answered (none reset by a short listen backlog), and makes
    its own job, which can then be read and listed."""
    clients = 64
    burst = uuid.uuid4().hex
    address = urlsplit(server.url)
    auth = server.http.headers["Authorization"]
    start = threading.Barrier(clients)
    answers: dict[int, tuple[int, dict[str, Any]] | BaseException] = {}

    def submit(index: int) -> None:
        connection = http.client.HTTPConnection(address.hostname or "127.0.0.1", address.port,
                                                timeout=60)
        body = json.dumps({"method": "demo.echo", "description": burst,
                           "params": {"index": index}})
        try:
            start.wait(timeout=30)
            connection.request("POST", "/jobs", body=body, headers={
                "Authorization": auth, "Content-Type": "application/json"})
            response = connection.getresponse()
            answers[index] = (response.status, json.loads(response.read()))
        except BaseException as failure:  # a reset, a timeout: recorded, asserted below
            answers[index] = failure
        finally:
            connection.close()

    threads = [threading.Thread(target=submit, args=(n,), daemon=True) for n in range(clients)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 90
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))

    failures = {n: repr(a) for n, a in answers.items() if isinstance(a, BaseException)}
    assert failures == {} and len(answers) == clients
    assert sorted(status for status, _ in answers.values()) == [202] * clients  # type: ignore[misc]
    jobs = {job["id"]: job for _, job in answers.values()}  # type: ignore[misc]
    assert len(jobs) == clients
    assert sorted(job["arguments"]["index"] for job in jobs.values()) == list(range(clients))
    for job_id in jobs:
        assert get_job(server, job_id)["id"] == job_id
    query = {"filters": json.dumps([["description", "=", burst]]), "limit": "1000",
             "select": "id"}
    listed = server.http.get(f"{server.url}/jobs", params=query, timeout=30).json()
    assert {record["id"] for record in listed["records"]} == set(jobs)


def test_a_port_taken_before_the_server_binds_it_is_left_for_other_ports(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from local import launcher
    from local.server import free_port

    with socket.socket() as taken:  # another process got there first
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        picks = iter([busy])
        monkeypatch.setattr(launcher, "free_port", lambda: next(picks, None) or free_port())

        with launcher.running_server() as running:
            health = running.http.get(f"{running.url}/health", timeout=10)

    assert health.status_code == 200
    assert urlsplit(running.url).port != busy
