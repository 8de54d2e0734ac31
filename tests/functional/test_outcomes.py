"""How a run's outcome is recorded: errors with errno and extra, declared
retries, results too big for the record, results that are not JSON."""

from __future__ import annotations

import uuid

import boto3
import jsonschema

from chalicelib.wiring import services
from local.provision import Provisioned
from tests.helpers import JobsClient


def test_an_os_error_records_its_errno_and_the_exceptions_extra(jobs: JobsClient) -> None:
    job = jobs.wait_for(jobs.submit("test.disk_full", {"size": 0}).body["id"])

    assert job["state"] == "FAILED"
    assert job["exc_info"] == {
        "type": "DiskFull",
        "errno": 28,
        "repr": "DiskFull(28, 'No space left on device')",
        "extra": {"pool": "tank", "free_bytes": 0},
    }
    assert "No space left on device" in job["error"]


def test_a_declared_transient_error_is_retried_until_it_succeeds(jobs: JobsClient) -> None:
    name = str(uuid.uuid4())
    job = jobs.wait_for(jobs.submit("test.flaky", {"name": name, "failures": 2}).body["id"])

    assert job["state"] == "SUCCESS"
    assert job["result"] == {"attempts": 3}


def test_retries_stop_at_the_declared_number_of_attempts(jobs: JobsClient) -> None:
    name = str(uuid.uuid4())
    job = jobs.wait_for(jobs.submit("test.flaky", {"name": name, "failures": 5}).body["id"])

    assert job["state"] == "FAILED"
    assert job["error"] == "attempt 3"
    assert job["exc_info"]["type"] == "ConnectionError"


def test_an_error_not_declared_transient_is_not_retried(jobs: JobsClient) -> None:
    name = str(uuid.uuid4())
    params = {"name": name, "failures": 1, "error": "ValueError"}
    job = jobs.wait_for(jobs.submit("test.flaky", params).body["id"])

    assert job["state"] == "FAILED"
    assert job["error"] == "attempt 1"


def test_a_result_too_big_for_the_record_is_kept_in_s3_and_served_whole(
    jobs: JobsClient, aws: Provisioned
) -> None:
    size = services().settings.inline_result_bytes + 1000
    job_id = jobs.submit("test.big_result", {"size": size}).body["id"]

    job = jobs.wait_for(job_id)
    item = boto3.client("dynamodb").get_item(TableName=aws.table_name, Key={"id": {"S": job_id}})
    stored = boto3.client("s3").get_object(Bucket=aws.bucket_name, Key=f"jobs/{job_id}/result.json")

    assert job["state"] == "SUCCESS"
    assert job["result"] == {"blob": "x" * size}
    assert "result" not in item["Item"]
    assert len(stored["Body"].read()) > size


def test_a_result_that_fits_stays_in_the_record(jobs: JobsClient, aws: Provisioned) -> None:
    job_id = jobs.submit("test.big_result", {"size": 100}).body["id"]
    jobs.wait_for(job_id)

    listing = boto3.client("s3").list_objects_v2(Bucket=aws.bucket_name)

    assert listing.get("KeyCount", 0) == 0


def test_a_result_that_is_not_json_still_records_the_success(jobs: JobsClient) -> None:
    job = jobs.wait_for(jobs.submit("test.unserialisable", {"size": 0}).body["id"])

    assert job["state"] == "SUCCESS"
    assert job["result"] is None
    assert "not JSON-serialisable" in job["result_encoding_error"]
    assert job["progress"]["percent"] == 100


def test_the_job_schema_is_published_and_every_job_matches_it(jobs: JobsClient) -> None:
    schema = jobs.request("GET", "/jobs/schema")
    finished = [
        jobs.wait_for(jobs.submit(method, params).body["id"])
        for method, params in [("demo.echo", {"a": 1}), ("demo.fail", {}),
                               ("test.disk_full", {"size": 0})]
    ]

    assert schema.status == 200
    assert {"id", "state", "progress", "exc_info", "message_ids", "time_updated"} <= set(
        schema.body["properties"]
    )
    assert "secret_paths" not in schema.body["properties"]
    for job in finished:
        jsonschema.validate(job, schema.body)
        assert set(job) == set(schema.body["properties"])
