"""What the listing routes do: GET /jobs and GET /jobs/{id}/children, with
the TrueNAS query language and its planner (imported by their first request)."""

from __future__ import annotations

from chalice.app import Request, Response

from chalicelib.faces.native.list_params import children_params, list_jobs, list_params
from chalicelib.faces.native.requests import caller_of
from chalicelib.faces.native.responses import json_response, translate_errors
from chalicelib.wiring import services


@translate_errors
def list_all_jobs(request: Request) -> Response:
    return json_response(list_jobs(list_params(request), caller_of(request), services().lister))


@translate_errors
def list_children(request: Request, job_id: str) -> Response:
    caller = caller_of(request)
    services().jobs.get(job_id, caller, load_result=False)  # 404 unless visible
    params = children_params(list_params(request), job_id)
    return json_response(list_jobs(params, caller, services().lister))
