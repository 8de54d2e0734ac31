"""Exact AWS call counts per operation (botocore event hooks on the app's own
clients). Counts are exact; nothing here is timed."""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

from chalice.test import Client

import app as job_app
from chalicelib import wiring
from chalicelib.numbering import BLOCK
from chalicelib.wiring import services
from local import seam
from local.provision import Provisioned
from tests.helpers import CallRecorder, JobsClient, wait_until


def seconds_between(start: str, end: str) -> float:
    parse = datetime.fromisoformat
    return (parse(end) - parse(start)).total_seconds()


def recorder(api_only: bool = False) -> CallRecorder:
    clients = services().clients
    return CallRecorder(clients.dynamodb, clients.stepfunctions, clients.s3, api_only=api_only)


def hold_the_worker(aws: Provisioned) -> threading.Event:
    """The worker Lambda waits for the event, so the API's calls count alone."""
    go = threading.Event()

    def held(event: dict[str, Any], context: Any) -> Any:
        go.wait(30)
        return job_app.worker(event, context)

    seam.install({aws.worker_function: held})
    return go


def test_create_is_one_write_and_one_start(jobs: JobsClient, aws: Provisioned) -> None:
    go = hold_the_worker(aws)
    jobs.submit("demo.echo", {})  # the process's first job reserves its block of numbers
    calls = recorder()

    job_id = jobs.submit("demo.echo", {}).body["id"]
    create = calls.in_main_thread()
    go.set()
    jobs.wait_for(job_id)

    assert create == ["PutItem", "StartExecution"]


def test_numbers_cost_one_write_per_block_of_jobs(jobs: JobsClient, aws: Provisioned) -> None:
    go = hold_the_worker(aws)
    calls = recorder(api_only=True)

    submitted = [jobs.submit("demo.echo", {}).body for _ in range(BLOCK + 1)]
    creates = calls.in_main_thread()
    go.set()
    for job in submitted:  # none left running into the next test
        jobs.wait_for(job["id"])
    numbers = [job["number"] for job in submitted]

    reservations = [params for name, params in calls.calls if name == "UpdateItem"]
    assert creates.count("PutItem") == BLOCK + 1 and len(reservations) == 2
    assert all(params["Key"]["id"]["S"] == "numbers#default" for params in reservations)
    assert numbers == list(range(1, BLOCK + 2))


def test_get_is_one_read(jobs: JobsClient) -> None:
    job_id = jobs.submit("demo.echo", {}).body["id"]
    jobs.wait_for(job_id)
    calls = recorder()

    jobs.get(job_id)

    assert calls.in_main_thread() == ["GetItem"]


def test_a_leaf_job_costs_the_worker_a_claim_and_a_finish(
    jobs: JobsClient, aws: Provisioned
) -> None:
    go = hold_the_worker(aws)
    job_id = jobs.submit("demo.echo", {}).body["id"]
    calls = recorder()

    go.set()
    jobs.wait_for(job_id)
    worker_calls = [name for name, _ in calls.by_worker_of(job_id)]

    # Every call of this job's worker tasks: the claim (it returns the
    # record) and the finish. The worker of an execution an earlier test
    # started may still be running in moto's threads; its calls are not this
    # job's (one that lost its table could add a GetItem, recording its crash).
    assert worker_calls == ["UpdateItem", "UpdateItem"]


def test_ten_thousand_progress_reports_cost_about_one_write_per_interval(
    jobs: JobsClient, aws: Provisioned
) -> None:
    interval = services().settings.progress_interval
    seconds = 2.0
    go = hold_the_worker(aws)
    job_id = jobs.submit("test.progress_storm", {"reports": 10_000, "seconds": seconds}).body["id"]
    calls = recorder()

    go.set()
    job = jobs.wait_for(job_id)
    worker_calls = [name for name, _ in calls.by_worker_of(job_id)]
    progress_writes = len(worker_calls) - 2  # minus claim and finish

    ran_for = seconds_between(job["time_started"], job["time_finished"])

    assert job["state"] == "SUCCESS" and job["result"] == 10_000
    assert set(worker_calls) == {"UpdateItem"}
    assert 1 <= progress_writes <= ran_for / interval + 2
    assert job["progress"]["percent"] == 100
    assert job["progress"]["description"] == "report 9999"  # the last value landed


def test_noticing_a_cancel_costs_no_extra_call(jobs: JobsClient, aws: Provisioned) -> None:
    go = hold_the_worker(aws)
    job_id = jobs.submit("demo.sleep", {"seconds": 60, "steps": 600}).body["id"]
    calls = recorder()
    go.set()
    jobs.wait_for(job_id, lambda job: (job["progress"]["percent"] or 0) > 0)
    mark = len(calls.calls)
    worker_mark = len(calls.by_worker_of(job_id))

    jobs.request("POST", f"/jobs/{job_id}/cancel")
    cancel_calls = calls.in_main_thread(since=mark)
    wait_until(lambda: calls.by_worker_of(job_id, worker_mark),
               lambda after: after and "REMOVE" in after[-1][1]["UpdateExpression"])
    after = calls.by_worker_of(job_id, worker_mark)

    assert cancel_calls == ["GetItem", "UpdateItem"]
    # The worker learns of the cancel from a progress write it makes anyway
    # (rejected), then makes one write in place of its finish: no read, no
    # extra call. A progress write already in flight may land just before.
    *progress, release = after
    assert all(name == "UpdateItem" and "progress" in params["ExpressionAttributeNames"].values()
               for name, params in progress)
    assert 1 <= len(progress) <= 2
    assert release[0] == "UpdateItem"
    assert "active_shard" in release[1]["ExpressionAttributeNames"].values()
    assert jobs.get(job_id).body["state"] == "ABORTED"


def test_a_cold_api_makes_only_the_clients_its_first_request_uses(
    jobs: JobsClient, aws: Provisioned
) -> None:
    job_id = jobs.submit("demo.echo", {}).body["id"]
    jobs.wait_for(job_id)
    go = hold_the_worker(aws)  # its clients would be made in this process too
    wiring.reset()  # a fresh function instance: no service, no client yet

    read = jobs.get(job_id)
    after_get = services().clients.created
    second = jobs.submit("demo.echo", {}).body["id"]
    after_post = services().clients.created
    go.set()

    assert read.status == 200 and read.body["state"] == "SUCCESS"
    assert after_get == ["dynamodb"]
    assert after_post == ["dynamodb", "stepfunctions"]
    assert jobs.wait_for(second)["state"] == "SUCCESS"


def test_an_inline_download_is_a_read_a_get_object_a_claim_and_a_wake(
    jobs: JobsClient, client: Client, aws: Provisioned
) -> None:
    job = jobs.submit("demo.export", {"size": 1000},
                      download={"filename": "x.bin"}).body
    dynamodb = services().clients.dynamodb
    wait_until(lambda: dynamodb.get_item(TableName=aws.table_name,
                                         Key={"id": {"S": job["id"]}})["Item"],
               lambda item: "wait_token" in item)  # the execution waits for the claim
    calls = recorder()

    answer = client.http.request("GET", job["download_url"], headers={"Accept": "*/*"})
    download_calls = calls.in_main_thread()

    assert answer.status_code == 200 and len(answer.body) == 1000
    # The record (the token checked before any byte is read), the bytes, the
    # one conditional write, and the wake of the waiting execution.
    assert download_calls == ["GetItem", "GetObject", "UpdateItem", "SendTaskSuccess"]
    assert jobs.wait_for(job["id"])["state"] == "SUCCESS"
