"""What POST /_upload does (TrueNAS's multipart form), imported by its first request."""

from __future__ import annotations

from chalice.app import Request, Response

from chalicelib.faces.auth import Refused
from chalicelib.faces.native.requests import caller_checked_here, idempotency_key
from chalicelib.faces.native.responses import json_response, translate_errors
from chalicelib.faces.native.upload_form import upload_form
from chalicelib.wiring import services


@translate_errors
def upload_file(request: Request) -> Response:
    # The route takes `Authorization` or `?auth_token=` (TrueNAS), so it has
    # no authorizer: the credential is checked first, before the body is read.
    try:
        caller = caller_checked_here(request)
    except Refused as refused:
        return json_response(refused.body, refused.status, {"Cache-Control": "no-store"})
    submit, incoming = upload_form(request, services().settings.upload_max_bytes)
    submission = services().jobs.submit(submit, caller, idempotency_key(request), incoming)
    status = 202 if submission.created else 200
    # job_id is the job's number, as TrueNAS clients need it; id its id here.
    job = submission.job
    return json_response({"job_id": job.number, "id": job.id}, status,
                         {"Location": f"/jobs/{job.id}"})
