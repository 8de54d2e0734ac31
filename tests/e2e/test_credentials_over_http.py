"""API keys and tokens over real HTTP through `make run`'s server (issue 16):
the key the banner's curl line mints, Basic as HTTP clients send it, a
single-use token raced by 32 simultaneous requests, `?auth_token=` on
/_upload, and an access log that never shows a secret."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from typing import Any

import pytest
import requests

from local.launcher import PROJECT_DIR
from tests.e2e.conftest import LocalServer
from tests.helpers import token_for

RACERS = 32


def mint_key(server: LocalServer, **body: Any) -> dict[str, Any]:
    answer = server.http.post(f"{server.url}/api_keys", json={"name": "e2e", **body}, timeout=10)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def test_the_api_key_curl_line_the_server_prints_mints_a_working_key(
    server: LocalServer,
) -> None:
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    curl_line = next(line.strip() for line in server.banner
                     if line.strip().startswith("curl ") and "/api_keys" in line)

    minted = subprocess.run(curl_line, shell=True, capture_output=True, text=True, timeout=30)
    key = requests.get(f"{server.url}/jobs", timeout=10, headers={
        "Authorization": f"Bearer {json.loads(minted.stdout)['key']}"})

    assert key.status_code == 200, key.text


def test_make_api_key_prints_a_key_that_works_as_basic_and_as_bearer(
    server: LocalServer,
) -> None:
    command = [sys.executable, "-m", "local.api_key", "--url", server.url, "--name", "cli",
               "--tenant", "acme", "--user", "ann"]
    printed = subprocess.run(command, capture_output=True, text=True, timeout=60,
                             cwd=PROJECT_DIR, env={**os.environ})
    key = printed.stdout.strip()

    basic = requests.get(f"{server.url}/jobs", auth=("ann", key), timeout=10)
    bearer = requests.post(f"{server.url}/jobs", json={"method": "demo.echo", "params": {}},
                           headers={"Authorization": f"Bearer {key}"}, timeout=10)

    assert printed.returncode == 0, printed.stderr
    assert basic.status_code == 200 and bearer.status_code == 202
    assert bearer.json()["user_id"] == "ann" and bearer.json()["tenant_id"] == "acme"
    assert key not in "".join(server.output)


def test_a_single_use_token_raced_by_32_requests_works_exactly_once(
    server: LocalServer,
) -> None:
    token = server.http.post(f"{server.url}/auth/tokens", json={"single_use": True, "ttl": 60},
                             timeout=10).json()["token"]
    start = threading.Barrier(RACERS)
    statuses: list[int] = []

    def race() -> None:
        start.wait()
        answer = requests.get(f"{server.url}/methods", timeout=60,
                              headers={"Authorization": f"Token {token}"})
        statuses.append(answer.status_code)

    threads = [threading.Thread(target=race) for _ in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [200] + [403] * (RACERS - 1)


def test_upload_takes_auth_token_in_the_query_and_the_log_never_shows_it(
    server: LocalServer,
) -> None:
    token = server.http.post(f"{server.url}/auth/tokens", json={"single_use": True},
                             timeout=10).json()["token"]
    files = {"data": (None, '{"method": "demo.checksum", "params": {}}'),
             "file": ("a.txt", b"hello")}

    accepted = requests.post(f"{server.url}/_upload?auth_token={token}", files=files,
                             timeout=30)
    replayed = requests.post(f"{server.url}/_upload?auth_token={token}", files=files,
                             timeout=30)
    anonymous = requests.post(f"{server.url}/_upload", files=files, timeout=30)

    assert accepted.status_code == 202, accepted.text
    assert replayed.status_code == 403 and replayed.json()["error"]["code"] == "forbidden"
    assert anonymous.status_code == 401
    time.sleep(0.2)  # the access log line is written after the answer
    log = "".join(server.output)
    assert token not in log and "auth_token=[redacted]" in log


def test_keys_and_tokens_never_reach_the_log_even_when_refused(server: LocalServer) -> None:
    key = mint_key(server)["key"]
    wrong = f"{key.split('-')[0]}-{'Z' * 64}"
    for header in (f"Bearer {key}", f"Bearer {wrong}", f"Basic {key}", f"Token {key}",
                   f"Bearer {token_for(seconds=-5)}"):
        requests.get(f"{server.url}/jobs", headers={"Authorization": header}, timeout=10)
    requests.get(f"{server.url}/jobs", auth=(key, "swapped"), timeout=10)
    time.sleep(0.2)

    log = "".join(server.output)
    assert key not in log and "Z" * 64 not in log and key.split("-")[1][:16] not in log
    assert "credential refused" in log  # the reasons are there, the values are not
