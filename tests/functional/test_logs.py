"""Job logs (issue 6): what a handler logs goes to an S3 object (logs_path),
its last lines to logs_excerpt (a few KB at most), and GET /jobs/{id}/logs
serves the whole log; secrets never appear in it."""

from __future__ import annotations

import requests

from chalicelib.joblog import EXCERPT_BYTES
from chalicelib.service import INLINE_LOG_BYTES
from chalicelib.wiring import services
from local.provision import Provisioned
from tests.helpers import JobsClient
from tests.methods_for_tests import gate


def test_what_a_handler_logs_is_kept_whole_in_s3_and_its_tail_in_the_record(
    jobs: JobsClient, aws: Provisioned
) -> None:
    job_id = jobs.submit("test.chatty", {"lines": 2000}).body["id"]

    job = jobs.wait_for(job_id)
    log = jobs.request("GET", f"/jobs/{job_id}/logs")

    assert job["state"] == "SUCCESS"
    assert job["logs_path"] == f"jobs/{job_id}/log.txt"
    lines = log.body.splitlines()
    assert log.status == 200 and log.headers["Content-Type"].startswith("text/plain")
    assert len(lines) == 2000
    assert lines[0].endswith("INFO line 0 of 2000") and lines[-1].endswith("line 1999 of 2000")
    excerpt = job["logs_excerpt"]
    assert 0 < len(excerpt.encode()) <= EXCERPT_BYTES
    assert excerpt.endswith("line 1999 of 2000\n") and log.body.endswith(excerpt)
    stored = services().clients.s3.get_object(Bucket=aws.bucket_name, Key=job["logs_path"])
    assert stored["Body"].read().decode() == log.body


def test_a_failing_handler_logs_its_traceback(jobs: JobsClient, aws: Provisioned) -> None:
    job_id = jobs.submit("test.chatty", {"lines": 1, "fail": True}).body["id"]

    job = jobs.wait_for(job_id)
    log = jobs.request("GET", f"/jobs/{job_id}/logs").body

    assert job["state"] == "FAILED"
    assert "ERROR giving up" in log and "ValueError: the last straw" in log
    assert "ValueError: the last straw" in job["logs_excerpt"]


def test_secrets_never_reach_the_log(jobs: JobsClient, aws: Provisioned) -> None:
    password = "hunter2-correct-horse"
    job_id = jobs.submit("demo.secret", {"username": "ann", "password": password}).body["id"]

    job = jobs.wait_for(job_id)
    log = jobs.request("GET", f"/jobs/{job_id}/logs").body
    stored = services().clients.s3.get_object(Bucket=aws.bucket_name, Key=job["logs_path"])

    assert "logging in as ann with password ********" in log
    assert password not in log and password not in job["logs_excerpt"]
    assert password.encode() not in stored["Body"].read()


def test_a_log_is_read_with_one_s3_call_and_a_huge_one_is_redirected(
    jobs: JobsClient, aws: Provisioned
) -> None:
    job_id = jobs.submit("test.chatty", {"lines": 3}).body["id"]
    key = jobs.wait_for(job_id)["logs_path"]
    s3 = services().clients.s3
    sent: list[str] = []  # calls sent (presigning emits its params event, never sends)
    s3.meta.events.register("after-call.s3.*", lambda model, **_: sent.append(model.name))

    small = jobs.request("GET", f"/jobs/{job_id}/logs")
    small_calls = list(sent)
    huge = b"x" * INLINE_LOG_BYTES + b"\nthe last line\n"  # as if a long run logged it
    s3.put_object(Bucket=aws.bucket_name, Key=key, Body=huge)
    sent.clear()
    redirect = jobs.request("GET", f"/jobs/{job_id}/logs")
    fetched = requests.get(redirect.headers["Location"], timeout=60)

    assert small.status == 200 and len(small.body.splitlines()) == 3
    assert small_calls == ["GetObject"]
    assert redirect.status == 302 and sent == ["GetObject"]
    assert fetched.status_code == 200 and fetched.content == huge


def test_a_job_that_logged_nothing_has_an_empty_log(jobs: JobsClient, aws: Provisioned) -> None:
    job_id = jobs.submit("demo.echo", {}).body["id"]
    jobs.wait_for(job_id)

    log = jobs.request("GET", f"/jobs/{job_id}/logs")
    unknown = jobs.request("GET", "/jobs/00000000-0000-4000-8000-000000000000/logs")

    assert jobs.get(job_id).body["logs_path"] is None
    assert log.status == 200 and log.body == "" and log.headers["X-Job-State"] == "SUCCESS"
    assert unknown.status == 404


def test_a_parent_logs_its_handler_and_its_aggregate_in_one_log(
    jobs: JobsClient, aws: Provisioned
) -> None:
    job_id = jobs.submit("test.relay", {"gates": ["log-a", "log-b"]}).body["id"]
    jobs.wait_for(job_id, lambda j: j["state"] == "RUNNING")
    gate("log-a").set()
    gate("log-b").set()

    job = jobs.wait_for(job_id, timeout=60)
    log = jobs.request("GET", f"/jobs/{job_id}/logs").body

    assert job["state"] == "SUCCESS"
    assert "spawning 2" in log and "aggregating 2" in log
    assert log.index("spawning 2") < log.index("aggregating 2")
