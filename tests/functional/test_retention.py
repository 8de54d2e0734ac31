"""Finished jobs get a TTL; transient ones a short one; expired jobs are hidden."""

from __future__ import annotations

import time

import boto3
import pytest

from chalicelib import wiring
from local.provision import Provisioned
from tests.helpers import JobsClient, wait_until


def ttl_of(aws: Provisioned, job_id: str) -> int | None:
    item = boto3.client("dynamodb").get_item(TableName=aws.table_name, Key={"id": {"S": job_id}})
    value = item["Item"].get("expires_at")
    return int(value["N"]) if value else None


def test_a_finished_job_expires_three_days_after_it_finished(
    jobs: JobsClient, aws: Provisioned
) -> None:
    job_id = jobs.submit("demo.echo", {}).body["id"]
    jobs.wait_for(job_id)

    expires = ttl_of(aws, job_id)

    assert expires is not None
    assert abs(expires - (time.time() + 3 * 24 * 3600)) < 120


def test_an_unfinished_job_has_no_expiry(jobs: JobsClient, aws: Provisioned) -> None:
    job_id = jobs.submit("demo.sleep", {"seconds": 30, "steps": 300}).body["id"]
    jobs.wait_for(job_id, lambda job: job["state"] == "RUNNING")

    assert ttl_of(aws, job_id) is None
    jobs.request("POST", f"/jobs/{job_id}/cancel")


def test_a_transient_job_expires_soon_after_finishing(
    jobs: JobsClient, aws: Provisioned
) -> None:
    job_id = jobs.submit("demo.echo", {}, transient=True).body["id"]
    jobs.wait_for(job_id)

    expires = ttl_of(aws, job_id)

    assert expires is not None and expires - time.time() < 700


def test_an_expired_job_is_hidden_though_dynamodb_has_not_deleted_it(
    jobs: JobsClient, aws: Provisioned, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JOBS_TRANSIENT_RETENTION_SECONDS", "0")
    wiring.reset()
    job_id = jobs.submit("demo.echo", {}, transient=True).body["id"]

    wait_until(lambda: ttl_of(aws, job_id), lambda expires: expires is not None)

    answer = jobs.get(job_id)
    assert answer.status == 404  # still stored (TTL deletes late), but expired
    assert answer.body["error"]["code"] == "not_found"
