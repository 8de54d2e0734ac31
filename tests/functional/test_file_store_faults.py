"""The files bucket failing (issue 15): S3 throttling or failing for a while
is a 503 with Retry-After, but S3 refusing us (AccessDenied: a deployment
fault no retry mends) is an internal error, answered 500 and logged."""

from __future__ import annotations

import logging

import pytest

from chalicelib.wiring import services
from local.provision import Provisioned
from tests.faults import failing
from tests.helpers import JobsClient


def finished_job_with_a_log(jobs: JobsClient) -> str:
    job_id: str = jobs.submit("test.chatty", {"lines": 3}).body["id"]
    assert jobs.wait_for(job_id)["state"] == "SUCCESS"
    return job_id


def test_a_log_read_that_s3_denies_answers_500_and_is_logged(
    jobs: JobsClient, aws: Provisioned, caplog: pytest.LogCaptureFixture
) -> None:
    job_id = finished_job_with_a_log(jobs)

    with caplog.at_level(logging.ERROR, logger="jobapi.api"), \
            failing(services().clients.s3, "GetObject", code="AccessDenied") as fault:
        answer = jobs.request("GET", f"/jobs/{job_id}/logs")

    assert fault.failed == 1
    assert answer.status == 500 and "Retry-After" not in answer.headers
    assert answer.body["error"]["code"] == "internal_error"
    assert any(record.exc_info and "AccessDenied" in str(record.exc_info[1])
               for record in caplog.records)


def test_a_log_read_that_s3_slows_down_answers_503_with_retry_after(
    jobs: JobsClient, aws: Provisioned
) -> None:
    job_id = finished_job_with_a_log(jobs)

    with failing(services().clients.s3, "GetObject", code="SlowDown") as fault:
        answer = jobs.request("GET", f"/jobs/{job_id}/logs")

    assert fault.failed == 1
    assert answer.status == 503 and answer.headers["Retry-After"] == "1"
    assert answer.body["error"]["code"] == "service_unavailable"
