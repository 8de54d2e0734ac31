"""Jobs through the TrueNAS face with real TrueNAS clients, unchanged, over
`make run`'s server (issue 18, "How it is checked"): pytruenas 0.7.1 runs
demo.sleep as a job and follows its progress, queries core.get_jobs with
filters and options, aborts a job, downloads demo.export through
core.download, uploads to demo.checksum through /_upload with a generated
token; aiotruenas 1.7.0 (Python 3.13, its own venv) runs a job and
receives its progress through a core.get_jobs subscription."""

from __future__ import annotations

import hashlib
import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pytruenas import JobFailed, TrueNASClient

from chalicelib.methods.demo import export_bytes
from tests.e2e.conftest import LocalServer

AIOTRUENAS_PYTHON = Path(__file__).resolve().parents[2] / ".venv-aiotruenas" / "bin" / "python"


@pytest.fixture
def nas(server: LocalServer, api_key: str) -> Iterator[TrueNASClient]:
    client = TrueNASClient(server.url.replace("http://", "ws://") + "/api/current",
                           credentials=api_key, timeout=30)
    try:
        yield client
    finally:
        client.close()


def test_pytruenas_runs_a_job_and_follows_its_progress(nas: TrueNASClient) -> None:
    seen: list[dict[str, Any]] = []

    job_id = nas.api.demo.sleep({"seconds": 4, "steps": 8})
    result = nas.wait(job_id, callback=seen.append)

    assert isinstance(job_id, int)
    assert result == {"slept": 4, "steps": 8}
    assert seen[-1]["state"] == "SUCCESS" and seen[-1]["id"] == job_id
    percents = [job["progress"]["percent"] or 0 for job in seen]
    assert any(0 < p < 100 for p in percents) and percents == sorted(percents)
    assert nas.api.demo.echo({"word": "again"}, job=True) == {"word": "again"}


def test_pytruenas_queries_jobs_with_filters_and_options(nas: TrueNASClient) -> None:
    numbers = [nas.api.demo.echo({"n": n}) for n in range(3)]
    for number in numbers:
        nas.wait(number)

    newest = nas.api.core.get_jobs([["id", "in", numbers]], {"order_by": ["-id"],
                                                             "select": ["id", "result"]})
    count = nas.api.core.get_jobs([["method", "=", "demo.echo"], ["id", ">=", numbers[0]]],
                                  {"count": True})
    one = nas.api.core.get_jobs([["id", "=", numbers[1]]], {"get": True})

    assert newest == [{"id": n, "result": {"n": i}}
                      for i, n in sorted(enumerate(numbers), key=lambda p: -p[1])]
    assert count == 3 and one["arguments"] == [{"n": 1}]


def test_pytruenas_aborts_a_job(nas: TrueNASClient) -> None:
    job_id = nas.api.demo.sleep({"seconds": 60, "steps": 600})
    deadline = time.monotonic() + 30
    while nas.api.core.get_jobs([["id", "=", job_id]], {"get": True})["state"] != "RUNNING":
        assert time.monotonic() < deadline
        time.sleep(0.1)

    assert nas.api.core.job_abort(job_id) is None
    with pytest.raises(JobFailed) as failed:
        nas.wait(job_id)
    assert failed.value.job["state"] == "ABORTED"


@pytest.mark.parametrize("buffered", [False, True])
def test_pytruenas_downloads_what_a_job_writes(nas: TrueNASClient, buffered: bool) -> None:
    content = nas.download("demo.export", {"size": 300_000, "seed": "nas"},
                           filename="export.bin", buffered=buffered)

    assert content == b"".join(export_bytes(300_000, "nas"))


def test_pytruenas_uploads_to_a_method_with_a_generated_token(nas: TrueNASClient) -> None:
    payload = b"bytes for the NAS\n" * 1000

    job_id = nas.upload(payload, "demo.checksum", wait=False)
    result = nas.wait(job_id)

    assert isinstance(job_id, int)
    assert result["sha256"] == hashlib.sha256(payload).hexdigest()
    assert result["size"] == len(payload)


def test_aiotruenas_runs_a_job_and_sees_its_progress_through_a_subscription(
    server: LocalServer, api_key: str
) -> None:
    assert AIOTRUENAS_PYTHON.exists(), "no .venv-aiotruenas: `make test` builds it (Python 3.13)"
    script = Path(__file__).parent / "clients" / "aiotruenas_jobs.py"
    ran = subprocess.run([str(AIOTRUENAS_PYTHON), str(script), server.url.rsplit(":", 1)[1],
                          api_key], capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0, ran.stderr
    answer = json.loads(ran.stdout)

    assert answer["result"] == {"slept": 1.5, "steps": 5}
    assert answer["job"]["state"] == "SUCCESS" and isinstance(answer["job"]["id"], int)
    notes = answer["notifications"]
    assert notes[0]["msg"] == "added" and notes[0]["collection"] == "core.get_jobs"
    assert any(0 < (n["fields"]["progress"]["percent"] or 0) < 100 for n in notes)
    assert notes[-1]["msg"] == "changed" and notes[-1]["fields"]["state"] == "SUCCESS"
