"""What each route of the CloudSigma face does:

    GET /api/2.0/jobs/           {"meta": {"limit", "offset", "total_count"},
                                 "objects": [job, ...]} (job_window, job_params);
                                 /api/2.0/jobs/detail/ answers the same
    GET /api/2.0/jobs/{uuid}/    the job, its children nested (sub_jobs); 404
                                 `notexist` unless the caller may see it
    GET /api/2.0/jobs/schema/    the schema (job_schema)
    anything else on them        405 `validation`: the jobs API is read-only

Each path is served with and without its trailing `/`: API Gateway routes
both to the same resource (and Chalice declares neither with the slash).
"""

from __future__ import annotations

from chalice.app import Request, Response

from chalicelib.errors import NotFound
from chalicelib.faces.cloudsigma.admission import admitted
from chalicelib.faces.cloudsigma.envelope import (
    CloudSigmaError,
    error_response,
    json_response,
    translate_errors,
)
from chalicelib.faces.cloudsigma.job_params import job_id_of, list_params
from chalicelib.faces.cloudsigma.job_schema import jobs_schema
from chalicelib.faces.cloudsigma.job_window import window_of
from chalicelib.faces.cloudsigma.sub_jobs import Nesting
from chalicelib.views import Viewer
from chalicelib.wiring import services


@translate_errors
def list_jobs(request: Request | None) -> Response:
    caller = admitted(request)
    params = list_params(request)
    window = window_of(params, caller, services().lister)
    nesting = Nesting(services().fanout, Viewer(caller))
    return json_response({"meta": window.meta,
                          "objects": [nesting.shown(job) for job in window.jobs]})


@translate_errors
def get_job(request: Request | None, uuid: str) -> Response:
    caller = admitted(request)
    job_id = job_id_of(uuid)
    if job_id is None:
        raise _no_such_job()
    try:
        job = services().jobs.get(job_id, caller, load_result=False)
    except NotFound:
        raise _no_such_job() from None
    return json_response(Nesting(services().fanout, Viewer(caller)).shown(job))


@translate_errors
def get_schema(request: Request | None) -> Response:
    admitted(request)
    return json_response(jobs_schema())


@translate_errors
def not_allowed(request: Request | None) -> Response:
    admitted(request)
    method = request.method if request is not None else "this method"
    answer = error_response(CloudSigmaError(
        405, "validation", f"{method} is not allowed: the jobs API is read-only (GET)"))
    answer.headers["Allow"] = "GET"
    return answer


def _no_such_job() -> CloudSigmaError:
    return CloudSigmaError(404, "notexist", "no such job")
