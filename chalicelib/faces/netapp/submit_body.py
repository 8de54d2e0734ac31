"""The body of POST /v2.1/jobs, made the service's SubmitRequest:

    {"action": "demo.drive_clone",            the job method (required)
     "request_payload": {"drive": "d-1"},     its params (default {})
     "job_summary": "clone d-1",              the job's description
     "object_type": "drive",                  the resource it acts on, its
     "object_id": "d-1",                      first resource (type and id
     "object_name": "boot disk"}              together; the name optional)

It is read as every face reads JSON (chalicelib.faces.json_input.client_json:
strictly), at most MAX_BODY_BYTES (413 past it), unknown fields refused.
"""

from __future__ import annotations

from typing import Any

from chalice.app import Request
from pydantic import BaseModel, ConfigDict, Field, model_validator

from chalicelib.faces.json_input import body_object
from chalicelib.models import RESOURCE_ID, RESOURCE_WORD, SubmitRequest
from chalicelib.validation import parse

# A job's params live in its record (DynamoDB items stop at 400 KB), as on POST /jobs.
MAX_BODY_BYTES = 256 * 1024


class SubmitBody(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    action: str = Field(min_length=1, max_length=200, description="the job method")
    request_payload: dict[str, Any] = Field(default_factory=dict, description="its params")
    job_summary: str | None = Field(None, max_length=1000)
    object_type: str | None = Field(None, min_length=1, max_length=40, pattern=RESOURCE_WORD)
    object_id: str | None = Field(None, min_length=1, max_length=200, pattern=RESOURCE_ID)
    object_name: str | None = Field(None, max_length=200)

    @model_validator(mode="after")
    def _whole_object(self) -> SubmitBody:
        if (self.object_type is None) != (self.object_id is None):
            raise ValueError("object_type and object_id name the job's object together: "
                             "send both or neither")
        if self.object_name is not None and self.object_id is None:
            raise ValueError("object_name needs object_type and object_id")
        return self


def submit_request(request: Request | None) -> SubmitRequest:
    body = parse(SubmitBody, _json_object(request), "request body")
    resources = [{"type": body.object_type, "id": body.object_id,
                  **({"name": body.object_name} if body.object_name is not None else {})}] \
        if body.object_id is not None else None
    return parse(SubmitRequest, {"method": body.action, "params": body.request_payload,
                                 "description": body.job_summary, "resources": resources},
                 "request body")


def _json_object(request: Request | None) -> dict[str, Any]:
    if request is None:
        raise RuntimeError("no current request")
    return body_object(request.raw_body or b"", MAX_BODY_BYTES,
                       "the body is empty; send a JSON object with at least an action")
