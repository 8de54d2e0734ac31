"""GET /jobs/{id}?wait=N (NetApp long polling)."""

from __future__ import annotations

import time
import uuid

import pytest

from chalicelib.wiring import services
from tests.helpers import CallRecorder, JobsClient
from tests.methods_for_tests import gate


def test_a_long_poll_returns_when_the_job_moves(jobs: JobsClient) -> None:
    name = str(uuid.uuid4())
    job_id = jobs.submit("test.blocking", {"gate": name}).body["id"]
    running = jobs.wait_for(job_id, lambda job: job["state"] == "RUNNING")

    import threading

    threading.Timer(0.5, gate(name).set).start()
    answer = jobs.request("GET", f"/jobs/{job_id}?wait=20&since={running['time_updated']}")

    assert answer.status == 200
    assert answer.body["state"] == "SUCCESS"


def test_a_long_poll_on_a_finished_job_answers_at_once_with_one_read(jobs: JobsClient) -> None:
    job_id = jobs.submit("demo.echo", {}).body["id"]
    jobs.wait_for(job_id)
    recorder = CallRecorder(services().clients.dynamodb)

    answer = jobs.request("GET", f"/jobs/{job_id}?wait=20")

    assert answer.body["state"] == "SUCCESS"
    # The request's own calls: a job an earlier test left running may call too.
    assert recorder.in_main_thread() == ["GetItem"]


def test_a_long_poll_that_sees_no_change_reads_about_once_a_second(jobs: JobsClient) -> None:
    name = str(uuid.uuid4())
    job_id = jobs.submit("test.blocking", {"gate": name}).body["id"]
    jobs.wait_for(job_id, lambda job: job["state"] == "RUNNING")
    recorder = CallRecorder(services().clients.dynamodb)

    started = time.monotonic()
    answer = jobs.request("GET", f"/jobs/{job_id}?wait=3")
    waited = time.monotonic() - started
    gate(name).set()

    assert answer.body["state"] == "RUNNING"
    assert recorder.count("GetItem") <= waited + 2  # one read, then about one a second


@pytest.mark.parametrize("query, named", [
    ("wait=26", "wait"), ("wait=-1", "wait"), ("wait=soon", "wait"),
    ("colour=blue", "<unknown field>"),  # an unknown name is not echoed
    ("raw_result=maybe", "raw_result")])
def test_bad_query_parameters_are_400(jobs: JobsClient, query: str, named: str) -> None:
    job_id = jobs.submit("demo.echo", {}).body["id"]

    answer = jobs.request("GET", f"/jobs/{job_id}?{query}")

    assert answer.status == 400
    assert named in answer.body["error"]["message"]
