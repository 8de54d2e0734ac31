"""Bad input gets a clear 4xx in the error envelope, and creates nothing."""

from __future__ import annotations

import boto3
import pytest

from local.provision import Provisioned
from tests.helpers import JobsClient


def assert_error(answer, status: int, code: str) -> dict:  # type: ignore[no-untyped-def]
    assert answer.status == status, answer.body
    assert set(answer.body) == {"error"}
    error = answer.body["error"]
    assert error["code"] == code
    assert error["message"]
    return error


def assert_nothing_created(aws: Provisioned) -> None:
    table = boto3.client("dynamodb").scan(TableName=aws.table_name, Select="COUNT")
    executions = boto3.client("stepfunctions").list_executions(
        stateMachineArn=aws.state_machine_arn
    )
    assert table["Count"] == 0
    assert executions["executions"] == []


@pytest.mark.parametrize(
    "raw, words",
    [
        ("{not json", "not valid JSON"),
        ("", "empty"),
        ("[1, 2]", "JSON object"),
        ('"demo.echo"', "JSON object"),
        ("\xff\xfe", "not valid JSON"),
    ],
)
def test_a_body_that_is_not_a_json_object_is_rejected(
    jobs: JobsClient, aws: Provisioned, raw: str, words: str
) -> None:
    error = assert_error(jobs.request("POST", "/jobs", raw=raw), 400, "bad_request")

    assert words in error["message"]
    assert_nothing_created(aws)


def test_a_missing_method_names_the_field(jobs: JobsClient, aws: Provisioned) -> None:
    error = assert_error(jobs.request("POST", "/jobs", {"params": {}}), 400, "bad_request")

    assert error["details"][0]["field"] == "method"
    assert "method" in error["message"]
    assert_nothing_created(aws)


def test_an_unknown_body_field_is_rejected(jobs: JobsClient, aws: Provisioned) -> None:
    body = {"method": "demo.echo", "params": {}, "priority": 9}
    error = assert_error(jobs.request("POST", "/jobs", body), 400, "bad_request")

    assert error["details"][0]["field"] == "priority"
    assert_nothing_created(aws)


def test_an_unknown_method_lists_the_known_ones(jobs: JobsClient, aws: Provisioned) -> None:
    error = assert_error(jobs.submit("disk.format", {}), 400, "unknown_method")

    assert "disk.format" in error["message"]
    assert {"demo.echo", "demo.sleep", "demo.fail"} <= set(error["details"]["known_methods"])
    assert "demo.echo" in error["message"]
    assert_nothing_created(aws)


def test_params_that_fail_validation_name_the_field(jobs: JobsClient, aws: Provisioned) -> None:
    error = assert_error(
        jobs.submit("demo.sleep", {"seconds": "soon", "steps": 0}), 400, "invalid_params"
    )

    fields = {problem["field"] for problem in error["details"]}
    assert fields == {"seconds", "steps"}
    assert "seconds" in error["message"] and "steps" in error["message"]
    assert_nothing_created(aws)


def test_params_must_be_an_object(jobs: JobsClient, aws: Provisioned) -> None:
    error = assert_error(
        jobs.request("POST", "/jobs", {"method": "demo.echo", "params": [1]}), 400, "bad_request"
    )

    assert error["details"][0]["field"] == "params"
    assert_nothing_created(aws)


def test_a_rejected_value_is_not_echoed_back(jobs: JobsClient) -> None:
    answer = jobs.submit("demo.sleep", {"seconds": "hunter2-secret"})

    assert "hunter2-secret" not in str(answer.body)


def test_an_unknown_job_id_is_404(jobs: JobsClient) -> None:
    error = assert_error(jobs.get("no-such-job"), 404, "not_found")

    assert "no-such-job" in error["message"]


def test_curl_default_content_type_is_read_as_json(jobs: JobsClient) -> None:
    answer = jobs.request(
        "POST", "/jobs", raw='{"method": "demo.echo", "params": {}}',
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert answer.status == 202
