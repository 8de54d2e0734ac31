"""What each route of the NetApp face does:

    GET  /v2.1/jobs          a page of the caller's jobs: tenant_id, offset,
                             limit, sort_by, order_by (parent_id: a job's tasks)
    GET  /v2.1/jobs/{id}     one job, by UUID or number; ?wait=N long-polls
                             (as GET /jobs/{id}?wait=N) until it changes
    POST /v2.1/jobs          submits a job: 202, "Okay. Accepted for processing."

Each answers in NetApp's envelope (envelope), a job as its record
(job_record), its children as its job_tasks.
"""

from __future__ import annotations

from typing import Any

from chalice.app import Request, Response

from chalicelib.caller import Caller
from chalicelib.errors import BadRequest, NotFound
from chalicelib.faces.netapp.admission import admitted
from chalicelib.faces.netapp.envelope import ACCEPTED, answer, returned, translate_errors
from chalicelib.faces.netapp.job_params import (
    ListParams,
    job_number,
    job_params,
    list_params,
    list_query,
)
from chalicelib.faces.netapp.job_record import JOB_TASKS_SHOWN, record
from chalicelib.faces.netapp.submit_body import submit_request
from chalicelib.listing import COUNT_READ_LIMIT, ListQuery, Page
from chalicelib.models import Job
from chalicelib.query.filters import parse_filters
from chalicelib.views import Viewer, job_view
from chalicelib.wiring import services


@translate_errors
def list_jobs(request: Request | None) -> Response:
    caller = admitted(request)
    params = list_params(request)
    query = list_query(params)
    page = services().lister.page(query, caller)
    total, exact = _total(page, query, params, caller)
    records = [_record(job, caller) for job in page.jobs]
    note = "" if exact else (f"total_records is a floor: more than {COUNT_READ_LIMIT} jobs "
                             "match; narrow the list with tenant_id or parent_id")
    return answer({"returned_records": len(records), "total_records": total,
                   "sort_by": params.sort_by, "order_by": params.order_by,
                   "offset": params.offset, "limit": params.limit, "records": records},
                  returned(len(records)), verbose_message=note)


@translate_errors
def get_job(request: Request | None, job_id: str) -> Response:
    caller = admitted(request)
    params = job_params(request)
    job = _job_named(job_id, caller)
    if params.wait:
        job = services().jobs.long_poll(job.id, caller, params.wait, None)
    return answer({"total_records": 1, "records": [_record(job, caller)]}, returned(1))


@translate_errors
def submit_job(request: Request | None) -> Response:
    caller = admitted(request)
    submission = services().jobs.submit(submit_request(request), caller)
    job = submission.job
    return answer({"total_records": 1, "records": [_record(job, caller)]}, ACCEPTED, 202,
                  headers={"Location": f"/v2.1/jobs/{job.id}"})


def _record(job: Job, caller: Caller) -> dict[str, Any]:
    """The job's record, with its first JOB_TASKS_SHOWN children (read by
    key: one BatchGetItem, consistent, for a job that has any)."""
    viewer = Viewer(caller)
    children = services().fanout.children_of(job, load_results=False,
                                             limit=JOB_TASKS_SHOWN) if job.has_children else []
    return record(job_view(job, viewer), [job_view(child, viewer) for child in children])


def _job_named(job_id: str, caller: Caller) -> Job:
    """The caller's job of that UUID, or of that number (one Query of the
    by_number index, one read)."""
    number = job_number(job_id)
    if number is None:
        return services().jobs.get(job_id, caller, load_result=False)
    query = ListQuery(where=parse_filters([["number", "=", number]]), limit=1,
                      include_transient=True)
    jobs = services().lister.page(query, caller).jobs
    if not jobs:
        raise NotFound("no such job")
    return jobs[0]


def _total(page: Page, query: ListQuery, params: ListParams, caller: Caller
           ) -> tuple[int, bool]:
    """total_records: the page's own when it saw the end of the list, else a
    count (of the index alone when it can be: at most COUNT_READ_LIMIT
    items); past that, a floor."""
    if page.total is not None:
        return page.total, True
    try:
        return services().lister.count(query, caller), True
    except BadRequest:  # more than COUNT_READ_LIMIT match
        return max(COUNT_READ_LIMIT, params.offset + len(page.jobs)), False
