"""The REST API's answers as models, for its published contract (openapi):
each route builds its answer as it always has; these say what it holds (the
contract test and schemathesis hold the routes to them)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, RootModel

from chalicelib.models import JobView


class ErrorDetail(BaseModel):
    code: str = Field(description="bad_request, unknown_method, invalid_params, unauthorized, "
                                  "forbidden, not_found, conflict, gone, payload_too_large, "
                                  "unsupported_media_type, service_unavailable, internal_error, "
                                  "gateway_refused, gateway_error")
    message: str = Field(description="what was wrong (a sent value is never echoed)")
    details: Any = Field(None, description="the fields or parameters concerned, when known")


class ErrorEnvelope(BaseModel):
    """Every error of the REST API, API Gateway's own answers included."""

    error: ErrorDetail


class JobList(BaseModel):
    """GET /jobs and GET /jobs/{id}/children: NetApp's result envelope."""

    records: list[dict[str, Any]] = Field(description="jobs (or the selected fields of each)")
    returned_records: int
    total_records: int | None = Field(description="every match, when known (total=true)")
    sort_by: str
    order_by: str = Field(description="asc or desc")
    offset: int
    limit: int
    next_token: str | None = Field(description="the next page, opaque and signed")


class Count(BaseModel):
    count: int


class Listed(RootModel[JobList | Count | dict[str, Any]]):
    """GET /jobs and GET /jobs/{id}/children: a page; `{"count"}` with
    count=true; the first match (as `select` shapes it) with get=true."""


class Submitted(JobView):
    """POST /jobs: the job, and the one-time links its files travel by."""

    download_url: str | None = Field(None, description="the job's file, once (a secret)")
    upload_url: str | None = Field(None, description="a presigned PUT for its input file")
    upload_method: str | None = None
    upload_headers: dict[str, str] | None = None


class MethodInfo(BaseModel):
    name: str
    description: str | None
    abortable: bool
    locked: bool
    retries: int
    long_running: bool
    spawns_children: bool
    writes_file: bool
    reads_file: bool
    params_schema: dict[str, Any]


class Methods(BaseModel):
    methods: list[MethodInfo]


class Removed(BaseModel):
    deleted: int
    more: bool


class Outcome(BaseModel):
    """GET /jobs/{id}/result: a finished job's outcome (204 while it runs)."""

    id: str
    state: str
    result: Any = None
    error: str | None = None


class Uploaded(BaseModel):
    """POST /_upload: TrueNAS's answer (the job's number) and its id here."""

    job_id: int | None
    id: str


class DownloadLink(BaseModel):
    download_url: str


class Health(BaseModel):
    status: str


class Revoked(BaseModel):
    id: int
    revoked: bool


class ApiKeyCreated(BaseModel):
    key: str = Field(description="shown once: <id>-<64 letters and digits>")


class ApiKeys(BaseModel):
    records: list[dict[str, Any]]
    next_token: str | None = None


class TokenIssued(BaseModel):
    token: str = Field(description="shown once")
    ttl: int
    single_use: bool
    expires_at: str
