"""What POST /_upload does (TrueNAS's multipart form), imported by its first request."""

from __future__ import annotations

from chalice.app import Request, Response

from chalicelib.faces.native.requests import caller_of, idempotency_key
from chalicelib.faces.native.responses import json_response, translate_errors
from chalicelib.faces.native.upload_form import upload_form
from chalicelib.wiring import services


@translate_errors
def upload_file(request: Request) -> Response:
    submit, incoming = upload_form(request, services().settings.upload_max_bytes)
    submission = services().jobs.submit(submit, caller_of(request), idempotency_key(request),
                                        incoming)
    status = 202 if submission.created else 200
    return json_response({"job_id": submission.job.id}, status,
                         {"Location": f"/jobs/{submission.job.id}"})
