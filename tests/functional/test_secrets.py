"""A params field typed SecretStr never appears in any answer, error or log."""

from __future__ import annotations

import json
import logging

import boto3
import pytest

from local.provision import Provisioned
from tests.helpers import JobsClient, token_for

PASSWORD = "canary-Pa55w0rd-7f3a"


def submit_secret(jobs: JobsClient, fail: bool = False):  # type: ignore[no-untyped-def]
    return jobs.submit("demo.secret", {"username": "alice", "password": PASSWORD, "fail": fail})


def test_the_secret_is_masked_in_the_submit_answer_and_every_read(jobs: JobsClient) -> None:
    created = submit_secret(jobs)
    finished = jobs.wait_for(created.body["id"])

    for answer in (created.body, finished):
        assert PASSWORD not in json.dumps(answer)
        assert answer["arguments"] == {"username": "alice", "password": "********", "fail": False}
    assert finished["result"] == {"username": "alice", "password_used": "********",
                                  "login": "ok"}
    assert finished["progress"]["description"] == "authenticated alice with ********"


def test_the_secret_is_scrubbed_from_errors_and_tracebacks(jobs: JobsClient) -> None:
    job = jobs.wait_for(submit_secret(jobs, fail=True).body["id"])

    assert job["state"] == "FAILED"
    assert PASSWORD not in json.dumps(job)
    assert job["error"] == "login refused for alice with password ********"
    assert "********" in job["exception"]


def test_the_secret_is_never_stored_outside_the_arguments(
    jobs: JobsClient, aws: Provisioned
) -> None:
    job_id = submit_secret(jobs, fail=True).body["id"]
    jobs.wait_for(job_id)

    item = boto3.client("dynamodb").get_item(TableName=aws.table_name, Key={"id": {"S": job_id}})
    stored = {k: v for k, v in item["Item"].items() if k != "arguments"}

    assert PASSWORD not in json.dumps(stored)


def test_the_handlers_log_lines_are_scrubbed(
    jobs: JobsClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="jobapi"):
        jobs.wait_for(submit_secret(jobs).body["id"])

    lines = [r.getMessage() for r in caplog.records if r.name.startswith("jobapi.worker")]
    assert any("logging in as alice with password ********" in line for line in lines)
    assert all(PASSWORD not in line for line in caplog.text.splitlines())


def test_raw_result_shows_a_full_admin_the_result_unredacted_but_never_the_arguments(
    jobs: JobsClient,
) -> None:
    job_id = submit_secret(jobs).body["id"]
    jobs.wait_for(job_id)
    admin = jobs.as_caller(token_for("ops", "root", ("FULL_ADMIN",)))

    raw = admin.request("GET", f"/jobs/{job_id}?raw_result=true").body
    tenant_admin = jobs.request("GET", f"/jobs/{job_id}?raw_result=true").body

    assert raw["result"]["password_used"] == PASSWORD
    assert raw["arguments"]["password"] == "********"
    assert tenant_admin["result"]["password_used"] == "********"


def test_a_secret_that_fails_validation_is_not_echoed(jobs: JobsClient) -> None:
    answer = jobs.submit("demo.secret", {"username": ["not", "a", "string"],
                                         "password": PASSWORD})

    assert answer.status == 400
    assert PASSWORD not in json.dumps(answer.body)


def test_methods_show_which_params_are_secret(jobs: JobsClient) -> None:
    methods = {m["name"]: m for m in jobs.request("GET", "/methods").body["methods"]}

    password = methods["demo.secret"]["params_schema"]["properties"]["password"]

    assert password["format"] == "password" and password["writeOnly"] is True


def test_the_secret_is_masked_in_lists_and_cannot_be_filtered_on(jobs: JobsClient) -> None:
    jobs.wait_for(submit_secret(jobs).body["id"])

    listed = jobs.request("GET", "/jobs?method=demo.secret")
    probe = jobs.request("GET", '/jobs?filters=[["arguments.password","=","x"]]')

    assert listed.body["returned_records"] == 1
    assert PASSWORD not in json.dumps(listed.body)
    assert listed.body["records"][0]["arguments"]["password"] == "********"
    assert probe.status == 400  # arguments are not filterable: no guessing oracle
