"""No job is ever lost or stuck (issue 7): faults injected between the calls
of create, finish, cancel, delete and claim, throttling past botocore's
retries, and lost executions or waits; then the sweeper runs (at an injected
time) and every job ends in a correct terminal state, nothing duplicated."""

from __future__ import annotations

import time
import uuid
from typing import Any

import app as job_app
from chalicelib import keys
from chalicelib.blobs import output_key
from chalicelib.clock import iso
from chalicelib.models import Job
from chalicelib.states import JobState
from chalicelib.wiring import services
from local import seam
from local.provision import Provisioned
from tests.faults import failing, throttled
from tests.functional.test_call_budgets import hold_the_worker
from tests.helpers import CallRecorder, JobsClient, job_records, sweeper_at, wait_until
from tests.methods_for_tests import gate


def clients() -> Any:
    return services().clients


def executions_of(aws: Provisioned, job_id: str) -> int:
    sfn = clients().stepfunctions
    return sum(1 for arn in (aws.state_machine_arn, aws.express_state_machine_arn)
               for execution in sfn.list_executions(stateMachineArn=arn)["executions"]
               if execution["name"] == job_id)


def records(aws: Provisioned) -> int:
    return job_records(clients().dynamodb, aws.table_name)


def later(seconds: float) -> Any:
    """The sweeper as it runs `seconds` from now."""
    return sweeper_at(lambda: time.time() + seconds)


# create = PutItem, then StartExecution


def test_a_create_whose_put_is_throttled_answers_503_and_leaves_nothing(
    jobs: JobsClient, aws: Provisioned
) -> None:
    with failing(clients().dynamodb, "PutItem"):
        answer = jobs.submit("demo.echo", {"n": 1})

    assert answer.status == 503 and answer.headers["Retry-After"] == "1"
    assert answer.body["error"]["code"] == "service_unavailable"
    assert records(aws) == 0
    assert clients().stepfunctions.list_executions(
        stateMachineArn=aws.express_state_machine_arn)["executions"] == []


def test_a_create_whose_start_keeps_failing_is_202_and_the_sweeper_starts_it(
    jobs: JobsClient, aws: Provisioned
) -> None:
    with failing(clients().stepfunctions, "StartExecution") as fault:
        answer = jobs.submit("demo.echo", {"n": 1})
    job_id = answer.body["id"]
    waiting = jobs.get(job_id).body

    early = later(10).sweep()
    report = later(services().settings.stalled_start_seconds + 5).sweep()
    job = jobs.wait_for(job_id)

    assert answer.status == 202 and fault.failed >= 1
    assert waiting["state"] == "WAITING"
    assert early.restarted == [] and report.restarted == [job_id]
    assert job["state"] == "SUCCESS"
    assert executions_of(aws, job_id) == 1 and records(aws) == 1


def test_a_retried_create_after_a_failed_start_runs_the_one_job_once(
    jobs: JobsClient, aws: Provisioned
) -> None:
    body = {"method": "demo.echo", "params": {"n": 2}}
    key = {"Idempotency-Key": "create-then-crash"}
    with failing(clients().stepfunctions, "StartExecution"):
        first = jobs.request("POST", "/jobs", body, headers=key)
    again = jobs.request("POST", "/jobs", body, headers=key)
    job = jobs.wait_for(first.body["id"])
    later(services().settings.stalled_start_seconds + 5).sweep()

    assert (first.status, again.status) == (202, 200)
    assert again.body["id"] == first.body["id"] and job["state"] == "SUCCESS"
    assert executions_of(aws, job["id"]) == 1 and records(aws) == 1


# finish (a child's): its terminal transaction, then read its parent, then wake it


def test_a_parent_whose_wake_was_lost_is_woken_by_the_sweeper(
    jobs: JobsClient, aws: Provisioned
) -> None:
    parent_id = jobs.submit("test.relay", {"gates": ["wake-a", "wake-b"]}).body["id"]
    wait_until(lambda: services().store.get(parent_id),
               lambda job: job is not None and job.wait_token is not None)

    with failing(clients().stepfunctions, "SendTaskSuccess", times=1) as fault:
        gate("wake-a").set()
        gate("wake-b").set()
        stuck = wait_until(lambda: services().store.get(parent_id),
                           lambda job: job.child_pending == 0 and job.woken_token, timeout=30)
        time.sleep(0.5)
    still = jobs.get(parent_id).body
    report = later(services().settings.lost_run_seconds + 60).sweep()
    parent = jobs.wait_for(parent_id)

    assert fault.failed == 1 and stuck.state.value == "RUNNING"
    assert still["state"] == "RUNNING"
    assert report.woken == [parent_id]
    assert parent["state"] == "SUCCESS" and parent["children_summary"]["SUCCESS"] == 2


# finish (a leaf's): one write; if it fails, the state machine's Catch records it


def test_a_finish_write_that_fails_leaves_the_job_failed_with_the_reason(
    jobs: JobsClient, aws: Provisioned
) -> None:
    go = hold_the_worker(aws)
    job_id = jobs.submit("demo.echo", {"n": 4}).body["id"]
    with failing(clients().dynamodb, "UpdateItem", times=1, after=1) as fault:
        go.set()  # marking it RUNNING goes through, the finish fails
        job = jobs.wait_for(job_id)

    assert fault.failed == 1
    assert job["state"] == "FAILED" and "ServiceUnavailable" in job["error"]
    assert executions_of(aws, job_id) == 1


# cancel (a waiting parent's): the abort write, then its wake


def test_a_cancelled_parent_whose_wake_was_lost_still_aborts_its_children(
    jobs: JobsClient, aws: Provisioned
) -> None:
    parent_id = jobs.submit("test.relay", {"gates": ["cancel-a", "cancel-b"]}).body["id"]
    waiting = wait_until(lambda: services().store.get(parent_id),
                         lambda job: job is not None and job.wait_token is not None)

    with failing(clients().stepfunctions, "SendTaskSuccess", times=1) as fault:
        cancelled = jobs.request("POST", f"/jobs/{parent_id}/cancel")
    report = later(services().settings.abort_grace_seconds + 5).sweep()
    children = jobs.request("GET", f"/jobs/{parent_id}/children").body["records"]
    gate("cancel-a").set()
    gate("cancel-b").set()

    assert waiting.child_total == 2 and fault.failed == 1
    assert cancelled.status == 200 and cancelled.body["state"] == "ABORTED"
    assert parent_id in report.stopped
    assert sorted(child["state"] for child in children) == ["ABORTED", "ABORTED"]


# a run whose execution ended or vanished without recording an outcome


def mark_running_only(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """A worker that marks its job RUNNING and then loses track of it: its execution
    ends SUCCEEDED with the job still RUNNING (what a lost write looks like)."""
    services().store.mark_running(event["job_id"], event["tenant_id"], "2026-01-01T00:00:00.000Z")
    return {"lost": True}


def do_nothing(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"lost": True}


def test_a_running_job_whose_execution_ended_is_failed_with_the_reason(
    jobs: JobsClient, aws: Provisioned
) -> None:
    seam.install({aws.worker_function: mark_running_only})
    job_id = jobs.submit("test.stubborn", {"gate": "lost-standard"}).body["id"]
    wait_until(lambda: services().workflow.status(job_id), lambda s: s == "SUCCEEDED")
    seam.install({aws.worker_function: job_app.worker})

    young = later(10).sweep()
    report = later(services().settings.lost_run_seconds + 60).sweep()
    job = jobs.get(job_id).body

    assert young.failed == [] and report.failed == [job_id]
    assert job["state"] == "FAILED"
    assert "ExecutionLost" in job["error"] and "SUCCEEDED" in job["exception"]


def test_a_waiting_job_whose_execution_ended_without_running_it_is_failed(
    jobs: JobsClient, aws: Provisioned
) -> None:
    seam.install({aws.worker_function: do_nothing})
    job_id = jobs.submit("test.stubborn", {"gate": "never-ran"}).body["id"]
    wait_until(lambda: services().workflow.status(job_id), lambda s: s == "SUCCEEDED")
    seam.install({aws.worker_function: job_app.worker})

    report = later(services().settings.stalled_start_seconds + 5).sweep()
    job = jobs.get(job_id).body

    assert report.restarted == []  # its name cannot be used again
    assert job["state"] == "FAILED" and "before running the job" in job["exception"]
    assert executions_of(aws, job_id) == 1


def test_an_express_run_older_than_express_allows_is_failed(
    jobs: JobsClient, aws: Provisioned
) -> None:
    job_id = jobs.submit("test.gated_express", {"gate": "lost-express"}).body["id"]
    jobs.wait_for(job_id, lambda j: j["state"] == "RUNNING")

    report = later(services().settings.lost_run_seconds + 60).sweep()
    gate("lost-express").set()
    time.sleep(0.5)
    job = jobs.get(job_id).body

    assert report.failed == [job_id]
    assert job["state"] == "FAILED" and job["result"] is None  # the late finish lost


def test_a_long_parent_whose_execution_still_runs_is_left_alone(
    jobs: JobsClient, aws: Provisioned
) -> None:
    parent_id = jobs.submit("test.relay", {"gates": ["alone"]}).body["id"]
    wait_until(lambda: services().store.get(parent_id),
               lambda job: job is not None and job.wait_token is not None)

    report = later(services().settings.lost_run_seconds + 60).sweep()
    gate("alone").set()

    assert parent_id not in report.failed and parent_id not in report.woken
    assert jobs.wait_for(parent_id)["state"] == "SUCCESS"


# waits whose timeout was lost


def test_a_download_wait_past_its_window_is_aborted_by_the_sweeper(
    jobs: JobsClient, aws: Provisioned
) -> None:
    answer = jobs.submit("demo.export", {"size": 10}, download={"filename": "x"})
    job_id = answer.body["id"]
    wait_until(lambda: jobs.get(job_id).body, lambda j: j["download"]["state"] == "READY")

    early = later(30).sweep()
    report = later(services().settings.download_window_seconds + 120).sweep()
    link = jobs.request("GET", answer.body["download_url"])

    assert early.expired == [] and report.expired == [job_id]
    assert jobs.get(job_id).body["state"] == "ABORTED"
    assert link.status == 410
    assert clients().s3.list_objects_v2(Bucket=aws.bucket_name,
                                        Prefix=output_key(job_id)).get("KeyCount", 0) == 0


def test_an_upload_wait_past_its_window_is_aborted_by_the_sweeper(
    jobs: JobsClient, aws: Provisioned
) -> None:
    answer = jobs.submit("demo.checksum", upload={"filename": "f", "size": 1,
                                                  "expires_in": 600})
    job_id = answer.body["id"]

    early = later(300).sweep()
    report = later(600 + services().settings.upload_grace_seconds + 120).sweep()

    assert early.expired == [] and report.expired == [job_id]
    job = jobs.get(job_id).body
    assert job["state"] == "ABORTED" and "upload did not arrive" in job["error"]


# the sweeper's reads: at most a budget of each partition a run, resumed


def stored_job(tenant: str, state: JobState, created: float, started: float | None = None,
               ) -> str:
    job = Job(id=uuid.uuid4().hex, method="demo.echo", arguments={}, state=state,
              time_created=iso(created), time_updated=iso(created), tenant_id=tenant,
              time_started=iso(started) if started is not None else None)
    services().store.create(job)
    return job.id


def test_a_tenant_with_more_unfinished_jobs_than_a_run_reads_hides_no_other_tenant(
    jobs: JobsClient, aws: Provisioned
) -> None:
    budget = 10
    heavy = "heavy"
    shard = keys.active_shard(heavy)
    # A tenant whose jobs sort after all of heavy's in the same partition.
    other = next(name for name in (f"other{n}" for n in range(100))
                 if keys.active_shard(name) == shard)
    now = time.time()
    for n in range(25):  # fresh WAITING jobs: nothing to repair, they just stay
        stored_job(heavy, JobState.WAITING, now - n)
    lost = stored_job(other, JobState.RUNNING, now - 7200, started=now - 7190)
    calls = CallRecorder(clients().dynamodb, api_only=True)
    sweeper = sweeper_at(time.time, entries_per_run=budget)

    runs, reads = [], []
    for _ in range(3):
        mark = len(calls.calls)
        runs.append(sweeper.sweep())
        reads.append(sum(params["Limit"] for name, params in calls.calls[mark:]
                         if name == "Query"
                         and params["ExpressionAttributeValues"][":shard"]["S"] == shard))

    assert [lost in run.failed for run in runs] == [False, False, True]
    assert services().store.get(lost).state is JobState.FAILED
    assert all(read <= budget for read in reads)
    # Read to its end: the next run starts the partition over.
    assert shard not in services().store.sweep_cursors()


# delete = S3 objects, then the record; claim = the write, then the wake


def test_a_delete_that_fails_midway_can_be_retried(jobs: JobsClient, aws: Provisioned) -> None:
    job_id = jobs.submit("test.big_result", {"size": 40_000}).body["id"]
    jobs.wait_for(job_id)

    with failing(clients().dynamodb, "DeleteItem"):
        failed = jobs.request("DELETE", f"/jobs/{job_id}")
    kept = jobs.get(job_id)
    retried = jobs.request("DELETE", f"/jobs/{job_id}")

    assert failed.status == 503 and kept.status == 200
    assert retried.body == {"deleted": 1, "more": False}
    assert jobs.get(job_id).status == 404 and records(aws) == 0


def test_a_claim_whose_wake_fails_still_gets_its_file(jobs: JobsClient,
                                                      aws: Provisioned) -> None:
    answer = jobs.submit("demo.export", {"size": 10}, download={"filename": "x"})
    job_id = answer.body["id"]
    wait_until(lambda: services().store.get(job_id),
               lambda job: job.wait_token is not None)

    with failing(clients().stepfunctions, "SendTaskSuccess") as fault:
        claim = jobs.request("GET", answer.body["download_url"])
    again = jobs.request("GET", answer.body["download_url"])

    assert fault.failed == 1
    assert claim.status == 302 and again.status == 410
    assert jobs.get(job_id).body["state"] == "SUCCESS"


# throttling: botocore retries; past its retries, 503 with Retry-After


def test_throttling_is_retried_by_botocore_and_the_client_never_sees_it(
    jobs: JobsClient, aws: Provisioned
) -> None:
    job_id = jobs.submit("demo.echo", {"n": 3}).body["id"]
    jobs.wait_for(job_id)

    with throttled(clients().dynamodb, "GetItem", attempts=2) as throttle:
        answer = jobs.get(job_id)

    assert throttle.sent == 2
    assert answer.status == 200 and answer.body["result"] == {"n": 3}


def test_a_read_throttled_past_its_retries_is_503_with_retry_after(
    jobs: JobsClient, aws: Provisioned
) -> None:
    with failing(clients().dynamodb, "GetItem"):
        answer = jobs.get("00000000-0000-4000-8000-000000000000")

    assert answer.status == 503 and answer.headers["Retry-After"] == "1"
    assert "busy" in answer.body["error"]["message"]
