"""What each route on one job does, given its request. app.py registers the
routes and imports this module on the API function's first such request, so
the authorizer, the worker and the other functions (the same app.py,
deployed five times) never load the request models or the views. Listing
(the query language, its planner) is in list_endpoints, the multipart upload
form in upload_endpoints: a first GET /jobs/{id} loads neither."""

from __future__ import annotations

from chalice.app import Request, Response

from chalicelib.faces.native.children import with_children
from chalicelib.faces.native.file_params import (
    download_query,
    download_response,
    inline_limit,
    log_response,
    submission_body,
)
from chalicelib.faces.native.removal_params import delete_query, result_query, result_response
from chalicelib.faces.native.requests import (
    caller_of,
    idempotency_key,
    job_query,
    no_body,
    submit_request,
)
from chalicelib.faces.native.responses import json_response, translate_errors
from chalicelib.views import Viewer, job_schema, job_view
from chalicelib.wiring import services


@translate_errors
def list_methods() -> Response:
    return json_response({"methods": services().jobs.methods()})


@translate_errors
def submit_job(request: Request) -> Response:
    submission = services().jobs.submit(
        submit_request(request), caller_of(request), idempotency_key(request)
    )
    status = 202 if submission.created else 200
    return json_response(submission_body(submission), status,
                         {"Location": f"/jobs/{submission.job.id}"})


@translate_errors
def download_file(request: Request, job_id: str) -> Response:
    query = download_query(request)
    inline = inline_limit(request, services().settings.download_inline_bytes)
    return download_response(services().downloads.claim(job_id, query.auth_token, query.wait,
                                                         inline))


@translate_errors
def delete_finished_jobs(request: Request) -> Response:
    query = delete_query(request)
    removed = services().removal.delete_finished(caller_of(request), query.expired_before)
    return json_response(removed.as_dict())


@translate_errors
def get_job_schema() -> Response:
    return json_response(job_schema())


@translate_errors
def get_job(request: Request, job_id: str) -> Response:
    query, caller = job_query(request), caller_of(request)
    jobs = services().jobs
    job = jobs.long_poll(job_id, caller, query.wait, query.since) if query.wait else \
        jobs.get(job_id, caller)
    viewer = Viewer(caller, query.raw_result)
    return json_response(with_children(job_view(job, viewer), job, query, viewer,
                                       services().fanout))


@translate_errors
def delete_job(request: Request, job_id: str) -> Response:
    removed = services().removal.delete(job_id, caller_of(request))
    return json_response(removed.as_dict())


@translate_errors
def get_job_result(request: Request, job_id: str) -> Response:
    query, caller = result_query(request), caller_of(request)
    if query.consume:
        job = services().removal.consume(job_id, caller)
    else:
        found = services().jobs.get(job_id, caller)
        job = found if found.state.is_terminal else None
    return result_response(job, Viewer(caller, query.raw_result))


@translate_errors
def get_job_logs(request: Request, job_id: str) -> Response:
    return log_response(services().jobs.log_of(job_id, caller_of(request)))


@translate_errors
def new_download_link(request: Request, job_id: str) -> Response:
    no_body(request)
    link = services().jobs.download_link(job_id, caller_of(request))
    return json_response({"download_url": link}, 201, {"Cache-Control": "no-store"})


@translate_errors
def cancel_job(request: Request, job_id: str) -> Response:
    no_body(request)
    job = services().jobs.cancel(job_id, caller_of(request))
    return json_response(job_view(job))
