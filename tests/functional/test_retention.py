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


def test_with_an_injected_clock_a_job_is_hidden_from_reads_lists_and_deletes_once_expired(
    jobs: JobsClient, aws: Provisioned
) -> None:
    from chalicelib.basics import Basics
    from chalicelib.caller import Caller, Role
    from chalicelib.clock import system_clock
    from chalicelib.creation import JobFactory
    from chalicelib.errors import NotFound
    from chalicelib.listing import JobLister, ListQuery
    from chalicelib.query.filters import AllOf
    from chalicelib.query.tokens import TokenSigner
    from chalicelib.registry import registry
    from chalicelib.removal import Removal
    from chalicelib.service import JobService

    job_id = jobs.submit("demo.echo", {}).body["id"]
    jobs.wait_for(job_id)
    wired = wiring.services()
    caller = Caller("default", "tester", frozenset({Role.TENANT_ADMIN}))

    def at(seconds: float) -> tuple[JobService, JobLister, Removal]:
        def clock() -> float:
            return system_clock() + seconds
        basics = Basics(registry, wired.settings, clock)
        factory = JobFactory(wired.workflow, basics, wired.numbers)
        service = JobService(wired.store, factory, wired.results,
                             wired.fanout, wired.transfers, wired.blobs, basics)
        lister = JobLister(wired.store, TokenSigner(b"k"), clock)
        return service, lister, Removal(wired.store, wired.blobs, service, clock)

    def listed(lister: JobLister) -> list[str]:
        return [job.id for job in lister.page(ListQuery(AllOf(())), caller).jobs]

    day = 24 * 3600
    service, lister, _ = at(3 * day - 600)
    kept = service.get(job_id, caller)
    in_list = listed(lister)
    service, lister, removal = at(3 * day + 600)

    assert kept.id == job_id and job_id in in_list
    with pytest.raises(NotFound):
        service.get(job_id, caller)
    assert job_id not in listed(lister)
    with pytest.raises(NotFound):
        removal.consume(job_id, caller)
    assert ttl_of(aws, job_id) is not None  # still stored: only hidden
