"""The job API: routes and Lambda entry points only. Everything else is in chalicelib."""

from typing import Any

from chalice import Chalice, Response

from chalicelib.api.requests import caller_of, submit_request
from chalicelib.api.responses import json_response, translate_errors
from chalicelib.api.views import job_view
from chalicelib.wiring import services

app = Chalice(app_name="jobapi")

# Bodies are parsed as JSON whatever the declared type: `curl -d` sends
# application/x-www-form-urlencoded by default.
JSON = ["application/json", "text/plain", "application/x-www-form-urlencoded"]


@app.route("/health", methods=["GET"])
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.route("/methods", methods=["GET"])
@translate_errors
def list_methods() -> Response:
    return json_response({"methods": services().jobs.methods()})


@app.route("/jobs", methods=["POST"], content_types=JSON)
@translate_errors
def submit_job() -> Response:
    request = app.current_request
    job = services().jobs.submit(submit_request(request), caller_of(request))
    return json_response(job_view(job), 202, {"Location": f"/jobs/{job.id}"})


@app.route("/jobs/{job_id}", methods=["GET"])
@translate_errors
def get_job(job_id: str) -> Response:
    job = services().jobs.get(job_id, caller_of(app.current_request))
    return json_response(job_view(job))


@app.lambda_function(name="worker")
def worker(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return services().worker.handle(event)
