"""A rejected value is never echoed back (issue 14): every 400 and 404 names
the parameter or field and the problem, never what the client sent there,
which may hold a NUL, a right-to-left override or markup. And a download's
file name cannot pose as another one through bidi or other invisible
characters in its Content-Disposition."""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Literal
from urllib.parse import quote, unquote, urlencode

import pytest
import requests
from pydantic import BaseModel, ConfigDict, Field

from chalicelib.errors import BadRequest
from chalicelib.validation import parse
from local.provision import Provisioned
from tests.helpers import Answer, JobsClient

MARK = "zq7echo"
# What a hostile client sends: the marker around a NUL and a right-to-left override.
HOSTILE = f"{MARK}\x00\u202e{MARK}"
IN_PATH = quote(HOSTILE, safe="")


def probes(jobs: JobsClient) -> dict[str, Answer]:
    """One request per place a client-sent value is rejected."""
    echo = {"method": "demo.echo", "params": {}}
    listing = {
        "filters field": json.dumps([[HOSTILE, "=", 1]]),
        "filters operator": json.dumps([["state", HOSTILE, "RUNNING"]]),
        "filters regex": json.dumps([["method", "~", "(" + HOSTILE]]),
        "filters state": json.dumps([["state", "=", HOSTILE]]),
        "order_by": HOSTILE,
        "order_by JSON": json.dumps([HOSTILE]),
        "select": HOSTILE,
        "select JSON": json.dumps([HOSTILE]),
        "state": HOSTILE,
        "created_after": HOSTILE,
        "limit": HOSTILE,
        "next_token": HOSTILE,
    }
    answers = {
        f"GET /jobs?{name}": jobs.request(
            "GET", "/jobs?" + urlencode({name.split()[0]: value}))
        for name, value in listing.items()
    }
    answers |= {
        "POST /jobs unknown method": jobs.submit(HOSTILE),
        "POST /jobs unknown child method": jobs.submit(
            "demo.group", children=[echo, {"method": HOSTILE}]),
        "POST /jobs unknown field": jobs.request("POST", "/jobs", {**echo, HOSTILE: 1}),
        "POST /jobs unknown child field": jobs.submit(
            "demo.group", children=[{**echo, HOSTILE: 1}]),
        "POST /jobs unknown param": jobs.submit("demo.sleep", {HOSTILE: 1}),
        "POST /jobs bad param": jobs.submit("demo.sleep", {"seconds": HOSTILE}),
        "POST /jobs bad filename": jobs.submit(
            "demo.export", download={"filename": f"{MARK}/{HOSTILE}"}),
        "POST /jobs bad content_type": jobs.submit("demo.checksum", upload={
            "filename": "x", "size": 1, "content_type": HOSTILE}),
        "POST /jobs bad Idempotency-Key": jobs.request(
            "POST", "/jobs", echo, headers={"Idempotency-Key": f"{MARK} {MARK}"}),
        "GET /jobs unknown parameter": jobs.request("GET", f"/jobs?{IN_PATH}=1"),
        "GET /jobs/{id}": jobs.request("GET", f"/jobs/{IN_PATH}"),
        "GET /jobs/{id} unknown parameter": jobs.request("GET", f"/jobs/{IN_PATH}?{IN_PATH}=1"),
        "GET /jobs/{id}?children": jobs.request("GET", f"/jobs/{IN_PATH}?children={IN_PATH}"),
        "GET /jobs/{id}/result": jobs.request("GET", f"/jobs/{IN_PATH}/result"),
        "GET /jobs/{id}/result?consume": jobs.request(
            "GET", f"/jobs/{IN_PATH}/result?consume=true"),
        "GET /jobs/{id}/children": jobs.request("GET", f"/jobs/{IN_PATH}/children"),
        "GET /jobs/{id}/logs": jobs.request("GET", f"/jobs/{IN_PATH}/logs"),
        "POST /jobs/{id}/cancel": jobs.request("POST", f"/jobs/{IN_PATH}/cancel"),
        "DELETE /jobs/{id}": jobs.request("DELETE", f"/jobs/{IN_PATH}"),
        "DELETE /jobs unknown parameter": jobs.request("DELETE", f"/jobs?{IN_PATH}=1"),
        "DELETE /jobs?expired_before": jobs.request(
            "DELETE", f"/jobs?expired_before={IN_PATH}"),
        "GET /_download/{id}": jobs.request(
            "GET", f"/_download/{IN_PATH}?auth_token={IN_PATH}&wait=0"),
        "GET /_download/{id} unknown parameter": jobs.request(
            "GET", f"/_download/{IN_PATH}?{IN_PATH}=1"),
        "POST /_upload unknown method": upload(jobs, [
            ("data", json.dumps({"method": HOSTILE, "params": {}})), ("file", "x")]),
        "POST /_upload unknown part": upload(jobs, [
            ("data", json.dumps({"method": "demo.checksum", "params": {}})), ("file", "x"),
            (HOSTILE, "1")]),
        "POST /_upload unknown data field": upload(jobs, [
            ("data", json.dumps({"method": "demo.checksum", HOSTILE: 1})), ("file", "x")]),
    }
    return answers


def upload(jobs: JobsClient, parts: list[tuple[str, str]]) -> Answer:
    fields = {name: (None if name != "file" else "f.bin", body) for name, body in parts}
    prepared = requests.Request("POST", "http://x/_upload", files=fields).prepare()
    body = prepared.body if isinstance(prepared.body, bytes) else str(prepared.body).encode()
    return jobs.request("POST", "/_upload", raw=body.decode("utf-8"), headers={
        "Content-Type": prepared.headers["Content-Type"]})


def rendered(answer: Answer) -> str:
    """Everything the client gets back, as text: as sent, URL-unquoted, and with
    its backslash escapes (JSON's \\u202e among them) undone."""
    body = answer.body if isinstance(answer.body, str) else json.dumps(answer.body)
    text = body + json.dumps(dict(answer.headers))
    return text + unquote(text) + text.encode().decode("unicode_escape", "replace")


def test_a_rejected_value_is_never_echoed_back(jobs: JobsClient, aws: Provisioned) -> None:
    answers = probes(jobs)

    statuses = {name: answer.status for name, answer in answers.items()}
    assert all(400 <= status < 500 for status in statuses.values()), statuses
    echoed = {name: answer.body for name, answer in answers.items()
              if MARK in rendered(answer) or "\u202e" in rendered(answer)}
    assert echoed == {}


def test_a_rejection_still_names_where_and_what(jobs: JobsClient, aws: Provisioned) -> None:
    unknown = jobs.submit(HOSTILE)
    child = jobs.submit("demo.group", children=[{"method": "demo.echo"}, {"method": HOSTILE}])
    field = jobs.submit("demo.group", children=[{"method": "demo.echo", HOSTILE: 1}])
    known_field = jobs.request("POST", "/jobs", {"method": "demo.echo", "weight": 2})
    order = jobs.request("GET", "/jobs?" + urlencode({"order_by": f"state,{HOSTILE}"}))
    missing = jobs.request("GET", f"/jobs/{IN_PATH}")

    assert unknown.status == 400 and unknown.body["error"]["message"].startswith(
        "unknown method; known methods: ")
    assert "demo.echo" in unknown.body["error"]["details"]["known_methods"]
    assert child.body["error"]["message"].startswith("children[1]: unknown method")
    assert field.body["error"]["message"] == (
        "invalid request body: children.0.<unknown field>: Extra inputs are not permitted")
    # A field name of the API's own is ours to name.
    assert known_field.body["error"]["message"] == (
        "invalid request body: weight: Extra inputs are not permitted")
    assert order.body["error"]["details"]["path"] == "order_by[1]"
    assert "unknown field; sortable fields include" in order.body["error"]["message"]
    assert missing.status == 404 and missing.body["error"]["message"] == "no such job"


class Circle(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["circle"]


class Square(BaseModel):
    kind: Literal["square"]


class MethodParams(BaseModel):
    """Params a method may declare, with types whose pydantic errors name the input."""

    model_config = ConfigDict(extra="forbid")

    drive: uuid.UUID | None = None
    shape: Annotated[Circle | Square, Field(discriminator="kind")] | None = None
    sizes: dict[str, int] = Field(default_factory=dict)


@pytest.mark.parametrize("params", [
    {"drive": HOSTILE}, {"shape": {"kind": HOSTILE}}, {"sizes": {HOSTILE: 1.5}},
    {"sizes": {"a": HOSTILE}}, {HOSTILE: 1}, {"shape": {"kind": "circle", HOSTILE: 1}},
])
def test_no_validation_message_repeats_the_input(params: dict[str, object]) -> None:
    with pytest.raises(BadRequest) as caught:
        parse(MethodParams, params, "params")

    error = caught.value
    said = error.message + json.dumps(error.details)
    assert MARK not in said and "\u202e" not in said and "\\u202e" not in said
    assert error.message.startswith("invalid params: ")


def test_a_validation_message_still_says_what_is_expected() -> None:
    with pytest.raises(BadRequest) as caught:
        parse(MethodParams, {"shape": {"kind": "circle", "radius": 1}, "sizes": {HOSTILE: "x"}},
              "params")
    with pytest.raises(BadRequest) as tagged:
        parse(MethodParams, {"shape": {"kind": HOSTILE}}, "params")
    with pytest.raises(BadRequest) as drive:  # pydantic quotes the first bad character
        parse(MethodParams, {"drive": "zq7echo"}, "params")

    assert caught.value.details == [
        {"field": "shape.circle.<unknown field>", "type": "extra_forbidden",
         "message": "Extra inputs are not permitted"},
        {"field": "sizes.<key>", "type": "int_parsing", "message":
         "Input should be a valid integer, unable to parse string as an integer"}]
    assert tagged.value.details == [
        {"field": "shape", "type": "union_tag_invalid", "message":
         "Input tag does not match any of the expected tags: 'circle', 'square'"}]
    assert drive.value.details == [
        {"field": "drive", "type": "uuid_parsing", "message": "Input should be a valid UUID"}]


def test_a_download_name_keeps_no_invisible_or_bidi_characters(
    jobs: JobsClient, aws: Provisioned
) -> None:
    # "invoice<RLO>fdp.exe" shows as "invoiceexe.pdf" where bidi is honoured.
    posing = "invoice\u202efdp.exe"
    hidden = "\u200breport\u2066\u2069\u2028\u2029\u0085\u00ad\u200e\ufeff.txt"
    names = {}
    for name in (posing, hidden):
        job = jobs.submit("demo.export", {"size": 10}, download={"filename": name})
        assert job.status == 202, job.body
        redirect = jobs.request("GET", job.body["download_url"])
        fetched = requests.get(redirect.headers["Location"], timeout=10)
        assert fetched.status_code == 200
        names[name] = fetched.headers["Content-Disposition"]

    assert names[posing] == ("attachment; filename=\"invoicefdp.exe\"; "
                             "filename*=UTF-8''invoicefdp.exe")
    assert names[hidden] == ("attachment; filename=\"report.txt\"; "
                             "filename*=UTF-8''report.txt")
