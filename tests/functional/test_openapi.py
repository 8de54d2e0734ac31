"""The REST API's contract (issue 21, item 1): GET /openapi.json is a valid
OpenAPI 3.1 document generated from the code, naming every native route
(and nothing else) with its parameters, body, answers and errors, the
security schemes and every registered method's params; GET /docs reads it
with no CDN and no inline script."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from chalice.test import Client
from openapi_spec_validator import validate

from app import app
from chalicelib.faces.native.openapi import OTHER_FACES
from chalicelib.wiring import services
from tests.helpers import JobsClient


@pytest.fixture
def contract(client: Client) -> dict[str, Any]:
    answer = client.http.get("/openapi.json")
    assert answer.status_code == 200 and answer.headers["Content-Type"] == "application/json"
    return dict(json.loads(answer.body))


def test_the_document_is_valid_openapi_3_1(contract: dict[str, Any]) -> None:
    validate(contract)

    assert contract["openapi"] == "3.1.0" and contract["info"]["title"] == "jobapi"


def test_every_native_route_is_documented_and_nothing_else(contract: dict[str, Any]) -> None:
    routes = {(method.lower(), path) for path, views in app.routes.items()
              if not path.startswith(OTHER_FACES) for method in views}
    documented = {(verb, path) for path, verbs in contract["paths"].items() for verb in verbs}

    assert documented == routes


def test_each_operation_names_its_parameters_answers_and_errors(
        contract: dict[str, Any]) -> None:
    get_job = contract["paths"]["/jobs/{job_id}"]["get"]
    listing = contract["paths"]["/jobs"]["get"]
    submit = contract["paths"]["/jobs"]["post"]

    assert {p["name"] for p in get_job["parameters"]} >= {"job_id", "wait", "raw_result"}
    assert {"200", "400", "401", "403", "404", "503"} <= set(get_job["responses"])
    assert get_job["responses"]["404"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorEnvelope"}
    assert {"filters", "state", "resource", "limit", "next_token"} <= \
        {p["name"] for p in listing["parameters"]}
    assert {"202", "200", "409", "413", "415"} <= set(submit["responses"])
    assert get_job["security"] and contract["paths"]["/health"]["get"]["security"] == []
    for path, verbs in contract["paths"].items():
        for spec in verbs.values():
            names = {p["name"] for p in spec["parameters"] if p["in"] == "path"}
            assert names == set(re.findall(r"{(\w+)}", path)), path


def test_a_created_job_links_to_every_operation_on_it(contract: dict[str, Any]) -> None:
    ids = {spec["operationId"]: (verb, path) for path, verbs in contract["paths"].items()
           for verb, spec in verbs.items()}
    created = contract["paths"]["/jobs"]["post"]["responses"]["202"]["links"]

    linked = {ids[link["operationId"]] for link in created.values()}
    assert linked == {(verb, path) for verb, path in ids.values()
                      if path.startswith("/jobs/{job_id}")}
    assert all(link["parameters"] == {"job_id": "$response.body#/id"}
               for link in created.values())


def test_each_methods_branch_says_which_files_it_takes(contract: dict[str, Any]) -> None:
    body = contract["paths"]["/jobs"]["post"]["requestBody"]["content"]["application/json"]
    branches = {branch["properties"]["method"]["const"]: branch
                for branch in body["schema"]["oneOf"]}

    assert "download" in branches["demo.export"]["required"]
    assert branches["demo.echo"]["properties"]["download"] == {"type": "null"}
    assert "upload" not in branches["demo.checksum"]["properties"]  # or by POST /_upload
    assert branches["demo.echo"]["properties"]["upload"] == {"type": "null"}


def test_every_registered_methods_params_are_in_the_submit_body(
        contract: dict[str, Any]) -> None:
    branches = contract["paths"]["/jobs"]["post"]["requestBody"]["content"][
        "application/json"]["schema"]["oneOf"]
    named = {branch["properties"]["method"]["const"] for branch in branches}
    schemas = contract["components"]["schemas"]

    assert named == {method["name"] for method in services().jobs.methods()}
    assert "core.http_request" not in named  # internal: no client may submit it
    sleep = schemas["Params_demo_sleep"]
    assert sleep["properties"]["seconds"]["maximum"] == 900
    assert set(contract["components"]["securitySchemes"]) == {"bearer", "basic", "token"}


def test_the_docs_page_needs_no_cdn_and_runs_no_inline_script(client: Client) -> None:
    page = client.http.get("/docs")
    script = client.http.get("/docs/docs.js")
    html = page.body.decode()

    assert page.status_code == script.status_code == 200
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy.split("style-src")[0]
    assert '<script type="module" src="docs/docs.js"></script>' in html
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)  # no inline script
    assert not re.search(r"https?://", html + script.body.decode())  # nothing from elsewhere


def test_answers_match_the_documented_schemas(jobs: JobsClient,
                                              contract: dict[str, Any]) -> None:
    """A few real answers validated against the document's own schemas."""
    from jsonschema import Draft202012Validator

    schemas = contract["components"]["schemas"]

    def check(answer: Any, name: str) -> None:
        schema = {"$ref": f"#/components/schemas/{name}", "components": {"schemas": schemas}}
        errors = list(Draft202012Validator(schema).iter_errors(answer))
        assert not errors, (name, [error.message for error in errors[:3]])

    job = jobs.submit("demo.echo", {"a": 1}).body
    done = jobs.wait_for(job["id"])
    check(job, "Submitted")
    check(done, "JobView")
    check(jobs.request("GET", "/jobs").body, "JobList")
    check(jobs.request("GET", "/methods").body, "Methods")
    check(jobs.request("GET", "/jobs/nope").body, "ErrorEnvelope")
    check(jobs.request("GET", f"/jobs/{job['id']}/result").body, "Outcome")
