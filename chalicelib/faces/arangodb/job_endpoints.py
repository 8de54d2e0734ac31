"""What each route of the ArangoDB face does (RestJobHandler's answers):

    GET    /_api/version            {"server": "jobapi", "version", "license"}
    GET    /_api/job/{id}           200 done, 204 pending, 404 unknown or fetched
    GET    /_api/job/done|pending   ids (strings) of the caller's jobs, newest first
    PUT    /_api/job/{id}           the stored response (an x-arango-async request's
                                    own, as its route gave it), once, with x-arango-async-id;
                                    204 pending, 404 unknown or fetched (neither has it)
    PUT    /_api/job/{id}/cancel    200 {"result": true}; 409 when it cannot be
                                    (finished, or running and not abortable)
    DELETE /_api/job/{id}|all|expired?stamp=  200 {"result": true}
    any    /_api/job                400: no id

Each also under `/_db/<database>/`. A job's id is its number, in decimal.
"""

from __future__ import annotations

from typing import Any

from chalice.app import Request, Response

from chalicelib import __version__
from chalicelib.caller import Caller
from chalicelib.errors import NotFound
from chalicelib.faces.arangodb.admission import admitted
from chalicelib.faces.arangodb.envelope import (
    CANCELED,
    ArangoError,
    empty_response,
    error_response,
    json_response,
    translate_errors,
)
from chalicelib.faces.arangodb.job_params import (
    count_of,
    job_number,
    stamp_of,
)
from chalicelib.listing import ListQuery
from chalicelib.methods.core import response_body
from chalicelib.models import Job
from chalicelib.query.filters import parse_filters
from chalicelib.states import JobState
from chalicelib.views import Viewer, job_view
from chalicelib.wiring import services

VERSION = __version__
ASYNC_ID = "x-arango-async-id"
REPLAY = "core.http_request"  # an x-arango-async request (async_requests)
# Not given back with a kept response: they were its connection's, not its own.
HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
              "trailer", "transfer-encoding", "upgrade", "content-length"}
LISTS = {"done": (JobState.SUCCESS, JobState.FAILED, JobState.ABORTED),
         "pending": (JobState.WAITING, JobState.RUNNING)}
MAX_PAGES = 5  # per state, for a list whose pages hide many jobs (expired ones)


@translate_errors
def version(request: Request | None, database: str | None = None) -> Response:
    admitted(request, database)
    return json_response({"server": "jobapi", "version": VERSION, "license": "community"})


@translate_errors
def status_or_list(request: Request | None, job_id: str, database: str | None = None
                   ) -> Response:
    caller = admitted(request, database)
    if job_id in LISTS:
        return json_response(_newest_numbers(LISTS[job_id], count_of(request), caller))
    job = _job_numbered(job_id, caller)
    return empty_response(200 if job.state.is_terminal else 204)


@translate_errors
def fetch(request: Request | None, job_id: str, database: str | None = None) -> Response:
    """The stored response, once: of simultaneous fetches the one whose
    conditional delete wins (chalicelib.removal.consume) answers it, the
    others 404."""
    caller = admitted(request, database)
    job = _job_numbered(job_id, caller)
    if not job.state.is_terminal:
        return empty_response(204)
    try:
        consumed = services().removal.consume(job.id, caller)
    except NotFound:
        raise _not_found() from None
    return empty_response(204) if consumed is None else _stored_response(consumed, caller,
                                                                         job_id)


@translate_errors
def cancel(request: Request | None, job_id: str, database: str | None = None) -> Response:
    caller = admitted(request, database)
    job = _job_numbered(job_id, caller)
    try:
        services().jobs.cancel(job.id, caller)  # a finished job: Conflict, a 409
    except NotFound:
        raise _not_found() from None
    return json_response({"result": True})


@translate_errors
def delete(request: Request | None, job_id: str, database: str | None = None) -> Response:
    """One job (even a pending one: it is not stopped, its outcome is lost),
    or the caller's finished jobs (`all`), or those created before `stamp`
    (`expired`); at most chalicelib.removal.MAX_PER_REQUEST of them a call."""
    caller = admitted(request, database)
    if job_id in ("all", "expired"):
        stamp = stamp_of(request) if job_id == "expired" else None
        services().removal.delete_finished(caller, stamp)
        return json_response({"result": True})
    job = _job_numbered(job_id, caller)
    try:
        services().removal.delete(job.id, caller)
    except NotFound:
        raise _not_found() from None
    return json_response({"result": True})


@translate_errors
def without_id(request: Request | None, database: str | None = None) -> Response:
    admitted(request, database)
    raise ArangoError(400, 400, "bad parameter: expecting a job id or type")


def _job_numbered(job_id: str, caller: Caller) -> Job:
    """The caller's job of that number (one Query of by_number, one read)."""
    number = job_number(job_id)
    if number is None:
        raise _not_found()
    query = ListQuery(where=parse_filters([["number", "=", number]]), limit=1,
                      include_transient=True)
    jobs = services().lister.page(query, caller).jobs
    if not jobs:
        raise _not_found()
    return jobs[0]


def _newest_numbers(states: tuple[JobState, ...], count: int, caller: Caller) -> list[str]:
    """The numbers of the caller's newest `count` jobs in `states`: the newest
    `count` of each state (one index Query each), merged."""
    found = [job for state in states for job in _newest_in(state, count, caller)]
    found.sort(key=lambda job: (job.time_created, job.id), reverse=True)
    return [str(job.number) for job in found[:count]]


def _newest_in(state: JobState, count: int, caller: Caller) -> list[Job]:
    query = ListQuery(where=parse_filters([["state", "=", state.value]]), limit=count,
                      include_transient=True)
    jobs: list[Job] = []
    for _ in range(MAX_PAGES):
        page = services().lister.page(query, caller)
        jobs.extend(job for job in page.jobs if job.number is not None)
        if len(jobs) >= count or page.next_token is None:
            break
        query = ListQuery(where=query.where, limit=count, include_transient=True,
                          next_token=page.next_token)
    return jobs[:count]


def _stored_response(job: Job, caller: Caller, job_id: str) -> Response:
    """A native job's "stored response": its result, or its error as an
    ArangoDB error (a failure 500, a cancel 410 as arangod answers a
    cancelled request), with the header that says it is the job's own."""
    view = job_view(job, Viewer(caller))
    header = {ASYNC_ID: job_id}
    if job.state is JobState.SUCCESS and job.method == REPLAY and isinstance(view["result"], dict):
        return _kept_response(view["result"], header)
    if job.state is JobState.SUCCESS:
        return json_response(view["result"], 200, header)
    if job.state is JobState.ABORTED:
        return error_response(ArangoError(410, CANCELED, view["error"] or "canceled request"),
                              header)
    return error_response(ArangoError(500, 500, view["error"] or "the job failed"), header)


def _not_found() -> ArangoError:
    return ArangoError(404, 404, "not found")


def _kept_response(kept: dict[str, Any], header: dict[str, str]) -> Response:
    """An x-arango-async request's own response: its status, headers (the
    hop-by-hop ones left out) and body (binary restored), plus the id."""
    headers = {name: str(value) for name, value in (kept.get("headers") or {}).items()
               if name.lower() not in HOP_BY_HOP and name.lower() != ASYNC_ID}
    return Response(body=response_body(kept), status_code=int(kept.get("status") or 200),
                    headers={**headers, **header})
