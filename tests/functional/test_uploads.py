"""Uploads (issue 6): a small file with its request (POST /_upload, TrueNAS
style), or any size straight to S3 through a presigned PUT that works once;
the job checks size and checksum before its handler reads the file. Bad
input is refused before anything is stored."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import boto3
import requests
from botocore.exceptions import ClientError

from chalicelib.blobs import upload_key
from chalicelib.wiring import services
from local.provision import Provisioned
from tests.helpers import Answer, JobsClient, job_records, wait_until


def multipart(parts: list[tuple[str, Any]]) -> tuple[bytes, str]:
    """A multipart/form-data body with the parts in this order, as curl -F makes it."""
    prepared = requests.Request("POST", "http://x/", files=parts).prepare()
    return prepared.body, prepared.headers["Content-Type"]  # type: ignore[return-value]


def upload(jobs: JobsClient, parts: list[tuple[str, Any]]) -> Answer:
    body, content_type = multipart(parts)
    return jobs.request("POST", "/_upload", raw=body,  # type: ignore[arg-type]
                        headers={"Content-Type": content_type})


def data(method: str = "demo.checksum", params: dict[str, Any] | None = None) -> tuple[str, Any]:
    return ("data", (None, json.dumps({"method": method, "params": params or {}})))


def file(content: bytes, name: str = "config.db") -> tuple[str, Any]:
    return ("file", (name, content, "application/octet-stream"))


def stored(aws: Provisioned) -> tuple[int, int]:
    """How many objects and job records exist: bad input must add neither."""
    s3, dynamodb = services().clients.s3, services().clients.dynamodb
    objects = s3.list_objects_v2(Bucket=aws.bucket_name).get("KeyCount", 0)
    records = job_records(dynamodb, aws.table_name)
    return objects, records


def test_a_small_upload_starts_a_job_that_reads_the_file(jobs: JobsClient,
                                                         aws: Provisioned) -> None:
    content = bytes(range(256)) * 100

    answer = upload(jobs, [data(), file(content)])
    job = jobs.wait_for(answer.body["id"])

    assert answer.status == 202 and set(answer.body) == {"job_id", "id"}
    assert answer.body["job_id"] == job["number"]  # TrueNAS clients poll it as the job's id
    assert job["state"] == "SUCCESS", job
    assert job["result"] == {"filename": "config.db", "size": len(content),
                             "sha256": hashlib.sha256(content).hexdigest()}
    assert job["upload"]["state"] == "RECEIVED" and job["upload"]["verified"] is True


def test_a_large_upload_goes_straight_to_s3_once_and_is_checked(jobs: JobsClient,
                                                                aws: Provisioned) -> None:
    content = b"0123456789abcdef" * 65536  # 1 MiB
    digest = hashlib.sha256(content).hexdigest()

    answer = jobs.submit("demo.checksum", upload={"filename": "big.bin", "size": len(content),
                                                  "sha256": digest})
    waiting = jobs.get(answer.body["id"]).body
    put = requests.put(answer.body["upload_url"], data=content,
                       headers=answer.body["upload_headers"], timeout=30)
    job = jobs.wait_for(answer.body["id"])
    second = requests.put(answer.body["upload_url"], data=content,
                          headers=answer.body["upload_headers"], timeout=30)

    assert answer.status == 202 and answer.body["upload_method"] == "PUT"
    assert answer.body["upload_headers"]["If-None-Match"] == "*"
    assert "x-amz-checksum-sha256" in answer.body["upload_headers"]
    assert waiting["state"] == "WAITING" and waiting["upload"]["state"] == "PENDING"
    assert put.status_code == 200
    assert job["state"] == "SUCCESS", job
    assert job["result"] == {"filename": "big.bin", "size": len(content), "sha256": digest}
    assert second.status_code == 412  # S3 itself refuses a second PUT


def test_an_upload_of_the_wrong_size_or_checksum_fails_the_job(jobs: JobsClient,
                                                               aws: Provisioned) -> None:
    content = b"exactly this"
    wrong_size = jobs.submit("demo.checksum", upload={"filename": "a", "size": 99})
    wrong_sum = jobs.submit("demo.checksum", upload={
        "filename": "b", "size": len(content), "sha256": "0" * 64})

    for answer in (wrong_size, wrong_sum):
        requests.put(answer.body["upload_url"], data=content,
                     headers=answer.body["upload_headers"], timeout=30)
    size_job = jobs.wait_for(wrong_size.body["id"])
    sum_job = jobs.wait_for(wrong_sum.body["id"])

    assert size_job["state"] == "FAILED"
    assert size_job["error"] == f"the uploaded file has {len(content)} bytes; 99 were declared"
    assert sum_job["state"] == "FAILED"
    assert sum_job["error"].startswith("the uploaded file's sha256 is "
                                       f"{hashlib.sha256(content).hexdigest()}")


def test_an_upload_that_never_comes_aborts_the_job_when_its_url_expires(
    jobs: JobsClient, aws: Provisioned
) -> None:
    answer = jobs.submit("demo.checksum", upload={"filename": "never", "size": 5,
                                                  "expires_in": 1})

    job = jobs.wait_for(answer.body["id"], timeout=30)

    assert job["state"] == "ABORTED"
    assert job["error"] == "the upload did not arrive before its URL expired"
    assert job["time_started"] is None  # the handler never ran


def test_a_file_that_lands_after_its_job_was_cancelled_is_deleted(
    jobs: JobsClient, aws: Provisioned
) -> None:
    answer = jobs.submit("demo.checksum", upload={"filename": "late", "size": 4})
    job_id = answer.body["id"]

    cancelled = jobs.request("POST", f"/jobs/{job_id}/cancel")
    requests.put(answer.body["upload_url"], data=b"late", headers=answer.body["upload_headers"],
                 timeout=30)
    s3 = services().clients.s3
    gone = wait_until(lambda: s3.list_objects_v2(Bucket=aws.bucket_name,
                                                 Prefix=upload_key(job_id)).get("KeyCount", 0),
                      lambda count: count == 0, timeout=10)

    assert cancelled.status == 200 and cancelled.body["state"] == "ABORTED"
    assert gone == 0
    assert jobs.wait_for(job_id)["state"] == "ABORTED"


def test_bad_uploads_get_a_clear_4xx_and_leave_nothing_behind(jobs: JobsClient,
                                                              aws: Provisioned) -> None:
    limit = services().settings.upload_max_bytes
    before = stored(aws)

    answers = {
        "data after file": upload(jobs, [file(b"x"), data()]),
        "no data": upload(jobs, [file(b"x")]),
        "no file": upload(jobs, [data()]),
        "unknown method": upload(jobs, [data("no.such"), file(b"x")]),
        "method reads no file": upload(jobs, [data("demo.echo"), file(b"x")]),
        "bad params": upload(jobs, [data(params={"nope": 1}), file(b"x")]),
        "data not JSON": upload(jobs, [("data", (None, "{")), file(b"x")]),
        "extra part": upload(jobs, [data(), file(b"x"), ("other", (None, "1"))]),
        "too big": upload(jobs, [data(), file(b"x" * (limit + 1))]),
        "not multipart": jobs.request("POST", "/_upload", raw="{}", headers={
            "Content-Type": "multipart/form-data"}),
    }

    statuses = {name: answer.status for name, answer in answers.items()}
    assert statuses == {**{name: 400 for name in answers}, "too big": 413}
    messages = {name: answer.body["error"]["message"] for name, answer in answers.items()}
    assert "data part came after the file part" in messages["data after file"]
    assert "data part is missing" in messages["no data"]
    assert "file part is missing" in messages["no file"]
    assert "unknown method; known methods: " in messages["unknown method"]
    assert "reads no uploaded file" in messages["method reads no file"]
    assert "params for demo.checksum: <unknown field>" in messages["bad params"]
    assert "not valid JSON" in messages["data not JSON"]
    assert "unexpected or repeated part" in messages["extra part"]
    assert f"larger than {limit} bytes" in messages["too big"]
    assert stored(aws) == before


def test_a_method_that_reads_a_file_needs_one(jobs: JobsClient, aws: Provisioned) -> None:
    answer = jobs.submit("demo.checksum", {})
    too_big = jobs.submit("demo.checksum", upload={"filename": "x", "size": 6 * 1024**3})

    assert answer.status == 400 and "POST /_upload" in answer.body["error"]["message"]
    assert too_big.status == 400 and "upload.size" in too_big.body["error"]["message"]


def test_a_cancel_that_read_the_job_before_it_parked_for_its_upload_ends_the_wait(
    jobs: JobsClient, aws: Provisioned
) -> None:
    """A WAITING job parks on a token while its upload is awaited: a cancel
    whose read came before the park must still wake it, not leave the
    execution waiting out the upload's window."""
    job_id = jobs.submit("demo.checksum", upload={"filename": "never", "size": 5}).body["id"]
    reader = boto3.client("dynamodb")
    held: list[bool] = []

    def park_lands_first(params: dict[str, Any], **_: Any) -> None:
        values = json.dumps(params.get("ExpressionAttributeValues", {}))
        if held or params["Key"]["id"]["S"] != job_id or '"ABORTED"' not in values:
            return
        held.append(True)
        wait_until(lambda: reader.get_item(TableName=aws.table_name,
                                           Key={"id": {"S": job_id}})["Item"],
                   lambda item: "wait_token" in item)

    events = services().clients.dynamodb.meta.events
    events.register("provide-client-params.dynamodb.UpdateItem", park_lands_first)
    try:
        cancelled = jobs.request("POST", f"/jobs/{job_id}/cancel")
    finally:
        events.unregister("provide-client-params.dynamodb.UpdateItem", park_lands_first)
    sfn = services().clients.stepfunctions
    status = wait_until(lambda: sfn.describe_execution(
        executionArn=services().workflow.execution_arn(job_id))["status"],
        lambda status: status != "RUNNING", timeout=20)

    assert held and cancelled.status == 200 and cancelled.body["state"] == "ABORTED"
    assert status == "SUCCEEDED"  # woken at once, not at the upload's window


# Several files in one upload (issue 18): TrueNAS's MAX_UPLOADED_FILES.


def test_an_upload_of_five_files_stores_each_and_the_handler_reads_them_in_order(
    jobs: JobsClient, aws: Provisioned
) -> None:
    contents = [bytes([n]) * (100 * n) for n in range(1, 6)]

    answer = upload(jobs, [data()] + [file(c, f"f{n}.bin") for n, c in enumerate(contents, 1)])
    job = jobs.wait_for(answer.body["id"])
    keys = [item["Key"] for item in services().clients.s3.list_objects_v2(
        Bucket=aws.bucket_name, Prefix=f"jobs/{job['id']}/upload")["Contents"]]

    sums = [{"filename": f"f{n}.bin", "size": len(c), "sha256": hashlib.sha256(c).hexdigest()}
            for n, c in enumerate(contents, 1)]
    assert answer.status == 202 and job["state"] == "SUCCESS", job
    assert job["result"] == {**sums[0], "files": sums}  # the first file's shape, plus all
    assert sorted(keys) == [upload_key(job["id"], n) for n in range(1, 6)]
    assert job["upload"]["count"] == 5
    assert [(f["filename"], f["size"]) for f in job["upload"]["files"]] == \
        [(s["filename"], s["size"]) for s in sums]
    assert (job["upload"]["filename"], job["upload"]["size"]) == ("f1.bin", 100)


def test_one_file_keeps_the_result_it_always_had(jobs: JobsClient, aws: Provisioned) -> None:
    answer = upload(jobs, [data(), file(b"one")])
    job = jobs.wait_for(answer.body["id"])

    assert set(job["result"]) == {"filename", "size", "sha256"}
    assert job["upload"]["count"] == 1 and len(job["upload"]["files"]) == 1


def test_a_sixth_file_or_a_stranger_after_data_is_refused_before_anything_is_stored(
    jobs: JobsClient, aws: Provisioned
) -> None:
    limit = services().settings.upload_max_bytes
    before = stored(aws)
    half = limit // 2 + 1

    six = upload(jobs, [data()] + [file(b"x", f"{n}.bin") for n in range(6)])
    stranger = upload(jobs, [data(), file(b"x"), ("notes", (None, "hi"))])
    too_big_together = upload(jobs, [data(), file(b"a" * half), file(b"b" * half)])
    bad_second_name = upload(jobs, [data(), file(b"x"), file(b"y", "../../etc/passwd")])

    assert six.status == 400
    assert "too many files: at most 5 file parts" in six.body["error"]["message"]
    assert stranger.status == 400 and "'notes'" in stranger.body["error"]["message"]
    assert too_big_together.status == 413
    assert f"larger than {limit} bytes (all file parts together)" in \
        too_big_together.body["error"]["message"]
    assert bad_second_name.status == 400
    assert "file part 2" in bad_second_name.body["error"]["message"]
    assert stored(aws) == before


def test_a_file_that_fails_to_store_leaves_no_job_and_no_file(
    jobs: JobsClient, aws: Provisioned
) -> None:
    s3 = services().clients.s3
    before = stored(aws)
    puts: list[str] = []

    def third_put_fails(params: dict[str, Any], **_: Any) -> None:
        puts.append(params["Key"])
        if len(puts) == 3:
            raise ClientError({"Error": {"Code": "SlowDown", "Message": "slow down"}},
                              "PutObject")

    s3.meta.events.register("provide-client-params.s3.PutObject", third_put_fails)
    try:
        answer = upload(jobs, [data()] + [file(bytes([n]) * 10, f"{n}") for n in range(4)])
    finally:
        s3.meta.events.unregister("provide-client-params.s3.PutObject", third_put_fails)

    assert answer.status == 503  # a retry may succeed
    assert len(puts) == 3
    assert stored(aws) == before  # the two stored were deleted; no record was written


def test_deleting_a_job_removes_every_file_it_was_sent(jobs: JobsClient,
                                                       aws: Provisioned) -> None:
    answer = upload(jobs, [data(), file(b"1"), file(b"2"), file(b"3")])
    job_id = answer.body["id"]
    jobs.wait_for(job_id)

    deleted = jobs.request("DELETE", f"/jobs/{job_id}")
    left = services().clients.s3.list_objects_v2(Bucket=aws.bucket_name,
                                                 Prefix=f"jobs/{job_id}/")

    assert deleted.status == 200
    assert left.get("KeyCount", 0) == 0


def test_a_replay_with_other_files_is_a_conflict(jobs: JobsClient, aws: Provisioned) -> None:
    def send(second: bytes) -> Answer:
        body, content_type = multipart([data(), file(b"same"), file(second)])
        return jobs.request("POST", "/_upload", raw=body,  # type: ignore[arg-type]
                            headers={"Content-Type": content_type, "Idempotency-Key": "u-1"})

    first, same, other = send(b"two"), send(b"two"), send(b"else")

    assert first.status == 202 and same.status == 200
    assert same.body["job_id"] == first.body["job_id"]
    assert other.status == 409
