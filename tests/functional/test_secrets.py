"""A params field typed SecretStr never appears in any answer, error or log."""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import quote, quote_plus

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
                                  "login": "ok",
                                  "request": '{"username": "alice", "password": "********"}',
                                  "url": "https://login.example/?user=alice&pw=********"}
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


# Issue 14: raw_result on every route, every rendered form of a secret, short
# secrets, and secrets a parent passes on to its children.

MASK = "********"
OWNER = token_for("acme", "ann", ("USER",))
VIEWERS = {"USER": OWNER, "TENANT_ADMIN": token_for("acme", "tina", ("TENANT_ADMIN",))}
FULL_ADMIN = token_for("ops", "root", ("FULL_ADMIN",))
# Every character here is written differently by repr, ascii, JSON or URL quoting.
ESCAPY = "c4nary\\d\u00e9f\"g/h i+j'k&l%m"


def renderings(secret: str) -> dict[str, str]:
    """How a secret looks once rendered (named, so a failure says which form leaked)."""
    return {
        "as is": secret,
        "repr": repr(secret)[1:-1],
        "repr in a repr": repr(repr(secret))[1:-1],
        "ascii": ascii(secret)[1:-1],
        "json": json.dumps(secret)[1:-1],
        "json, not ascii": json.dumps(secret, ensure_ascii=False)[1:-1],
        "json in a repr": repr(json.dumps(secret))[1:-1],
        "url quote": quote(secret),
        "url quote, nothing safe": quote(secret, safe=""),
        "url quote_plus": quote_plus(secret),
    }


def strings_in(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*strings_in(k), *strings_in(v))]
    if isinstance(value, list):
        return [s for item in value for s in strings_in(item)]
    return []


def leaked(secret: str, body: Any, text: str | None = None) -> set[str]:
    """The renderings of `secret` found in any string of `body`, or in its text."""
    texts = [*strings_in(body), text if text is not None else json.dumps(body)]
    return {name for name, form in renderings(secret).items()
            if any(form in candidate for candidate in texts)}


def as_json_text(answer: Any) -> str:
    return answer.body if isinstance(answer.body, str) else json.dumps(answer.body)


def secret_family(owner: JobsClient, password: str) -> tuple[str, str]:
    """A finished demo.secret job and a finished demo.fanout parent whose two
    children are demo.secret jobs with the same password."""
    job_id = owner.submit("demo.secret", {"username": "ann", "password": password}).body["id"]
    parent = owner.submit("demo.fanout", {"count": 2, "method": "demo.secret",
                                          "params": {"username": "ann", "password": password}})
    assert parent.status == 202, parent.body
    owner.wait_for(job_id)
    assert owner.wait_for(parent.body["id"])["state"] == "SUCCESS"
    return job_id, parent.body["id"]


def raw_result_routes(job_id: str, parent: str, tenant: str = "") -> dict[str, Any]:
    """Every route that renders a job, asked for raw results: the path, and
    where its answer holds the demo.secret results."""
    scope = f"&tenant_id={tenant}" if tenant else ""
    return {
        f"/jobs?raw_result=true&method=demo.secret{scope}":
            lambda body: [r["result"] for r in body["records"]],
        f"/jobs?raw_result=true&get=true&method=demo.secret{scope}":
            lambda body: [body["result"]],
        f"/jobs?raw_result=true&select=id,user_id,result&method=demo.secret{scope}":
            lambda body: [r["result"] for r in body["records"]],
        f"/jobs/{job_id}?raw_result=true": lambda body: [body["result"]],
        f"/jobs/{job_id}/result?raw_result=true": lambda body: [body["result"]],
        f"/jobs/{parent}?raw_result=true": lambda body: [c["result"] for c in body["children"]],
        f"/jobs/{parent}?raw_result=true&children=tree&depth=2":
            lambda body: [c["result"] for c in body["children"]],
        f"/jobs/{parent}/children?raw_result=true{scope}":
            lambda body: [r["result"] for r in body["records"]],
    }


def ids_in(body: dict[str, Any]) -> list[str]:
    """The ids of the jobs an answer shows: a list's records, or a job and its children."""
    if "records" in body:
        return [record["id"] for record in body["records"]]
    return [body["id"], *(i for child in body.get("children", []) for i in ids_in(child))]


@pytest.mark.parametrize("role", sorted(VIEWERS))
def test_raw_result_is_refused_on_every_route_to_anyone_but_a_full_admin(
    jobs: JobsClient, role: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    job_id, parent = secret_family(jobs.as_caller(OWNER), PASSWORD)
    viewer = jobs.as_caller(VIEWERS[role])

    for path, results_of in raw_result_routes(job_id, parent).items():
        answer = viewer.request("GET", path)
        assert answer.status == 200, (path, answer.body)
        results = results_of(answer.body)
        assert results and all(r["password_used"] == MASK for r in results), (path, results)
        assert PASSWORD not in json.dumps(answer.body), path
    assert not [r for r in caplog.records if r.name == "jobapi.audit"]


def test_raw_result_shows_a_full_admin_the_result_on_every_route_and_audits_each_job(
    jobs: JobsClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    job_id, parent = secret_family(jobs.as_caller(OWNER), PASSWORD)
    admin = jobs.as_caller(FULL_ADMIN)

    for path, results_of in raw_result_routes(job_id, parent, tenant="acme").items():
        caplog.clear()
        answer = admin.request("GET", path)
        results = results_of(answer.body)
        audit = [r.getMessage() for r in caplog.records if r.name == "jobapi.audit"]

        assert answer.status == 200, (path, answer.body)
        assert results and all(r["password_used"] == PASSWORD for r in results), path
        # One audit line for each job whose result was shown raw: who, which job.
        assert sorted(audit) == sorted(
            f"raw_result: user root of tenant ops read job {shown} (tenant acme) unredacted"
            for shown in ids_in(answer.body)), path
        assert all(PASSWORD not in line for line in audit)
        assert answer.body.get("arguments", {}).get("password") in (None, MASK)


def test_an_escaped_copy_of_the_password_is_masked_in_exc_info(jobs: JobsClient) -> None:
    answer = jobs.submit("demo.secret", {"username": "u", "password": "abc\\def123",
                                         "fail": True})
    job = jobs.wait_for(answer.body["id"])

    assert job["state"] == "FAILED"
    assert job["error"] == "login refused for u with password ********"
    assert job["exc_info"]["repr"].endswith("('login refused for u with password ********')")
    assert leaked("abc\\def123", job) == set()


@pytest.mark.parametrize("fail", [False, True], ids=["succeeds", "fails"])
def test_no_view_shows_any_rendering_of_the_secret(
    jobs: JobsClient, aws: Provisioned, fail: bool
) -> None:
    owner = jobs.as_caller(OWNER)
    submitted = owner.submit("demo.secret", {"username": "ann", "password": ESCAPY,
                                             "fail": fail})
    job_id = submitted.body["id"]
    parent = owner.submit("demo.fanout", {"count": 2, "method": "demo.secret",
                                          "params": {"username": "ann", "password": ESCAPY,
                                                     "fail": fail}},
                          on_child_failure="continue")
    parent_id = parent.body["id"]
    job = owner.wait_for(job_id)
    owner.wait_for(parent_id)
    assert job["state"] == ("FAILED" if fail else "SUCCESS")

    answers = {"POST /jobs": submitted, "POST /jobs (parent)": parent}
    for path in (f"/jobs/{job_id}", f"/jobs/{job_id}?raw_result=true", f"/jobs/{job_id}/result",
                 f"/jobs/{job_id}/logs", "/jobs?method=demo.secret",
                 "/jobs?get=true&method=demo.secret", f"/jobs/{parent_id}",
                 f"/jobs/{parent_id}?children=tree&depth=2", f"/jobs/{parent_id}/children",
                 f"/jobs/{parent_id}/logs", "/jobs?method=demo.fanout",
                 # the other faces' views of the same jobs
                 f"/_db/_system/jobs/{job_id}", f"/v2.1/jobs/{job_id}",
                 f"/v2.1/jobs/{parent_id}", "/v2.1/jobs?limit=100",
                 f"/api/2.0/jobs/{job_id}/", f"/api/2.0/jobs/{parent_id}/",
                 "/api/2.0/jobs/?limit=0"):
        answers[f"GET {path}"] = owner.request("GET", path)
        assert answers[f"GET {path}"].status == 200, path  # a refusal would hide nothing
    answers["POST cancel"] = owner.request("POST", f"/jobs/{job_id}/cancel")
    for role, token in VIEWERS.items():
        answers[f"GET /jobs?raw_result=true as {role}"] = jobs.as_caller(token).request(
            "GET", "/jobs?raw_result=true")
    item = boto3.client("dynamodb").get_item(TableName=aws.table_name, Key={"id": {"S": job_id}})
    # Only the arguments and the result are kept whole (a FULL_ADMIN may read the result raw).
    stored = {k: v for k, v in item["Item"].items() if k not in ("arguments", "result")}
    log = boto3.client("s3").get_object(Bucket=aws.bucket_name, Key=job["logs_path"])
    # ArangoDB's fetch answers the stored outcome once (and removes the job): last.
    answers["PUT /_api/job"] = owner.request("PUT", f"/_api/job/{job['number']}")
    assert answers["PUT /_api/job"].status == (500 if fail else 200)
    everything = {name: (a.body, as_json_text(a)) for name, a in answers.items()}
    everything["the stored record"] = (stored, json.dumps(stored))
    everything["the stored log"] = (None, log["Body"].read().decode())

    found = {name: leaked(ESCAPY, body, text) for name, (body, text) in everything.items()}

    assert {name: forms for name, forms in found.items() if forms} == {}
    assert "logging in as ann with password ********" in answers[f"GET /jobs/{job_id}/logs"].body


def test_a_secret_in_fanout_params_is_masked_in_the_parents_arguments(
    jobs: JobsClient,
) -> None:
    submitted = jobs.submit("demo.fanout", {"count": 1, "method": "demo.secret",
                                            "params": {"username": "ann", "password": PASSWORD}})
    parent = jobs.wait_for(submitted.body["id"])
    listed = jobs.request("GET", "/jobs?method=demo.fanout").body["records"]

    for view in (submitted.body, parent, *listed):
        assert view["arguments"]["params"] == {"username": "ann", "password": MASK}
        assert PASSWORD not in json.dumps(view)
    assert parent["children"][0]["arguments"]["password"] == MASK


def test_a_short_secret_is_masked_where_it_stands_alone_but_not_inside_a_word(
    jobs: JobsClient,
) -> None:
    answer = jobs.submit("demo.secret", {"username": "Zq9x", "password": "Zq9", "fail": True})
    job = jobs.wait_for(answer.body["id"])
    log = jobs.request("GET", f"/jobs/{job['id']}/logs").body

    assert job["error"] == "login refused for Zq9x with password ********"
    assert job["exc_info"]["repr"].endswith("('login refused for Zq9x with password ********')")
    assert job["progress"]["description"] == "authenticated Zq9x with ********"
    assert "logging in as Zq9x with password ********" in log
    assert job["arguments"] == {"username": "Zq9x", "password": MASK, "fail": True}
