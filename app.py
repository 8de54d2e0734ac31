"""The job API: routes and Lambda entry points only. Everything else is in chalicelib."""

import logging
from typing import Any

from chalice import AuthResponse, Chalice, Rate, Response
from chalice.app import AuthRequest

from chalicelib.api.auth import authorize, raw_result_allowed
from chalicelib.api.children import children_params, with_children
from chalicelib.api.files import (
    download_query,
    download_response,
    log_response,
    submission_body,
)
from chalicelib.api.listing import list_jobs, list_params
from chalicelib.api.removal import delete_query, result_query, result_response
from chalicelib.api.requests import (
    caller_of,
    idempotency_key,
    job_query,
    submit_request,
)
from chalicelib.api.responses import json_response, translate_errors
from chalicelib.api.upload_form import upload_form
from chalicelib.views import job_schema, job_view
from chalicelib.wiring import services

# Chalice's own log setup would stop our "jobapi.*" loggers at ERROR and keep
# them from the root logger (Lambda's handler, and the tests' capture): our
# warnings and the raw_result audit lines are INFO and WARNING.
app = Chalice(app_name="jobapi", configure_logs=False)
logging.getLogger("jobapi").setLevel(logging.INFO)
# API Gateway passes these bodies to Lambda as bytes (base64 on the way).
app.api.binary_types.append("multipart/form-data")

# Bodies are parsed as JSON whatever the declared type: `curl -d` sends
# application/x-www-form-urlencoded by default.
JSON = ["application/json", "text/plain", "application/x-www-form-urlencoded"]


@app.authorizer(ttl_seconds=0)  # no caching: an expired token is refused at once
def jwt_auth(auth_request: AuthRequest) -> AuthResponse:
    return authorize(auth_request, services().verifier)


@app.route("/health", methods=["GET"])
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.route("/methods", methods=["GET"], authorizer=jwt_auth)
@translate_errors
def list_methods() -> Response:
    return json_response({"methods": services().jobs.methods()})


@app.route("/jobs", methods=["POST"], content_types=JSON, authorizer=jwt_auth)
@translate_errors
def submit_job() -> Response:
    request = app.current_request
    submission = services().jobs.submit(
        submit_request(request), caller_of(request), idempotency_key(request)
    )
    status = 202 if submission.created else 200
    return json_response(submission_body(submission), status,
                         {"Location": f"/jobs/{submission.job.id}"})


@app.route("/_upload", methods=["POST"], content_types=["multipart/form-data"],
           authorizer=jwt_auth)
@translate_errors
def upload_file() -> Response:
    request = app.current_request
    submit, incoming = upload_form(request, services().settings.upload_max_bytes)
    submission = services().jobs.submit(submit, caller_of(request), idempotency_key(request),
                                        incoming)
    status = 202 if submission.created else 200
    return json_response({"job_id": submission.job.id}, status,
                         {"Location": f"/jobs/{submission.job.id}"})


@app.route("/_download/{job_id}", methods=["GET"])
@translate_errors
def download_file(job_id: str) -> Response:
    query = download_query(app.current_request)
    return download_response(services().downloads.claim(job_id, query.auth_token, query.wait))


@app.route("/jobs", methods=["GET"], authorizer=jwt_auth)
@translate_errors
def list_all_jobs() -> Response:
    request = app.current_request
    return json_response(list_jobs(list_params(request), caller_of(request), services().lister))


@app.route("/jobs", methods=["DELETE"], authorizer=jwt_auth)
@translate_errors
def delete_finished_jobs() -> Response:
    request = app.current_request
    query = delete_query(request)
    removed = services().removal.delete_finished(caller_of(request), query.expired_before)
    return json_response(removed.as_dict())


@app.route("/jobs/schema", methods=["GET"], authorizer=jwt_auth)
@translate_errors
def get_job_schema() -> Response:
    return json_response(job_schema())


@app.route("/jobs/{job_id}", methods=["GET"], authorizer=jwt_auth)
@translate_errors
def get_job(job_id: str) -> Response:
    request = app.current_request
    query, caller = job_query(request), caller_of(request)
    jobs = services().jobs
    job = jobs.wait(job_id, caller, query.wait, query.since) if query.wait else \
        jobs.get(job_id, caller)
    view = job_view(job, raw_result=raw_result_allowed(query.raw_result, caller, job))
    return json_response(with_children(view, job, query, services().fanout))


@app.route("/jobs/{job_id}", methods=["DELETE"], authorizer=jwt_auth)
@translate_errors
def delete_job(job_id: str) -> Response:
    removed = services().removal.delete(job_id, caller_of(app.current_request))
    return json_response(removed.as_dict())


@app.route("/jobs/{job_id}/result", methods=["GET"], authorizer=jwt_auth)
@translate_errors
def get_job_result(job_id: str) -> Response:
    request = app.current_request
    query, caller = result_query(request), caller_of(request)
    if query.consume:
        job = services().removal.consume(job_id, caller)
    else:
        found = services().jobs.get(job_id, caller)
        job = found if found.state.is_terminal else None
    return result_response(job, raw_result_allowed(query.raw_result, caller, job))


@app.route("/jobs/{job_id}/children", methods=["GET"], authorizer=jwt_auth)
@translate_errors
def list_children(job_id: str) -> Response:
    request = app.current_request
    caller = caller_of(request)
    services().jobs.get(job_id, caller, load_result=False)  # 404 unless visible
    params = children_params(list_params(request), job_id)
    return json_response(list_jobs(params, caller, services().lister))


@app.route("/jobs/{job_id}/logs", methods=["GET"], authorizer=jwt_auth)
@translate_errors
def get_job_logs(job_id: str) -> Response:
    return log_response(services().jobs.log_of(job_id, caller_of(app.current_request)))


@app.route("/jobs/{job_id}/cancel", methods=["POST"], content_types=JSON,
           authorizer=jwt_auth)
@translate_errors
def cancel_job(job_id: str) -> Response:
    job = services().jobs.cancel(job_id, caller_of(app.current_request))
    return json_response(job_view(job))


@app.lambda_function(name="worker")
def worker(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return services().worker.handle(event)


# S3 "Object Created" events reach this function through EventBridge (the
# files bucket sends them there: infra/template.yaml); only uploads count.
@app.on_cw_event({"source": ["aws.s3"], "detail-type": ["Object Created"],
                  "detail": {"object": {"key": [{"suffix": "/upload"}]}}}, name="upload_landed")
def upload_landed(event: Any) -> dict[str, Any]:
    detail = event.detail
    state = services().uploads.landed(detail["bucket"]["name"], detail["object"]["key"],
                                      int(detail["object"].get("size", 0)))
    return {"state": state}


@app.schedule(Rate(1, unit=Rate.MINUTES))
def sweep(event: Any) -> dict[str, Any]:
    return services().sweeper.sweep().as_dict()
