"""POST /jobs/{id}/cancel: every state, and handlers that do or do not cooperate."""

from __future__ import annotations

import json
import threading
import uuid
from typing import Any

import boto3

import app as job_app
from chalicelib.clock import system_clock
from chalicelib.wiring import services
from local import seam
from local.provision import Provisioned
from tests.helpers import CallRecorder, JobsClient, sweeper_at, wait_until
from tests.methods_for_tests import gate


def cancel(jobs: JobsClient, job_id: str):  # type: ignore[no-untyped-def]
    return jobs.request("POST", f"/jobs/{job_id}/cancel")


def execution_status(job_id: str) -> str:
    arn = services().workflow.execution_arn(job_id)
    return str(boto3.client("stepfunctions").describe_execution(executionArn=arn)["status"])


def test_a_waiting_job_goes_straight_to_aborted_and_never_runs(
    jobs: JobsClient, aws: Provisioned
) -> None:
    lambda_starts = threading.Event()
    ran: list[dict[str, Any]] = []

    def slow_cold_start(event: dict[str, Any], context: Any) -> Any:
        lambda_starts.wait(30)
        answer = job_app.worker(event, context)
        ran.append(answer)
        return answer

    seam.install({aws.worker_function: slow_cold_start})
    job_id = jobs.submit("demo.echo", {"x": 1}).body["id"]

    answer = cancel(jobs, job_id)
    lambda_starts.set()

    assert answer.status == 200
    assert answer.body["state"] == "ABORTED"
    assert answer.body["time_started"] is None
    wait_until(lambda: ran, bool)
    assert ran == [{"job_id": job_id, "state": "ABORTED", "ran": False}]
    assert jobs.get(job_id).body["result"] is None


def test_a_running_abortable_job_is_told_and_stops_early(jobs: JobsClient) -> None:
    job_id = jobs.submit("demo.sleep", {"seconds": 60, "steps": 600}).body["id"]
    jobs.wait_for(job_id, lambda job: job["state"] == "RUNNING")

    answer = cancel(jobs, job_id)

    assert answer.status == 200 and answer.body["state"] == "ABORTED"
    assert answer.body["error"] == "aborted by request"
    # The handler notices on its next progress write and returns long before
    # its 60 s: the execution ends and the job is still ABORTED.
    wait_until(lambda: execution_status(job_id), lambda s: s != "RUNNING", timeout=20)
    job = jobs.get(job_id).body
    assert job["state"] == "ABORTED"
    assert job["result"] is None
    assert job["progress"]["percent"] != 100


def cancelled_stubborn_job(jobs: JobsClient) -> tuple[str, str]:
    """A running handler that ignores cancels, just cancelled: (job id, its gate)."""
    name = str(uuid.uuid4())
    job_id = jobs.submit("test.stubborn", {"gate": name}).body["id"]
    jobs.wait_for(job_id, lambda job: job["state"] == "RUNNING")
    assert cancel(jobs, job_id).body["state"] == "ABORTED"
    return job_id, name


def test_a_handler_that_ignores_the_cancel_is_stopped_after_the_grace_period(
    jobs: JobsClient, aws: Provisioned
) -> None:
    job_id, name = cancelled_stubborn_job(jobs)

    workflow = services().workflow
    recorder = CallRecorder(services().clients.stepfunctions)
    early = sweeper_at(system_clock).sweep()
    late = sweeper_at(lambda: system_clock() + 3600).sweep()

    assert job_id not in early.stopped  # still inside its grace period
    assert late.stopped == [job_id]
    # moto records StopExecution but does not stop an interpreted execution,
    # so the call itself is what can be checked here.
    stops = [params for name, params in recorder.calls if name == "StopExecution"]
    assert [s["executionArn"] for s in stops] == [workflow.execution_arn(job_id)]
    assert sweeper_at(lambda: system_clock() + 3600).sweep().stopped == []
    gate(name).set()  # the handler finally returns: its finish must not land
    # (moto let the execution run on, so it ends once the worker has tried.)
    wait_until(lambda: execution_status(job_id), lambda status: status != "RUNNING")
    job = jobs.get(job_id).body
    assert job["state"] == "ABORTED" and job["result"] is None


def test_a_handler_that_ends_within_the_grace_period_leaves_nothing_to_stop(
    jobs: JobsClient, aws: Provisioned
) -> None:
    job_id, name = cancelled_stubborn_job(jobs)
    gate(name).set()
    wait_until(lambda: execution_status(job_id), lambda s: s != "RUNNING")

    sweep = sweeper_at(lambda: system_clock() + 3600)

    assert sweep.sweep().stopped == []
    assert execution_status(job_id) == "SUCCEEDED"
    assert jobs.get(job_id).body["state"] == "ABORTED"


def test_a_running_job_that_is_not_abortable_answers_409_and_keeps_running(
    jobs: JobsClient,
) -> None:
    name = str(uuid.uuid4())
    job_id = jobs.submit("test.blocking", {"gate": name}).body["id"]
    jobs.wait_for(job_id, lambda job: job["state"] == "RUNNING")

    answer = cancel(jobs, job_id)
    gate(name).set()

    assert answer.status == 409
    assert answer.body["error"]["code"] == "conflict"
    assert answer.body["error"]["details"] == {"state": "RUNNING", "abortable": False}
    assert jobs.wait_for(job_id)["state"] == "SUCCESS"


def test_a_finished_job_answers_409_with_its_state(jobs: JobsClient) -> None:
    job_id = jobs.submit("demo.echo", {}).body["id"]
    jobs.wait_for(job_id)

    answer = cancel(jobs, job_id)

    assert answer.status == 409
    assert answer.body["error"]["details"] == {"state": "SUCCESS"}
    assert "SUCCESS" in answer.body["error"]["message"]
    assert jobs.get(job_id).body["state"] == "SUCCESS"


def test_cancelling_an_unknown_job_is_404(jobs: JobsClient) -> None:
    assert cancel(jobs, "no-such-job").status == 404


def test_cancelling_twice_answers_409_the_second_time(jobs: JobsClient) -> None:
    job_id = jobs.submit("demo.sleep", {"seconds": 30, "steps": 300}).body["id"]
    jobs.wait_for(job_id, lambda job: job["state"] == "RUNNING")

    first, second = cancel(jobs, job_id), cancel(jobs, job_id)

    assert first.status == 200
    assert second.status == 409 and second.body["error"]["details"] == {"state": "ABORTED"}


def test_a_cancel_whose_read_misses_the_wait_token_still_aborts_the_children(
    jobs: JobsClient, aws: Provisioned
) -> None:
    """The parent stores its wait token between the cancel's read and its
    write: the write must not succeed on that stale read, or nothing wakes the
    parent and its children run on (found by the cascade benchmark)."""
    parent_gate, child_gate = str(uuid.uuid4()), str(uuid.uuid4())
    parent_id = jobs.submit("test.late_relay", {"gate": parent_gate,
                                                "gates": [child_gate]}).body["id"]
    jobs.wait_for(parent_id, lambda job: job["state"] == "RUNNING")
    reader = boto3.client("dynamodb")
    fired: list[bool] = []

    def token_lands_first(params: dict[str, Any], **_: Any) -> None:
        values = json.dumps(params.get("ExpressionAttributeValues", {}))
        if fired or params["Key"]["id"]["S"] != parent_id or '"ABORTED"' not in values:
            return
        fired.append(True)
        gate(parent_gate).set()
        wait_until(lambda: reader.get_item(TableName=aws.table_name,
                                           Key={"id": {"S": parent_id}})["Item"],
                   lambda item: "wait_token" in item)

    events = services().clients.dynamodb.meta.events
    events.register("provide-client-params.dynamodb.UpdateItem", token_lands_first)
    try:
        answer = cancel(jobs, parent_id)
    finally:
        events.unregister("provide-client-params.dynamodb.UpdateItem", token_lands_first)
    try:
        assert answer.status == 200 and answer.body["state"] == "ABORTED"
        assert fired
        children = wait_until(
            lambda: jobs.request("GET", f"/jobs/{parent_id}/children").body["records"],
            lambda records: len(records) == 1 and records[0]["state"] == "ABORTED",
            timeout=20)
        assert children[0]["state"] == "ABORTED"
    finally:
        gate(child_gate).set()


def test_a_cascade_whose_read_misses_a_childs_wait_token_still_aborts_its_subtree(
    jobs: JobsClient, aws: Provisioned
) -> None:
    """The same race one level down: the parent's Finish reads a child (a
    parent itself) just before it parks; the child's abort must be retried on
    the record the refusal carries, so the child is woken and aborts its own."""
    child_gate, grandchild_gate = str(uuid.uuid4()), str(uuid.uuid4())
    parent_id = jobs.submit("demo.group", {}, children=[
        {"method": "test.late_relay", "params": {"gate": child_gate,
                                                 "gates": [grandchild_gate]}}]).body["id"]
    child = wait_until(
        lambda: jobs.request("GET", f"/jobs/{parent_id}/children").body["records"],
        lambda records: len(records) == 1 and records[0]["state"] == "RUNNING")[0]
    reader = boto3.client("dynamodb")
    fired: list[bool] = []

    def child_parks_first(params: dict[str, Any], **_: Any) -> None:
        update = params["TransactItems"][0].get("Update", {})
        values = json.dumps(update.get("ExpressionAttributeValues", {}))
        if fired or update.get("Key", {}).get("id", {}).get("S") != child["id"] \
                or '"ABORTED"' not in values:
            return
        fired.append(True)
        gate(child_gate).set()
        wait_until(lambda: reader.get_item(TableName=aws.table_name,
                                           Key={"id": {"S": child["id"]}})["Item"],
                   lambda item: "wait_token" in item)

    events = services().clients.dynamodb.meta.events
    events.register("provide-client-params.dynamodb.TransactWriteItems", child_parks_first)
    try:
        assert cancel(jobs, parent_id).status == 200
        grandchildren = wait_until(
            lambda: jobs.request("GET", f"/jobs/{child['id']}/children").body["records"],
            lambda records: len(records) == 1 and records[0]["state"] == "ABORTED",
            timeout=20)
        assert fired and grandchildren[0]["state"] == "ABORTED"
        assert jobs.get(child["id"]).body["state"] == "ABORTED"
    finally:
        events.unregister("provide-client-params.dynamodb.TransactWriteItems",
                          child_parks_first)
        gate(child_gate).set()
        gate(grandchild_gate).set()
