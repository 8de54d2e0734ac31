"""Once-only downloads (issue 6): a job's file is fetched exactly once through
its one-time link, must be claimed within its window, and nothing about a
job leaks to a wrong token. The real state machine runs under moto; the
presigned URLs are fetched with `requests` (moto answers them in-process)."""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from chalicelib.blobs import output_key
from chalicelib.methods.demo import export_bytes
from chalicelib.wiring import services
from local.provision import Provisioned
from tests.helpers import JobsClient, wait_until


def export(jobs: JobsClient, size: int = 3000, seed: str = "s", **extra: Any) -> dict[str, Any]:
    answer = jobs.submit("demo.export", {"size": size, "seed": seed},
                         download={"filename": "export.bin"}, **extra)
    assert answer.status == 202, answer.body
    return dict(answer.body)


def test_a_file_is_downloaded_once_through_a_short_lived_presigned_url(
    jobs: JobsClient, aws: Provisioned
) -> None:
    job = export(jobs, size=3000)
    link = job["download_url"]

    first = jobs.request("GET", link)  # waits for the file (long poll)
    fetched = requests.get(first.headers["Location"], timeout=10)
    again = jobs.request("GET", link)

    assert link.startswith(f"/_download/{job['id']}?auth_token=")
    assert first.status == 302 and first.headers["Cache-Control"] == "no-store"
    expires = parse_qs(urlsplit(first.headers["Location"]).query)["X-Amz-Expires"]
    assert expires == [str(services().settings.download_url_seconds)]
    assert fetched.status_code == 200
    assert fetched.content == b"".join(export_bytes(3000, "s"))
    assert 'filename="export.bin"' in fetched.headers["Content-Disposition"]
    assert again.status == 410 and "used already" in again.body["error"]["message"]
    done = jobs.get(job["id"]).body
    assert done["state"] == "SUCCESS"
    assert done["download"] == {
        "filename": "export.bin", "state": "CLAIMED", "size": 3000,
        "sha256": hashlib.sha256(fetched.content).hexdigest(),
        "window_seconds": services().settings.download_window_seconds}
    assert done["result"] == {"bytes": 3000, "sha256": done["download"]["sha256"]}


def test_a_file_of_several_parts_streams_to_s3_and_comes_back_whole(
    jobs: JobsClient, aws: Provisioned
) -> None:
    size = 17 * 1024 * 1024 + 123  # three multipart parts of 8 MiB, the last short
    job = export(jobs, size=size, seed="big")

    redirect = jobs.request("GET", job["download_url"])
    fetched = requests.get(redirect.headers["Location"], timeout=60)

    expected = hashlib.sha256(b"".join(export_bytes(size, "big"))).hexdigest()
    assert hashlib.sha256(fetched.content).hexdigest() == expected
    assert len(fetched.content) == size


def test_before_the_file_is_ready_the_link_answers_202_with_retry_after(
    jobs: JobsClient, aws: Provisioned
) -> None:
    answer = jobs.submit("test.slow_export", {"gate": "not-yet"},
                         download={"filename": "slow.txt"})
    link = answer.body["download_url"]

    early = jobs.request("GET", f"{link}&wait=0")

    assert early.status == 202
    assert int(early.headers["Retry-After"]) >= 1
    assert early.body["job_id"] == answer.body["id"]
    assert early.body["state"] in ("WAITING", "RUNNING")


def test_a_wrong_or_missing_token_answers_404_and_says_nothing_about_the_job(
    jobs: JobsClient, aws: Provisioned
) -> None:
    job = export(jobs)
    wrong = "A" * 43
    unknown_job = "00000000-0000-4000-8000-000000000000"

    answers = [
        jobs.request("GET", f"/_download/{job['id']}?auth_token={wrong}&wait=0"),
        jobs.request("GET", f"/_download/{job['id']}?wait=0"),
        jobs.request("GET", f"/_download/{job['id']}?auth_token=short&wait=0"),
        jobs.request("GET", f"/_download/{unknown_job}?auth_token={wrong}&wait=0"),
    ]
    right = jobs.request("GET", job["download_url"])

    assert [a.status for a in answers] == [404, 404, 404, 404]
    assert len({str(a.body) for a in answers}) == 1  # the same answer for every guess
    assert job["id"] not in str(answers[0].body)
    assert right.status == 302  # the wrong guesses used nothing up


def test_a_file_not_claimed_within_its_window_is_deleted_and_the_job_aborted(
    jobs: JobsClient, aws: Provisioned
) -> None:
    answer = jobs.submit("test.export_short_window", {}, download={"filename": "late.txt"})
    job_id = answer.body["id"]
    s3 = services().clients.s3

    job = jobs.wait_for(job_id, timeout=30)
    late = jobs.request("GET", answer.body["download_url"])

    assert job["state"] == "ABORTED"
    assert "did not begin within 1 s" in job["error"]
    assert job["download"]["state"] == "EXPIRED"
    assert job["result"] is None
    # The record first (a claim may still win), then the file.
    wait_until(lambda: s3.list_objects_v2(Bucket=aws.bucket_name,
                                          Prefix=output_key(job_id)).get("KeyCount", 0),
               lambda count: count == 0, timeout=10)
    assert late.status == 410 and "did not begin within 1 s" in late.body["error"]["message"]


def test_a_method_that_writes_no_file_fails_and_its_link_is_gone(
    jobs: JobsClient, aws: Provisioned
) -> None:
    answer = jobs.submit("test.forgets_its_file", {}, download={"filename": "none.txt"})

    job = jobs.wait_for(answer.body["id"])
    link = jobs.request("GET", answer.body["download_url"])

    assert job["state"] == "FAILED"
    assert "returned without writing its output file" in job["error"]
    assert link.status == 410 and link.body["error"]["details"]["state"] == "FAILED"


def test_a_failed_handler_leaves_no_partial_file(jobs: JobsClient, aws: Provisioned) -> None:
    answer = jobs.submit("test.export_then_fail", {}, download={"filename": "x.bin"})

    job = jobs.wait_for(answer.body["id"])

    s3 = services().clients.s3
    assert job["state"] == "FAILED"
    assert s3.list_objects_v2(Bucket=aws.bucket_name,
                              Prefix=f"jobs/{job['id']}/").get("KeyCount", 0) <= 1  # the log
    assert s3.list_multipart_uploads(Bucket=aws.bucket_name).get("Uploads", []) == []
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=aws.bucket_name,
                                                Prefix=f"jobs/{job['id']}/").get("Contents", [])]
    assert output_key(job["id"]) not in keys


def test_the_method_decides_whether_a_download_is_needed(jobs: JobsClient,
                                                         aws: Provisioned) -> None:
    missing = jobs.submit("demo.export", {"size": 1})
    needless = jobs.submit("demo.echo", {}, download={"filename": "x"})
    bad_name = jobs.submit("demo.export", {}, download={"filename": "../etc/passwd"})

    assert missing.status == 400 and "download" in missing.body["error"]["message"]
    assert needless.status == 400 and "writes no file" in needless.body["error"]["message"]
    assert bad_name.status == 400 and "download.filename" in bad_name.body["error"]["message"]


def test_fifty_simultaneous_claims_yield_exactly_one_redirect(
    jobs: JobsClient, aws: Provisioned
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    job = export(jobs)
    link = job["download_url"]
    wait_until(lambda: jobs.get(job["id"]).body,
               lambda j: j["download"]["state"] == "READY", timeout=30)

    with ThreadPoolExecutor(max_workers=50) as pool:
        statuses = list(pool.map(lambda _: jobs.request("GET", link).status, range(50)))

    assert sorted(statuses) == [302] + [410] * 49
    assert jobs.wait_for(job["id"])["state"] == "SUCCESS"


def test_the_token_has_256_random_bits_and_only_its_hash_is_stored(
    jobs: JobsClient, aws: Provisioned
) -> None:
    job = export(jobs)
    token = job["download_url"].split("auth_token=")[1]
    item = services().clients.dynamodb.get_item(
        TableName=aws.table_name, Key={"id": {"S": job["id"]}})["Item"]

    assert len(token) >= 43  # 32 random bytes, URL-safe base64
    assert token not in json.dumps(item)
    assert item["download_token_hash"]["S"] == hashlib.sha256(token.encode()).hexdigest()
    assert token not in json.dumps(jobs.get(job["id"]).body)


def test_no_token_or_presigned_url_reaches_the_log(
    jobs: JobsClient, aws: Provisioned, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)  # what a deployment logs
    job = export(jobs)
    token = job["download_url"].split("auth_token=")[1]

    redirect = jobs.request("GET", job["download_url"])
    jobs.request("GET", job["download_url"])  # and the 410
    jobs.wait_for(job["id"])

    logged = "\n".join(record.getMessage() for record in caplog.records)
    signature = redirect.headers["Location"].split("X-Amz-Signature=")[1]
    assert token not in logged and signature not in logged


def test_a_replayed_submit_gets_a_new_link_and_the_old_one_stops_working(
    jobs: JobsClient, aws: Provisioned
) -> None:
    body = {"method": "demo.export", "params": {"size": 10},
            "download": {"filename": "x.bin"}}
    first = jobs.request("POST", "/jobs", body, headers={"Idempotency-Key": "export-1"})
    replay = jobs.request("POST", "/jobs", body, headers={"Idempotency-Key": "export-1"})

    old = jobs.request("GET", first.body["download_url"] + "&wait=0")
    new = jobs.request("GET", replay.body["download_url"])

    assert replay.status == 200 and replay.body["id"] == first.body["id"]
    assert replay.body["download_url"] != first.body["download_url"]
    assert old.status == 404
    assert new.status == 302


def test_cancelling_a_job_whose_file_waits_deletes_the_file_and_ends_the_wait(
    jobs: JobsClient, aws: Provisioned
) -> None:
    job = export(jobs)
    wait_until(lambda: jobs.get(job["id"]).body,
               lambda j: j["download"]["state"] == "READY", timeout=30)

    cancelled = jobs.request("POST", f"/jobs/{job['id']}/cancel")
    link = jobs.request("GET", job["download_url"])
    s3, sfn = services().clients.s3, services().clients.stepfunctions
    execution = wait_until(
        lambda: sfn.describe_execution(executionArn=services().workflow.execution_arn(
            job["id"]))["status"], lambda status: status != "RUNNING", timeout=30)

    assert cancelled.status == 200 and cancelled.body["state"] == "ABORTED"
    assert link.status == 410 and "ABORTED" in link.body["error"]["message"]
    assert s3.list_objects_v2(Bucket=aws.bucket_name,
                              Prefix=output_key(job["id"])).get("KeyCount", 0) == 0
    assert execution == "SUCCEEDED"  # the wait ended at once, not at its window
