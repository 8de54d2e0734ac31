"""A job submitted through the API runs under the real state machine definition."""

from __future__ import annotations

import boto3

from local.provision import Provisioned
from tests.helpers import JobsClient

TRUENAS_FIELDS = {
    "id", "method", "arguments", "description", "transient", "abortable", "state",
    "progress", "result", "result_encoding_error", "error", "exception", "exc_info",
    "logs_path", "logs_excerpt", "message_ids", "time_created", "time_started",
    "time_finished", "time_updated", "tenant_id", "user_id", "parent_id",
}


def test_submit_answers_202_with_location_and_the_waiting_job(jobs: JobsClient) -> None:
    answer = jobs.submit("demo.echo", {"hello": "world"})

    assert answer.status == 202
    job = answer.body
    assert answer.headers["Location"] == f"/jobs/{job['id']}"
    assert job["state"] == "WAITING"
    assert job["method"] == "demo.echo"
    assert job["arguments"] == {"hello": "world"}
    assert job["time_started"] is None


def test_demo_echo_runs_to_success_with_its_params_as_result(jobs: JobsClient) -> None:
    job_id = jobs.submit("demo.echo", {"hello": "world", "n": [1, 2.5]}).body["id"]

    job = jobs.wait_for(job_id)

    assert job["state"] == "SUCCESS"
    assert job["result"] == {"hello": "world", "n": [1, 2.5]}
    assert job["progress"]["percent"] == 100
    assert job["time_created"] <= job["time_started"] <= job["time_finished"]
    assert job["error"] is None and job["exception"] is None


def test_job_record_uses_truenas_field_names(jobs: JobsClient) -> None:
    job_id = jobs.submit("demo.echo", {}).body["id"]

    job = jobs.wait_for(job_id)

    assert set(job) >= TRUENAS_FIELDS
    assert set(job["progress"]) == {"percent", "description", "extra"}


def executions_of(machine_arn: str) -> list[dict]:  # type: ignore[type-arg]
    return list(boto3.client("stepfunctions").list_executions(
        stateMachineArn=machine_arn)["executions"])


def test_a_short_job_runs_as_an_express_execution_named_after_its_id(
    jobs: JobsClient, aws: Provisioned
) -> None:
    job_id = jobs.submit("demo.echo", {}).body["id"]
    jobs.wait_for(job_id)

    express = executions_of(aws.express_state_machine_arn)

    assert [e["name"] for e in express] == [job_id]
    assert express[0]["status"] == "SUCCEEDED"
    assert executions_of(aws.state_machine_arn) == []


def test_a_long_running_method_runs_as_a_standard_execution(
    jobs: JobsClient, aws: Provisioned
) -> None:
    job_id = jobs.submit("demo.sleep", {"seconds": 0.1, "steps": 1}).body["id"]
    jobs.wait_for(job_id)

    standard = executions_of(aws.state_machine_arn)

    assert [e["name"] for e in standard] == [job_id]
    assert executions_of(aws.express_state_machine_arn) == []


def test_worker_claims_the_job_before_running_it(jobs: JobsClient) -> None:
    job_id = jobs.submit("demo.sleep", {"seconds": 0.6, "steps": 3}).body["id"]

    running = jobs.wait_for(job_id, lambda job: job["state"] != "WAITING")

    assert running["state"] == "RUNNING"
    assert running["time_started"] is not None
    assert jobs.wait_for(job_id)["state"] == "SUCCESS"


def test_demo_sleep_reports_progress_while_running(jobs: JobsClient) -> None:
    job_id = jobs.submit("demo.sleep", {"seconds": 1.2, "steps": 4}).body["id"]

    midway = jobs.wait_for(
        job_id, lambda job: job["state"] == "RUNNING" and (job["progress"]["percent"] or 0) > 0
    )
    finished = jobs.wait_for(job_id)

    assert 0 < midway["progress"]["percent"] < 100
    assert midway["progress"]["description"].startswith("step ")
    assert finished["state"] == "SUCCESS"
    assert finished["progress"] == {"percent": 100, "description": "step 4 of 4", "extra": None}
    assert finished["result"] == {"slept": 1.2, "steps": 4}


def test_demo_fail_ends_failed_with_error_traceback_and_exc_info(jobs: JobsClient) -> None:
    job_id = jobs.submit("demo.fail", {"message": "disk on fire"}).body["id"]

    job = jobs.wait_for(job_id)

    assert job["state"] == "FAILED"
    assert job["error"] == "disk on fire"
    assert "Traceback" in job["exception"] and "DemoFailure: disk on fire" in job["exception"]
    assert job["exc_info"]["type"] == "DemoFailure"
    assert job["exc_info"]["repr"] == "DemoFailure('disk on fire')"
    assert job["result"] is None


def test_request_id_header_becomes_the_jobs_message_id(jobs: JobsClient) -> None:
    answer = jobs.request(
        "POST", "/jobs", {"method": "demo.echo", "params": {}}, headers={"X-Request-Id": "call-42"}
    )

    assert answer.body["message_ids"] == ["call-42"]


def test_description_and_transient_are_kept(jobs: JobsClient) -> None:
    answer = jobs.submit("demo.echo", {}, description="nightly export", transient=True)

    job = jobs.wait_for(answer.body["id"])

    assert job["description"] == "nightly export"
    assert job["transient"] is True


def test_methods_lists_every_method_with_its_params_schema(jobs: JobsClient) -> None:
    answer = jobs.request("GET", "/methods")

    assert answer.status == 200
    methods = {m["name"]: m for m in answer.body["methods"]}
    assert {"demo.echo", "demo.sleep", "demo.fail"} <= set(methods)
    sleep = methods["demo.sleep"]
    assert sleep["abortable"] is True
    assert set(sleep["params_schema"]["properties"]) == {"seconds", "steps"}
    assert sleep["params_schema"]["properties"]["steps"]["minimum"] == 1
    assert methods["demo.echo"]["abortable"] is False
