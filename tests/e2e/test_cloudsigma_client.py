"""The CloudSigma face with CloudSigma's own Python library, unchanged:
`cloudsigma` 2.0.0 (from PyPI) against `make run`'s server, configured as
its users configure it: a config file named by CLOUDSIGMA_CONFIG (read when
the library is imported, so each run is a process of its own) with
`api_endpoint = http://127.0.0.1:PORT/api/2.0/`, any user name and an API
key as the password (it sends them as HTTP Basic). `resource.Jobs()` lists
the jobs, reads a demo.server_clone with its nested drive_clone child, and
reads the schema; a wrong key is its AuthError, an unknown job its
ClientError with CloudSigma's error list."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from tests.e2e.conftest import LocalServer

CLIENT = """
import json, sys
from cloudsigma import errors, resource

jobs = resource.Jobs()
asked = json.loads(sys.argv[1])
out = {}
try:
    if "list" in asked:
        out["list"] = jobs.list()
    if "get" in asked:
        out["get"] = jobs.get(asked["get"])
    if "schema" in asked:
        out["schema"] = jobs.get_schema()
    if "filtered" in asked:
        out["filtered"] = jobs.list(query_params=asked["filtered"])
except errors.ApiClientError as error:
    out["error"] = {"class": type(error).__name__, "status": error.status_code,
                    "message": error.message}
print(json.dumps(out))
"""


def config_file(tmp_path: Path, server: LocalServer, password: str) -> Path:
    path = tmp_path / "cloudsigma.conf"
    path.write_text(f"api_endpoint = {server.url}/api/2.0/\n"
                    "ws_endpoint = ws://127.0.0.1:1/websocket\n"
                    "username = someone@example.com\n"
                    f"password = {password}\n")
    return path


def cloudsigma(config: Path, **asked: Any) -> dict[str, Any]:
    """What the unchanged library answers, run as its users run it."""
    done = subprocess.run([sys.executable, "-c", CLIENT, json.dumps(asked)],
                          env={"CLOUDSIGMA_CONFIG": str(config), "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def submitted(server: LocalServer, method: str, params: dict[str, Any]) -> dict[str, Any]:
    answer = server.http.post(f"{server.url}/jobs", json={"method": method, "params": params},
                              timeout=10)
    assert answer.status_code == 202, answer.text
    return dict(answer.json())


def finished(server: LocalServer, job: dict[str, Any], timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        seen = server.http.get(f"{server.url}/jobs/{job['id']}", timeout=10).json()
        if seen["state"] in ("SUCCESS", "FAILED", "ABORTED"):
            return dict(seen)
        assert time.monotonic() < deadline, seen
        time.sleep(0.1)


def test_the_cloudsigma_library_lists_reads_and_describes_jobs(
        server: LocalServer, api_key: str, tmp_path: Path) -> None:
    server_id, drive = str(uuid.uuid4()), str(uuid.uuid4())
    job = finished(server, submitted(server, "demo.server_clone",
                                     {"server": server_id, "drives": [drive], "seconds": 0}))
    assert job["state"] == "SUCCESS"

    answers = cloudsigma(config_file(tmp_path, server, api_key),
                         list=True, get=job["id"], schema=True,
                         filtered={"state": "success,error", "operation": "server_clone"})

    assert "error" not in answers, answers
    shown = answers["get"]
    assert shown["uuid"] == job["id"] and shown["operation"] == "server_clone"
    assert shown["state"] == "success" and shown["data"]["progress"] == 100
    assert shown["resource_uri"] == f"/api/2.0/jobs/{job['id']}/"
    assert shown["resources"][0] == f"/api/2.0/servers/{server_id}/"
    (child,) = shown["children"]
    assert child["operation"] == "drive_clone" and child["state"] == "success"
    assert child["data"]["progress"] == 100 and child["children"] == []
    assert child["resources"][0] == f"/api/2.0/drives/{drive}/"
    listed = {item["uuid"]: item for item in answers["list"]}  # limit=0: every job
    assert listed[job["id"]] == shown and listed[child["uuid"]] == child
    assert [item["uuid"] for item in answers["filtered"]] == [job["id"]]
    schema = answers["schema"]
    assert schema["allowed_list_http_methods"] == ["get"]
    assert set(schema["fields"]) == {"children", "created", "data", "last_modified",
                                     "operation", "resource_uri", "resources", "state",
                                     "uuid"}


def test_the_library_reads_a_refusal_and_a_missing_job(
        server: LocalServer, api_key: str, tmp_path: Path) -> None:
    refused = cloudsigma(config_file(tmp_path, server, "not-a-key"), list=True)["error"]
    assert refused["class"] == "AuthError" and refused["status"] == 401

    missing = cloudsigma(config_file(tmp_path, server, api_key), get=str(uuid.uuid4()))["error"]
    assert missing["class"] == "ClientError" and missing["status"] == 404
    (error,) = json.loads(missing["message"])
    assert error == {"error_type": "notexist", "error_message": "no such job",
                     "error_point": None}
