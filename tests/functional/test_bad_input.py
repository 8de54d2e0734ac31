"""Bad input gets a clear 4xx in the error envelope, and creates nothing."""

from __future__ import annotations

import json
from urllib.parse import quote

import boto3
import pytest

from chalicelib.faces.native.requests import MAX_BODY_BYTES
from chalicelib.wiring import services
from local.provision import Provisioned
from tests.functional.test_uploads import multipart, stored
from tests.helpers import CallRecorder, JobsClient, job_records


def assert_error(answer, status: int, code: str) -> dict:  # type: ignore[no-untyped-def]
    assert answer.status == status, answer.body
    assert set(answer.body) == {"error"}
    error = answer.body["error"]
    assert error["code"] == code
    assert error["message"]
    return error


def assert_nothing_created(aws: Provisioned) -> None:
    # Job records only: a refused job may have used a number of the process's
    # block, whose counter item shares the table (chalicelib.numbering).
    records = job_records(boto3.client("dynamodb"), aws.table_name)
    executions = boto3.client("stepfunctions").list_executions(
        stateMachineArn=aws.state_machine_arn
    )
    assert records == 0
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

    assert error["details"][0]["field"] == "<unknown field>"  # its name is not echoed
    assert_nothing_created(aws)


def test_an_unknown_method_lists_the_known_ones(jobs: JobsClient, aws: Provisioned) -> None:
    error = assert_error(jobs.submit("disk.format", {}), 400, "unknown_method")

    assert error["message"].startswith("unknown method; ")  # the name sent is not echoed
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

    assert error["message"] == "no such job"  # the id sent is not echoed


def test_curl_default_content_type_is_read_as_json(jobs: JobsClient) -> None:
    answer = jobs.request(
        "POST", "/jobs", raw='{"method": "demo.echo", "params": {}}',
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert answer.status == 202


# ---------------------------------------------------------------- issue 14, items 5 to 9

MAX_JSON_DEPTH = 64  # levels of JSON nesting a client may send (README)
MAX_EPOCH = 253402300799  # 9999-12-31T23:59:59Z, the last time a record can hold


def nested(depth: int, leaf: object = 0, kind: str = "list") -> object:
    """A value `depth` containers deep (built without recursion)."""
    value = leaf
    for _ in range(depth):
        value = [value] if kind == "list" else {"k": value}
    return value


def upload(jobs: JobsClient, data: str):  # type: ignore[no-untyped-def]
    """POST /_upload with `data` as its data part and a small file."""
    body, content_type = multipart([("data", (None, data.encode())),
                                    ("file", ("a.bin", b"abc", "application/octet-stream"))])
    return jobs.request("POST", "/_upload", raw=body,  # type: ignore[arg-type]
                        headers={"Content-Type": content_type})


def deep_text(depth: int) -> str:
    """JSON `depth` lists deep, written out directly (json.dumps would recurse)."""
    return "[" * depth + "0" + "]" * depth


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH - 1, 300, 1000, 40_000])
@pytest.mark.parametrize("kind", ["list", "object"])
def test_json_nested_past_the_limit_is_refused_before_anything_runs(
    jobs: JobsClient, aws: Provisioned, depth: int, kind: str
) -> None:
    # body {1} > params {2} > deep {3 ..}: depth - 1 + 2 is one past the limit.
    inner = "[" * depth + "0" + "]" * depth if kind == "list" \
        else '{"k":' * depth + "0" + "}" * depth
    raw = '{"method": "demo.echo", "params": {"deep": ' + inner + "}}"

    error = assert_error(jobs.request("POST", "/jobs", raw=raw), 400, "bad_request")

    assert "nested" in error["message"] and str(MAX_JSON_DEPTH) in error["message"]
    assert_nothing_created(aws)


def test_json_nested_to_the_limit_is_accepted_and_kept(jobs: JobsClient) -> None:
    # body {1} > params {2} > deep {3 .. MAX}
    params = {"deep": nested(MAX_JSON_DEPTH - 2)}

    answer = jobs.submit("demo.echo", params)
    job = jobs.wait_for(answer.body["id"])

    assert answer.status == 202, answer.body
    assert job["state"] == "SUCCESS", job
    assert job["arguments"] == params and job["result"] == params


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH - 1, 1000])
def test_json_nested_past_the_limit_in_an_upload_is_refused(jobs: JobsClient,
                                                             aws: Provisioned,
                                                             depth: int) -> None:
    data = '{"method": "demo.checksum", "params": {"deep": ' + deep_text(depth) + "}}"

    error = assert_error(upload(jobs, data), 400, "bad_request")

    assert "data part" in error["message"] and "nested" in error["message"]
    assert stored(aws) == (0, 0)


@pytest.mark.parametrize("name, depth", [
    ("filters", MAX_JSON_DEPTH + 1), ("filters", 2000), ("order_by", MAX_JSON_DEPTH + 1),
    ("order_by", 200), ("select", MAX_JSON_DEPTH + 1), ("select", 500),
])  # each within its parameter's length cap
def test_json_nested_past_the_limit_in_a_query_parameter_is_refused(
    jobs: JobsClient, name: str, depth: int
) -> None:
    error = assert_error(jobs.request("GET", f"/jobs?{name}={quote(deep_text(depth))}"),
                         400, "bad_request")

    assert name in error["message"] and "nested" in error["message"]


def test_a_deep_body_sent_to_cancel_is_not_a_500(jobs: JobsClient) -> None:
    answer = jobs.request("POST", "/jobs/00000000-0000-4000-8000-000000000000/cancel",
                          raw=deep_text(100_000))

    assert "nested" in assert_error(answer, 400, "bad_request")["message"]


@pytest.mark.parametrize("route", ["cancel", "download_link"])
@pytest.mark.parametrize("raw", ["\x00", "[]", '{"reason": "no longer needed"}', "null"])
def test_a_route_that_takes_no_body_refuses_one_and_changes_nothing(
        jobs: JobsClient, route: str, raw: str) -> None:
    job = jobs.submit("demo.sleep", {"seconds": 30, "steps": 30}).body

    answer = jobs.request("POST", f"/jobs/{job['id']}/{route}", raw=raw)

    assert "body" in assert_error(answer, 400, "bad_request")["message"]
    assert jobs.get(job["id"]).body["state"] in ("WAITING", "RUNNING")
    jobs.request("POST", f"/jobs/{job['id']}/cancel", raw="")


@pytest.mark.parametrize("raw", ["", "  ", "{}", " { } "])
def test_cancel_takes_no_body_or_an_empty_object(jobs: JobsClient, raw: str) -> None:
    job = jobs.submit("demo.sleep", {"seconds": 30, "steps": 30}).body

    answer = jobs.request("POST", f"/jobs/{job['id']}/cancel", raw=raw)

    assert answer.status == 200 and answer.body["id"] == job["id"], answer.body


def test_non_ascii_params_under_the_body_cap_are_stored(jobs: JobsClient) -> None:
    params = {"text": "é" * 70_000}  # 136 KB as UTF-8, 410 KB as \u00e9 escapes
    raw = json.dumps({"method": "demo.echo", "params": params}, ensure_ascii=False)

    answer = jobs.request("POST", "/jobs", raw=raw)
    job = jobs.wait_for(answer.body["id"])

    assert answer.status == 202, answer.body
    assert job["state"] == "SUCCESS", job
    assert job["arguments"] == params and job["result"] == params


def test_non_ascii_params_in_an_upload_are_stored(jobs: JobsClient) -> None:
    data = json.dumps({"method": "demo.checksum", "params": {}, "description": "é" * 1000},
                      ensure_ascii=False)

    answer = upload(jobs, data)
    job = jobs.wait_for(answer.body["id"])

    assert answer.status == 202, answer.body
    assert job["state"] == "SUCCESS" and job["description"] == "é" * 1000, job


def test_a_record_too_big_to_store_is_413_naming_it(jobs: JobsClient, aws: Provisioned) -> None:
    # Under the body cap, but each 1e15 is stored as 1000000000000000.0:
    # about 1 MB, past DynamoDB's 400 KB item limit.
    raw = '{"method": "demo.echo", "params": {"n": [' + ",".join(["1e15"] * 50_000) + "]}}"
    assert len(raw) < MAX_BODY_BYTES

    error = assert_error(jobs.request("POST", "/jobs", raw=raw), 413, "payload_too_large")

    assert "params" in error["message"] and "bytes" in error["message"]
    assert_nothing_created(aws)


def test_a_record_too_big_to_store_through_an_upload_is_413_before_any_write(
    jobs: JobsClient, aws: Provisioned
) -> None:
    data = ('{"method": "test.read_with_params", "params": {"n": ['
            + ",".join(["1e15"] * 40_000) + "]}}")
    clients = services().clients
    calls = CallRecorder(clients.s3, clients.dynamodb)

    error = assert_error(upload(jobs, data), 413, "payload_too_large")

    assert "params" in error["message"] and "bytes" in error["message"]
    assert not {"PutObject", "PutItem", "TransactWriteItems", "DeleteObject"} & set(calls.names())
    assert stored(aws) == (0, 0)


def test_an_upload_data_part_over_the_body_cap_is_413(jobs: JobsClient,
                                                      aws: Provisioned) -> None:
    data = json.dumps({"method": "test.read_with_params", "params": {"text": "x" * MAX_BODY_BYTES}})

    error = assert_error(upload(jobs, data), 413, "payload_too_large")

    assert "data part" in error["message"] and str(MAX_BODY_BYTES) in error["message"]
    assert stored(aws) == (0, 0)


def test_params_with_a_lone_surrogate_escape_are_still_stored(jobs: JobsClient) -> None:
    """JSON lets a string hold "\\ud800", which has no UTF-8 form: it stays escaped."""
    answer = jobs.request("POST", "/jobs", raw='{"method": "demo.echo", "params": '
                                              '{"x": "\\ud800", "y": "\u00e9"}}')
    job = jobs.wait_for(answer.body["id"])

    assert answer.status == 202, answer.body
    assert job["state"] == "SUCCESS" and job["arguments"] == {"x": "\ud800", "y": "é"}, job


def test_a_record_stored_with_ascii_escapes_still_reads(jobs: JobsClient,
                                                       aws: Provisioned) -> None:
    """Records written before text was stored as UTF-8 hold \\u escapes."""
    job_id = jobs.submit("demo.group", {}, description="é").body["id"]
    jobs.wait_for(job_id)
    boto3.client("dynamodb").update_item(
        TableName=aws.table_name, Key={"id": {"S": job_id}},
        UpdateExpression="SET arguments = :a",
        ExpressionAttributeValues={":a": {"S": '{"text":"\\u00e9\\u20ac"}'}})

    assert jobs.get(job_id).body["arguments"] == {"text": "é€"}


@pytest.mark.parametrize("value", ["1e20", "inf", "-inf", "1e400", "253402300800", "nan",
                                   "NaN", "-1", "1e308", "infinity"])
def test_expired_before_outside_the_time_range_is_400_naming_it(jobs: JobsClient,
                                                               value: str) -> None:
    error = assert_error(jobs.request("DELETE", f"/jobs?expired_before={value}"),
                         400, "bad_request")

    assert "expired_before" in error["message"]
    assert f"{MAX_EPOCH}" in error["message"] and "0" in error["message"]


@pytest.mark.parametrize("value", ["0", "253402300799", "1700000000.5"])
def test_expired_before_at_the_ends_of_its_range_is_accepted(jobs: JobsClient,
                                                            value: str) -> None:
    answer = jobs.request("DELETE", f"/jobs?expired_before={value}")

    assert answer.status == 200, answer.body


@pytest.mark.parametrize("name", ["created_after", "created_before"])
@pytest.mark.parametrize("value", ["1e400", "inf", "nan", "99999-01-01T00:00:00.000Z",
                                   "253402300800"])
def test_created_after_and_before_take_any_text_without_a_500(jobs: JobsClient, name: str,
                                                              value: str) -> None:
    answer = jobs.request("GET", f"/jobs?{name}={quote(value)}")

    assert answer.status in (200, 400), answer.body


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e400", "-1e400"])
def test_non_finite_numbers_in_a_body_are_refused(jobs: JobsClient, aws: Provisioned,
                                                  number: str) -> None:
    raw = '{"method": "demo.echo", "params": {"x": ' + number + "}}"

    error = assert_error(jobs.request("POST", "/jobs", raw=raw), 400, "bad_request")

    assert "not valid JSON" in error["message"] and "finite" in error["message"]
    assert_nothing_created(aws)


@pytest.mark.parametrize("number", ["NaN", "Infinity", "1e400"])
def test_non_finite_numbers_in_an_upload_are_refused(jobs: JobsClient, aws: Provisioned,
                                                     number: str) -> None:
    data = '{"method": "demo.checksum", "params": {"x": ' + number + "}}"

    error = assert_error(upload(jobs, data), 400, "bad_request")

    assert "data part" in error["message"] and "finite" in error["message"]
    assert stored(aws) == (0, 0)


@pytest.mark.parametrize("number", ["NaN", "Infinity", "1e400"])
def test_non_finite_numbers_in_filters_are_refused(jobs: JobsClient, number: str) -> None:
    filters = '[["progress.percent", ">", ' + number + "]]"

    error = assert_error(jobs.request("GET", f"/jobs?filters={quote(filters)}"),
                         400, "bad_request")

    assert "filters" in error["message"] and "finite" in error["message"]


def test_finite_numbers_are_still_accepted(jobs: JobsClient) -> None:
    raw = '{"method": "demo.echo", "params": {"x": 1.5e300, "y": -2E-300, "z": 10}}'

    answer = jobs.request("POST", "/jobs", raw=raw)

    assert answer.status == 202, answer.body
    assert answer.body["arguments"] == {"x": 1.5e300, "y": -2e-300, "z": 10}


@pytest.mark.parametrize("path, content_type, expected", [
    ("/jobs", "application/xml", "application/json"),
    ("/jobs", "image/png", "application/json"),
    ("/jobs/00000000-0000-4000-8000-000000000000/cancel", "application/xml",
     "application/json"),
    ("/_upload", "application/json", "multipart/form-data"),
    ("/_upload", "text/plain", "multipart/form-data"),
])
def test_an_unsupported_content_type_is_415_in_the_envelope(
    jobs: JobsClient, aws: Provisioned, path: str, content_type: str, expected: str
) -> None:
    answer = jobs.request("POST", path, raw='{"method": "demo.echo", "params": {}}',
                          headers={"Content-Type": content_type})

    error = assert_error(answer, 415, "unsupported_media_type")
    assert expected in error["message"]
    assert answer.headers["content-type"].startswith("application/json")
    assert_nothing_created(aws)
