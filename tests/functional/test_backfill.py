"""The backfill of issue 23's layout (chalicelib/backfill.py), on moto: jobs
written by the earlier code (active_shard from the job id, no active_key,
tenant_state in every state) are found by the sweeper and the listings again,
and a job that moved on since the scan is never put back into by_active."""

from __future__ import annotations

import time
import uuid
from typing import Any

from chalicelib import keys
from chalicelib.backfill import backfill, fix, settle
from chalicelib.clock import iso
from chalicelib.models import Job
from chalicelib.states import JobState
from chalicelib.wiring import services
from local.provision import Provisioned
from tests.helpers import JobsClient

TENANT = "default"  # the test client's


def stored(state: JobState, tenant: str = TENANT, age: float = 60) -> str:
    created = time.time() - age
    job = Job(id=uuid.uuid4().hex, method="demo.echo", arguments={}, state=state,
              time_created=iso(created), time_updated=iso(created), tenant_id=tenant,
              time_started=iso(created + 1) if state is not JobState.WAITING else None)
    services().store.create(job)
    return job.id


def as_before(aws: Provisioned, job_id: str, shard: str | None = None) -> dict[str, Any]:
    """Rewrite a job as the earlier code left it; answers the raw item."""
    dynamodb = services().clients.dynamodb
    item = dynamodb.get_item(TableName=aws.table_name, Key={"id": {"S": job_id}})["Item"]
    tenant, state = item["tenant_id"]["S"], item["state"]["S"]
    names = {"#k": "active_key", "#ts": "tenant_state"}
    values: dict[str, Any] = {":ts": {"S": f"{tenant}#{state}"}}
    expression = "SET #ts = :ts"
    if "active_shard" in item or shard:
        names["#sh"] = "active_shard"
        values[":sh"] = {"S": shard or f"active#{keys._shard_of(job_id)}"}
        expression += ", #sh = :sh"
    dynamodb.update_item(TableName=aws.table_name, Key={"id": {"S": job_id}},
                         UpdateExpression=expression + " REMOVE #k",
                         ExpressionAttributeNames=names, ExpressionAttributeValues=values)
    return dict(dynamodb.get_item(TableName=aws.table_name, Key={"id": {"S": job_id}})["Item"])


def in_by_active(tenant: str = TENANT) -> set[str]:
    window = services().store.active_window(keys.active_shard(tenant))
    return {entry.id for entry in window.entries}


def listed(jobs: JobsClient, state: str) -> set[str]:
    return {record["id"] for record in jobs.request("GET", f"/jobs?state={state}")
            .body["records"]}


def test_the_backfill_puts_unfinished_jobs_back_in_by_active(
    jobs: JobsClient, aws: Provisioned
) -> None:
    waiting, running = stored(JobState.WAITING), stored(JobState.RUNNING)
    elsewhere = stored(JobState.RUNNING, tenant="other")
    done = stored(JobState.SUCCESS)
    stopping = stored(JobState.ABORTED)
    for job_id in (waiting, running, elsewhere, done):
        as_before(aws, job_id)
    as_before(aws, stopping, shard=keys.stopping_shard(stopping))
    before = (in_by_active(), listed(jobs, "RUNNING"), listed(jobs, "WAITING"))
    table = services().clients.dynamodb

    report = backfill(table, aws.table_name, page=2)
    again = backfill(table, aws.table_name)

    assert before == (set(), set(), set())
    assert sorted(report.updated) == sorted([waiting, running, elsewhere, stopping])
    assert in_by_active() == {waiting, running} and in_by_active("other") == {elsewhere}
    assert listed(jobs, "RUNNING") == {running} and listed(jobs, "WAITING") == {waiting}
    record = table.get_item(TableName=aws.table_name, Key={"id": {"S": running}})["Item"]
    assert "tenant_state" not in record  # by_tenant_state: finished jobs only
    kept = table.get_item(TableName=aws.table_name, Key={"id": {"S": stopping}})["Item"]
    assert kept["active_shard"]["S"] == keys.stopping_shard(stopping)
    assert kept["active_key"]["S"].startswith(f"{TENANT}#")
    finished = table.get_item(TableName=aws.table_name, Key={"id": {"S": done}})["Item"]
    assert "active_key" not in finished and "active_shard" not in finished
    assert again.updated == [] and again.candidates == 4


def test_a_job_that_finished_after_the_scan_is_not_put_back(
    jobs: JobsClient, aws: Provisioned
) -> None:
    job_id = stored(JobState.RUNNING)
    seen = as_before(aws, job_id)  # what the scan read
    table = services().clients.dynamodb
    table.update_item(TableName=aws.table_name, Key={"id": {"S": job_id}},
                      UpdateExpression="SET #s = :s, #ts = :ts REMOVE active_shard",
                      ExpressionAttributeNames={"#s": "state", "#ts": "tenant_state"},
                      ExpressionAttributeValues={":s": {"S": "SUCCESS"},
                                                 ":ts": {"S": f"{TENANT}#SUCCESS"}})

    assert fix(table, aws.table_name, seen) is False
    record = table.get_item(TableName=aws.table_name, Key={"id": {"S": job_id}})["Item"]
    assert "active_shard" not in record and record["tenant_state"]["S"] == f"{TENANT}#SUCCESS"
    assert job_id not in in_by_active()


def test_a_job_claimed_after_the_scan_is_fixed_as_it_is_now(
    jobs: JobsClient, aws: Provisioned
) -> None:
    job_id = stored(JobState.WAITING)
    seen = as_before(aws, job_id)  # what the scan read: WAITING
    store = services().store
    store.mark_running(job_id, TENANT, iso(time.time()))  # the new code claims it

    assert fix(services().clients.dynamodb, aws.table_name, seen) is False  # the scan's view
    assert settle(services().clients.dynamodb, aws.table_name, seen) is True
    assert job_id in in_by_active() and listed(jobs, "RUNNING") == {job_id}


def test_settle_leaves_a_job_that_finished_after_the_scan(
    jobs: JobsClient, aws: Provisioned
) -> None:
    job_id = stored(JobState.RUNNING)
    seen = as_before(aws, job_id)
    table = services().clients.dynamodb
    table.update_item(TableName=aws.table_name, Key={"id": {"S": job_id}},
                      UpdateExpression="SET #s = :s REMOVE active_shard",
                      ExpressionAttributeNames={"#s": "state"},
                      ExpressionAttributeValues={":s": {"S": "SUCCESS"}})

    assert settle(table, aws.table_name, seen) is False
    assert job_id not in in_by_active()
