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
from botocore.exceptions import ClientError
from chalice.test import Client, HTTPResponse

from chalicelib import wiring
from chalicelib.blobs import output_key
from chalicelib.methods.demo import export_bytes
from chalicelib.wiring import services
from local.provision import Provisioned
from tests.helpers import JobsClient, token_for, wait_until


def fetch(client: Client, link: str, accept: str | None = "*/*") -> HTTPResponse:
    """GET a download link as a client that takes binary (Accept: */*, as
    requests, aiohttp and curl send), raw: the body as bytes."""
    headers = {"Accept": accept} if accept else {}
    return client.http.request("GET", link, headers=headers)


def export(jobs: JobsClient, size: int = 3000, seed: str = "s", **extra: Any) -> dict[str, Any]:
    extra.setdefault("download", {"filename": "export.bin"})
    answer = jobs.submit("demo.export", {"size": size, "seed": seed}, **extra)
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
        "window_seconds": services().settings.download_window_seconds,
        "buffered": False, "available_until": None}
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


@pytest.mark.parametrize("accept", [None, "*/*"], ids=["redirect", "inline"])
def test_a_wrong_or_missing_token_answers_401_and_says_nothing_about_the_job(
    jobs: JobsClient, client: Client, aws: Provisioned, accept: str | None
) -> None:
    job = export(jobs)
    wrong = "A" * 43
    unknown_job = "00000000-0000-4000-8000-000000000000"
    headers = {"Accept": accept} if accept else {}

    answers = [
        jobs.request("GET", f"/_download/{job['id']}?auth_token={wrong}&wait=0", headers=headers),
        jobs.request("GET", f"/_download/{job['id']}?wait=0", headers=headers),
        jobs.request("GET", f"/_download/{job['id']}?auth_token=short&wait=0", headers=headers),
    ]
    unknown = jobs.request("GET", f"/_download/{unknown_job}?auth_token={wrong}&wait=0",
                           headers=headers)
    right = fetch(client, job["download_url"], accept)

    # As TrueNAS: 401 for a missing or wrong token, 404 for an unknown job.
    assert [a.status for a in answers] == [401, 401, 401]
    assert len({str(a.body) for a in answers}) == 1  # the same answer for every guess
    assert job["id"] not in str(answers[0].body)
    assert unknown.status == 404 and job["id"] not in str(unknown.body)
    assert right.status_code == (302 if accept is None else 200)  # nothing was used up


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
    assert old.status == 401
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


# Inline downloads (issue 18): clients that do not follow redirects (TrueNAS's).


def test_a_small_file_is_answered_inline_once_to_a_client_that_takes_binary(
    jobs: JobsClient, client: Client, aws: Provisioned
) -> None:
    job = export(jobs, size=3000, seed="inline")

    first = fetch(client, job["download_url"])  # waits for the file (long poll)
    again = fetch(client, job["download_url"])

    assert first.status_code == 200
    assert first.body == b"".join(export_bytes(3000, "inline"))
    assert first.headers["Content-Type"] == "application/octet-stream"
    assert first.headers["Content-Disposition"].startswith('attachment; filename="export.bin"')
    assert first.headers["Cache-Control"] == "no-store"
    assert again.status_code == 410
    assert "used already" in json.loads(again.body)["error"]["message"]
    done = jobs.wait_for(job["id"])
    assert done["state"] == "SUCCESS" and done["download"]["state"] == "CLAIMED"
    assert done["download"]["sha256"] == hashlib.sha256(first.body).hexdigest()


def test_the_inline_answer_is_base64_for_api_gateway_and_bytes_for_the_client(
    jobs: JobsClient, aws: Provisioned
) -> None:
    """What the Lambda returns to API Gateway: the body base64 with
    isBase64Encoded, which API Gateway decodes for a client whose Accept
    names a binary type (app.api.binary_types)."""
    import base64

    from chalice.local import LambdaContext, LambdaEventConverter, RouteMatcher

    import app as job_app

    job = export(jobs, size=4096, seed="b64")
    wait_until(lambda: jobs.get(job["id"]).body,
               lambda j: j["download"]["state"] == "READY", timeout=30)
    converter = LambdaEventConverter(RouteMatcher(list(job_app.app.routes)),
                                     job_app.app.api.binary_types)
    event = converter.create_lambda_event("GET", job["download_url"], {"Accept": "*/*"})
    context = LambdaContext("api_handler", 512, max_runtime_ms=30_000)

    answer = job_app.app(event, context)

    assert answer["statusCode"] == 200 and answer["isBase64Encoded"] is True
    assert base64.b64decode(answer["body"]) == b"".join(export_bytes(4096, "b64"))


def test_a_client_that_takes_no_binary_is_redirected_and_loses_nothing(
    jobs: JobsClient, client: Client, aws: Provisioned
) -> None:
    """Chalice refuses (400) a binary answer to a request whose Accept names
    no binary type: such a client gets the redirect, decided before the claim."""
    job = export(jobs, size=100)

    answer = fetch(client, job["download_url"], accept="application/json")

    assert answer.status_code == 302 and answer.headers["Location"]
    assert jobs.wait_for(job["id"])["download"]["state"] == "CLAIMED"


def test_a_file_over_the_inline_limit_is_redirected(
    jobs: JobsClient, client: Client, aws: Provisioned, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JOBS_DOWNLOAD_INLINE_BYTES", "2048")
    wiring.reset()
    small, big = export(jobs, size=2048, seed="a"), export(jobs, size=2049, seed="b")

    at_limit = fetch(client, small["download_url"])
    over = fetch(client, big["download_url"])
    fetched = requests.get(over.headers["Location"], timeout=10)

    assert at_limit.status_code == 200 and len(at_limit.body) == 2048
    assert over.status_code == 302 and over.headers["Cache-Control"] == "no-store"
    assert fetched.content == b"".join(export_bytes(2049, "b"))


def test_an_s3_failure_before_the_claim_leaves_the_download_claimable(
    jobs: JobsClient, client: Client, aws: Provisioned
) -> None:
    job = export(jobs, size=500, seed="retry")
    wait_until(lambda: jobs.get(job["id"]).body,
               lambda j: j["download"]["state"] == "READY", timeout=30)
    s3 = services().clients.s3

    def slow_down(**_: Any) -> Any:
        raise ClientError({"Error": {"Code": "SlowDown", "Message": "reduce your rate"}},
                          "GetObject")

    s3.meta.events.register_first("before-call.s3.GetObject", slow_down)
    try:
        failed = fetch(client, job["download_url"])
    finally:
        s3.meta.events.unregister("before-call.s3.GetObject", slow_down)
    between = jobs.get(job["id"]).body
    retried = fetch(client, job["download_url"])

    assert failed.status_code == 503 and "Retry-After" in failed.headers
    assert between["state"] == "RUNNING" and between["download"]["state"] == "READY"
    assert retried.status_code == 200
    assert retried.body == b"".join(export_bytes(500, "retry"))


def test_twenty_simultaneous_inline_fetches_give_the_bytes_exactly_once(
    jobs: JobsClient, client: Client, aws: Provisioned
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    job = export(jobs, size=1000, seed="race")
    wait_until(lambda: jobs.get(job["id"]).body,
               lambda j: j["download"]["state"] == "READY", timeout=30)

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(lambda _: fetch(client, job["download_url"]), range(20)))

    assert sorted(a.status_code for a in answers) == [200] + [410] * 19
    [winner] = [a for a in answers if a.status_code == 200]
    assert winner.body == b"".join(export_bytes(1000, "race"))
    assert jobs.wait_for(job["id"])["state"] == "SUCCESS"


def test_a_buffered_file_is_written_the_job_ends_and_the_file_is_fetched_once_after(
    jobs: JobsClient, client: Client, aws: Provisioned
) -> None:
    """TrueNAS's core.download with buffered true: the client waits for the
    job, then fetches its file (inline here, or through the redirect)."""
    small = export(jobs, size=3000, seed="buf", download={"filename": "b.bin",
                                                          "buffered": True})
    big = export(jobs, size=5000, seed="buf2", download={"filename": "c.bin",
                                                         "buffered": True})

    ended = jobs.wait_for(small["id"])  # ends with nobody fetching
    first = fetch(client, small["download_url"])
    again = fetch(client, small["download_url"])
    jobs.wait_for(big["id"])
    redirected = fetch(client, big["download_url"], accept="application/json")

    assert ended["state"] == "SUCCESS" and ended["download"]["state"] == "READY"
    assert ended["download"]["buffered"] is True and ended["download"]["window_seconds"] == 3600
    assert ended["result"] == {"bytes": 3000, "sha256": ended["download"]["sha256"]}
    assert first.status_code == 200 and first.body == b"".join(export_bytes(3000, "buf"))
    assert again.status_code == 410
    assert jobs.get(small["id"]).body["download"]["state"] == "CLAIMED"
    assert jobs.get(small["id"]).body["time_finished"] == ended["time_finished"]
    assert redirected.status_code == 302
    assert requests.get(redirected.headers["Location"], timeout=10).content == \
        b"".join(export_bytes(5000, "buf2"))


def test_a_buffered_file_not_fetched_within_its_hour_is_gone(
    jobs: JobsClient, client: Client, aws: Provisioned
) -> None:
    job = export(jobs, size=100, download={"filename": "late.bin", "buffered": True})
    jobs.wait_for(job["id"])
    services().clients.dynamodb.update_item(  # its hour passes
        TableName=aws.table_name, Key={"id": {"S": job["id"]}},
        UpdateExpression="SET #d.#u = :past",
        ExpressionAttributeNames={"#d": "download", "#u": "available_until"},
        ExpressionAttributeValues={":past": {"S": "2020-01-01T00:00:00.000Z"}})

    inline = fetch(client, job["download_url"])
    redirected = fetch(client, job["download_url"], accept="application/json")

    assert inline.status_code == redirected.status_code == 410
    assert jobs.get(job["id"]).body["download"]["state"] == "READY"  # nobody claimed it


def test_a_new_link_for_whoever_may_see_the_job_and_the_old_one_stops_working(
    jobs: JobsClient, aws: Provisioned
) -> None:
    job = export(jobs, size=10)
    stranger = jobs.as_caller(token_for("globex", "olga", ("TENANT_ADMIN",)))

    renewed = jobs.request("POST", f"/jobs/{job['id']}/download_link")
    refused = stranger.request("POST", f"/jobs/{job['id']}/download_link")
    old = jobs.request("GET", job["download_url"] + "&wait=0")
    new = jobs.request("GET", renewed.body["download_url"])
    after = jobs.request("POST", f"/jobs/{job['id']}/download_link")

    assert renewed.status == 201 and renewed.headers["Cache-Control"] == "no-store"
    assert renewed.body["download_url"].startswith(f"/_download/{job['id']}?auth_token=")
    assert refused.status == 404 and old.status == 401 and new.status == 302
    assert after.status == 409 and after.body["error"]["details"] == {
        "download_state": "CLAIMED"}


def test_a_job_without_a_file_or_unknown_has_no_new_link(jobs: JobsClient) -> None:
    echo = jobs.submit("demo.echo", {}).body["id"]

    none = jobs.request("POST", f"/jobs/{echo}/download_link")
    unknown = jobs.request("POST", "/jobs/no-such-job/download_link")

    assert none.status == 409 and none.body["error"]["details"] == {"download_state": None}
    assert unknown.status == 404
