"""The REST API's published contract: an OpenAPI 3.1 document generated from
the code (app.py's route table, the request models the routes parse, the
answer models of chalicelib.faces.native.answers, and each registered
method's params model), served at GET /openapi.json, and read at GET /docs.

What a route is documented with is said once, in OPERATIONS: its summary,
its query and body models, its answers. The route table says which routes
exist, with their path parameters and whether they take a credential; the
contract test (tests/functional/test_openapi.py) checks that every native
route is in OPERATIONS and nothing else is, and validates the document.
The other faces' routes (/_api, /_db, /v2.1, /api/2.0) speak their own
protocols and are described in the README, not here.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from chalice.app import Response, RouteEntry
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from chalicelib import __version__
from chalicelib.faces.native import answers
from chalicelib.faces.native.credential_params import KeyListQuery, NewApiKey, NewToken
from chalicelib.faces.native.file_params import DownloadQuery
from chalicelib.faces.native.list_params import ListParams
from chalicelib.faces.native.removal_params import DeleteQuery, ResultQuery
from chalicelib.faces.native.requests import IDEMPOTENCY_KEY_PATTERN, JobQuery
from chalicelib.faces.native.upload_form import UploadData
from chalicelib.models import JobView, SubmitRequest
from chalicelib.registry import JobMethod

OTHER_FACES = ("/_api/", "/_db/", "/v2.1/", "/api/2.0/", "/ui")
REF = "#/components/schemas/{model}"
JSON = "application/json"
# What every route with the authorizer may answer besides its own.
GUARDED_ERRORS = {401: "no Authorization header (API Gateway's answer)",
                  403: "the credential was refused (API Gateway's answer)"}
COMMON_ERRORS = {400: "bad input: the message names the field or parameter",
                 503: "AWS kept throttling: retry after Retry-After seconds"}


@dataclass(frozen=True)
class Operation:
    summary: str
    answers: dict[int, tuple[str, type[BaseModel] | None]]
    query: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    errors: dict[int, str] = field(default_factory=dict)
    body_type: str = JSON
    answer_type: str = JSON
    # OpenAPI links from this operation's success answers: the job it answers
    # (its `id`) is what the named operations take (schemathesis's stateful
    # runs follow them: create, then get, cancel, delete...).
    links: tuple[tuple[str, str], ...] = ()


JOB_ERRORS = {404: "no such job, or not the caller's to see"}
# What may follow an answer that is a job: every operation on that job.
ON_THE_JOB = (("GET", "/jobs/{job_id}"), ("POST", "/jobs/{job_id}/cancel"),
              ("GET", "/jobs/{job_id}/result"), ("GET", "/jobs/{job_id}/children"),
              ("GET", "/jobs/{job_id}/logs"), ("POST", "/jobs/{job_id}/download_link"),
              ("DELETE", "/jobs/{job_id}"))
OPERATIONS: dict[tuple[str, str], Operation] = {
    ("GET", "/health"): Operation("Liveness", {200: ("up", answers.Health)}),
    ("GET", "/openapi.json"): Operation("This document", {200: ("OpenAPI 3.1", None)}),
    ("GET", "/docs"): Operation("This document, to read", {200: ("a page", None)},
                                answer_type="text/html"),
    ("GET", "/docs/docs.js"): Operation("The page's script", {200: ("a script", None)},
                                        answer_type="text/javascript"),
    ("GET", "/methods"): Operation("The registered job methods, with their params schemas",
                                   {200: ("the methods", answers.Methods)}),
    ("POST", "/jobs"): Operation(
        "Submit a job (Idempotency-Key header: a retry answers the same job)",
        {202: ("created", answers.Submitted), 200: ("the job this key made", answers.Submitted)},
        body=SubmitRequest, errors={409: "the key was used with another body, or a lock "
                                         "is held", 413: "the job is too big to store",
                                    415: "a body of another Content-Type"},
        links=ON_THE_JOB),
    ("GET", "/jobs"): Operation(
        "List jobs (TrueNAS query-filters, NetApp's envelope; count=true answers a count, "
        "get=true the first match)",
        {200: ("a page; a count; the first match", answers.Listed)}, query=ListParams,
        errors={404: "get=true, none"}),
    ("DELETE", "/jobs"): Operation("Delete the caller's finished jobs (1,000 a call)",
                                   {200: ("how many", answers.Removed)}, query=DeleteQuery),
    ("GET", "/jobs/schema"): Operation("The job record's JSON schema", {200: ("a schema", None)}),
    ("GET", "/jobs/{job_id}"): Operation(
        "A job (wait=N long-polls until it moves)", {200: ("the job", JobView)},
        query=JobQuery, errors=JOB_ERRORS),
    ("DELETE", "/jobs/{job_id}"): Operation(
        "Delete a job, its files and its sub-jobs", {200: ("deleted", answers.Removed)},
        errors=JOB_ERRORS),
    ("GET", "/jobs/{job_id}/result"): Operation(
        "A finished job's outcome (consume=true: once, then the job is gone)",
        {200: ("the outcome", answers.Outcome), 204: ("still running", None)},
        query=ResultQuery, errors=JOB_ERRORS),
    ("GET", "/jobs/{job_id}/children"): Operation(
        "A job's sub-jobs, paged as GET /jobs (count=true, get=true too)",
        {200: ("a page; a count; the first match", answers.Listed)},
        query=ListParams, errors={404: "no such job, or not the caller's to see; get=true, "
                                       "none"}),
    ("GET", "/jobs/{job_id}/logs"): Operation(
        "What the job's handler logged (secrets masked)", {200: ("the log", None)},
        errors=JOB_ERRORS, answer_type="text/plain"),
    ("POST", "/jobs/{job_id}/cancel"): Operation(
        "Cancel a job", {200: ("the job as it is now", JobView)},
        errors={**JOB_ERRORS, 409: "finished, or running and not abortable"}),
    ("POST", "/jobs/{job_id}/download_link"): Operation(
        "A new one-time link to the job's file (the previous one stops working)",
        {201: ("the link", answers.DownloadLink)},
        errors={**JOB_ERRORS, 409: "no file waits to be downloaded"}),
    ("POST", "/_upload"): Operation(
        "Submit a job with up to 5 files (TrueNAS's form: `data`, then `file` parts; "
        "Authorization or ?auth_token=)",
        {202: ("created", answers.Uploaded), 200: ("the job this key made", answers.Uploaded)},
        body=UploadData, body_type="multipart/form-data",
        errors={401: "no credential", 403: "the credential was refused",
                413: "the files are too big together", 415: "not multipart/form-data"}),
    ("GET", "/_download/{job_id}"): Operation(
        "A job's file, once (?auth_token= from the link)",
        {200: ("the bytes (a small file, to a client that takes binary)", None),
         302: ("to a presigned S3 URL", None), 202: ("not written yet: retry", None)},
        query=DownloadQuery, answer_type="application/octet-stream",
        errors={401: "a missing or wrong token", 404: "no such job",
                410: "fetched already, or expired"}),
    ("POST", "/api_keys"): Operation("Mint an API key (shown once)",
                                     {201: ("the key", answers.ApiKeyCreated)}, body=NewApiKey,
                                     errors={403: "roles beyond the caller's, or a token"}),
    ("GET", "/api_keys"): Operation("The API keys of the caller's scope",
                                    {200: ("a page", answers.ApiKeys)}, query=KeyListQuery),
    ("DELETE", "/api_keys/{key_id}"): Operation(
        "Revoke an API key", {200: ("revoked", answers.Revoked)},
        errors={404: "no such key in the caller's scope"}),
    ("POST", "/auth/tokens"): Operation("A short-lived token (shown once)",
                                        {201: ("the token", answers.TokenIssued)}, body=NewToken,
                                        errors={403: "a token may not mint tokens"}),
}


def native_routes(routes: dict[str, dict[str, RouteEntry]]) -> dict[tuple[str, str], RouteEntry]:
    return {(method, path): entry for path, views in routes.items()
            if not path.startswith(OTHER_FACES) for method, entry in views.items()}


def document(routes: dict[str, dict[str, RouteEntry]], methods: list[JobMethod],
             server_url: str | None = None) -> dict[str, Any]:
    """The OpenAPI 3.1 document of the native routes."""
    schemas = _schemas(methods)
    native = native_routes(routes)
    paths: dict[str, dict[str, Any]] = {}
    for (method, path), entry in sorted(native.items()):
        operation = OPERATIONS.get((method, path))
        if operation is not None:
            spec = _operation(method, path, entry, operation, methods)
            _link(spec, operation, native)
            paths.setdefault(path, {})[method.lower()] = spec
    return {
        "openapi": "3.1.0",
        "info": {"title": "jobapi", "version": __version__,
                 "description": "Long-running operations as tracked jobs: submit, watch, "
                                "cancel, fetch results and files."},
        "servers": [{"url": server_url or "/"}],
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": SECURITY_SCHEMES},
    }


SECURITY_SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer",
               "description": "an identity provider's JWT, or an API key (<id>-<secret>)"},
    "basic": {"type": "http", "scheme": "basic",
              "description": "any user name, an API key as the password"},
    "token": {"type": "apiKey", "in": "header", "name": "Authorization",
              "description": "Token <a short-lived token from POST /auth/tokens>"},
}
SECURITY: list[dict[str, list[str]]] = [{"bearer": []}, {"basic": []}, {"token": []}]


def _operation(method: str, path: str, entry: RouteEntry, operation: Operation,
               methods: list[JobMethod]) -> dict[str, Any]:
    guarded = entry.authorizer is not None
    answers_ = {str(status): _answer(description, model, operation.answer_type)
                for status, (description, model) in operation.answers.items()}
    errors = {**COMMON_ERRORS, **(GUARDED_ERRORS if guarded else {}), **operation.errors}
    for status, description in errors.items():
        answers_[str(status)] = _answer(description, answers.ErrorEnvelope, JSON)
    spec: dict[str, Any] = {
        "operationId": entry.view_name, "summary": operation.summary,
        "parameters": _path_parameters(path) + _query_parameters(operation.query),
        "responses": answers_,
        "security": SECURITY if guarded else [],
    }
    if method == "POST" and path == "/jobs":
        spec["parameters"].append({"name": "Idempotency-Key", "in": "header", "required": False,
                                   "schema": {"type": "string",
                                              "pattern": IDEMPOTENCY_KEY_PATTERN}})
    if operation.body is not None:
        spec["requestBody"] = _body(operation, methods)
    elif method == "POST":
        spec["requestBody"] = {"required": False, "content": {
            JSON: {"schema": {"type": "object", "maxProperties": 0}}}}
    return spec


def _link(spec: dict[str, Any], operation: Operation,
          native: dict[tuple[str, str], RouteEntry]) -> None:
    """Each success answer's links: the job's `id` as the path parameter of
    every operation named in `operation.links` that the route table has."""
    links = {native[target].view_name: {
        "operationId": native[target].view_name,
        "parameters": {name: "$response.body#/id" for name in re.findall(r"{(\w+)}", target[1])}}
        for target in operation.links if target in native}
    for status, answer in spec["responses"].items():
        if links and status.startswith("2") and "content" in answer:
            answer["links"] = links


def _answer(description: str, model: type[BaseModel] | None, media: str) -> dict[str, Any]:
    if model is None:
        return {"description": description}
    return {"description": description,
            "content": {media: {"schema": {"$ref": REF.format(model=model.__name__)}}}}


def _body(operation: Operation, methods: list[JobMethod]) -> dict[str, Any]:
    assert operation.body is not None
    schema: dict[str, Any] = {"$ref": REF.format(model=operation.body.__name__)}
    if operation.body is SubmitRequest:
        # One branch per method: its name, its params' own schema, and the
        # files it takes (service._check_files).
        schema = {"allOf": [schema], "oneOf": [_method_branch(method) for method in methods]}
    if operation.body_type == "multipart/form-data":
        schema = {"type": "object", "required": ["data", "file"], "properties": {
            "data": {"type": "string", "description": "JSON: " + operation.body.__name__},
            "file": {"type": "string", "contentMediaType": "application/octet-stream"}}}
    return {"required": True, "content": {operation.body_type: {"schema": schema}}}


def _method_branch(method: JobMethod) -> dict[str, Any]:
    given, absent = {"not": {"type": "null"}}, {"type": "null"}
    properties: dict[str, Any] = {
        "method": {"const": method.name},
        "params": {"$ref": REF.format(model=_params_name(method))},
        "download": given if method.writes_file else absent}
    required = ["method"] + (["download"] if method.writes_file else [])
    if not method.reads_file:  # a file-reading one may also come by POST /_upload
        properties["upload"] = absent
    if method.writes_file or method.reads_file:  # a job with files declares no children
        properties["children"] = {"anyOf": [absent, {"type": "array", "maxItems": 0}]}
    return {"properties": properties, "required": required}


def _path_parameters(path: str) -> list[dict[str, Any]]:
    return [{"name": name, "in": "path", "required": True,
             "schema": {"type": "string", "minLength": 1, "maxLength": 200}}
            for name in re.findall(r"{(\w+)}", path)]


def _query_parameters(model: type[BaseModel] | None) -> list[dict[str, Any]]:
    if model is None:
        return []
    schema = model.model_json_schema()
    required = set(schema.get("required", []))
    return [{"name": name, "in": "query", "required": name in required,
             "description": spec.get("description", ""),
             "schema": {key: value for key, value in spec.items()
                        if key not in ("description", "title")}}
            for name, spec in schema.get("properties", {}).items()]


def _params_name(method: JobMethod) -> str:
    return "Params_" + re.sub(r"\W", "_", method.name)


def _schemas(methods: list[JobMethod]) -> dict[str, Any]:
    models: list[type[BaseModel]] = [
        JobView, SubmitRequest, NewApiKey, NewToken, UploadData, answers.ErrorEnvelope,
        answers.JobList, answers.Count, answers.Listed, answers.Submitted, answers.Methods,
        answers.Removed, answers.Outcome, answers.Uploaded, answers.DownloadLink, answers.Health,
        answers.Revoked, answers.ApiKeyCreated, answers.ApiKeys, answers.TokenIssued]
    _, top = models_json_schema(
        [(model, "validation" if model in (SubmitRequest, NewApiKey, NewToken, UploadData)
          else "serialization") for model in models], ref_template=REF)
    schemas: dict[str, Any] = dict(top.get("$defs", {}))
    for method in methods:
        params = method.params_model.model_json_schema(ref_template=REF)
        schemas.update(params.pop("$defs", {}))
        schemas[_params_name(method)] = params
    return schemas


# -- the routes ----------------------------------------------------------------------

DOCS = Path(__file__).resolve().parent / "docs"
# The page runs its one script from this origin; nothing inline, nothing fetched
# from elsewhere (no CDN).
PAGE_POLICY = ("default-src 'none'; script-src 'self'; connect-src 'self'; "
               "style-src 'unsafe-inline'; img-src 'self'; base-uri 'none'; "
               "form-action 'none'; frame-ancestors 'none'")


def openapi_response(routes: dict[str, dict[str, RouteEntry]],
                     methods: list[JobMethod]) -> Response:
    body = json.dumps(document(routes, methods), separators=(",", ":"))
    return Response(body=body, status_code=200, headers={
        "Content-Type": "application/json", "Cache-Control": "no-cache"})


def docs_page() -> Response:
    return _static("index.html", "text/html; charset=utf-8")


def docs_script() -> Response:
    return _static("docs.js", "text/javascript; charset=utf-8")


@cache
def _text(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def _static(name: str, content_type: str) -> Response:
    return Response(body=_text(name), status_code=200, headers={
        "Content-Type": content_type, "Content-Security-Policy": PAGE_POLICY,
        "X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"})
