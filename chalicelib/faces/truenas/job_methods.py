"""Jobs through the TrueNAS face (middleware core_service.py, method.py):

    <any registered method> [params...]  submit it: positional params onto
                                    the params model's fields in order, or
                                    one object by name. legacy_jobs true
                                    (the default) answers the job's id at
                                    once; false answers when the job ends,
                                    with its result or its error
    core.get_jobs [filters, options] the jobs the caller may see
    core.subscribe [event] / core.unsubscribe [id]
                                    collection_update notifications of
                                    "core.get_jobs" (or "*")
    core.job_wait [id]              the job's outcome (legacy_jobs false) or
                                    the id of a job that mirrors it (true)
    core.job_abort [id]             -> null
    core.download [method, args, filename, buffered]
                                    -> [job id, "/_download/<job>?auth_token=<t>"]
    core.get_methods [service]      which methods exist, and that each is a job

An answer that waits for a job's end is a `once` subscription of this
connection (chalicelib.events.subscribing), stored before the job is
submitted: the event function sends it (chalicelib.faces.truenas.notifications)
after every event of that job that went before it, the job's `added`
included, exactly once.
"""

from __future__ import annotations

import errno
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.caller import Caller
from chalicelib.errors import BadRequest, Conflict, NotFound
from chalicelib.events.subscribing import MAX_SUBSCRIPTIONS
from chalicelib.events.watchers import Connection
from chalicelib.faces.truenas import job_shape
from chalicelib.faces.truenas.jsonrpc import (
    CallError,
    InvalidParams,
    NotAuthenticated,
    TooManyCalls,
)
from chalicelib.faces.truenas.session_methods import options_of, positional
from chalicelib.listing import MAX_LIMIT, ListQuery
from chalicelib.models import DownloadRequest, Job, SubmitRequest
from chalicelib.query.filters import AllOf, parse_filters
from chalicelib.query.options import parse_order_by, project
from chalicelib.registry import JobMethod
from chalicelib.views import Viewer, job_view
from chalicelib.wiring import services

EVENTS = ("core.get_jobs", "*")
REPLY = "reply:"  # the subscription id of an answer that waits, before its marker


class Later:
    """The answer is sent later, by the event function, when the job ends."""


LATER = Later()


@dataclass(frozen=True)
class Call:
    connection: Connection
    caller: Caller
    request_id: Any
    has_id: bool

    @property
    def marker(self) -> str:
        return job_shape.marker(self.connection.connection_id, self.request_id)

    @property
    def legacy_jobs(self) -> bool:
        return options_of(self.connection)["legacy_jobs"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)


class QueryOptions(BaseModel):
    # TrueNAS's other query options (relationships, force_sql_filters...) are ignored.
    model_config = ConfigDict(extra="ignore", defer_build=True)

    order_by: list[str] = Field(default_factory=list, max_length=10)
    select: list[str] = Field(default_factory=list, max_length=50)
    count: bool = False
    get: bool = False
    offset: int = Field(0, ge=0, le=1000)
    limit: int = Field(0, ge=0, le=MAX_LIMIT)  # 0: all (here at most MAX_LIMIT)
    extra: dict[str, Any] = Field(default_factory=dict)


class GetJobs(Strict):
    filters: list[Any] = Field(default_factory=list)
    options: QueryOptions = QueryOptions()


class Subscribe(Strict):
    name: str = Field(max_length=200)


class Unsubscribe(Strict):
    id: str = Field(max_length=200)


class JobId(Strict):
    id: int


class Download(Strict):
    method: str = Field(max_length=200)
    args: list[Any] = Field(default_factory=list)
    filename: str = Field("download", max_length=255)
    buffered: bool = False


class GetMethods(Strict):
    service: str | None = Field(None, max_length=200)
    target: str = "WS"


def is_job_method(name: str) -> bool:
    """A method a client may call (an internal one "does not exist")."""
    method = services().registry.find(name)
    return method is not None and not method.internal


def call_job_method(call: Call, name: str, params: list[Any]) -> Any:
    method = services().registry.get(name)
    return submitted(call, method, arguments(method, params), wait=not call.legacy_jobs)


def arguments(method: JobMethod, params: list[Any]) -> dict[str, Any]:
    """One object maps by name; a list of values onto the fields in order."""
    try:
        return method.params_by_position(params)
    except BadRequest as refused:
        raise as_invalid_params(refused) from None


def submitted(call: Call, method: JobMethod, params: dict[str, Any], wait: bool,
              download: DownloadRequest | None = None) -> Any:
    """Submits `method` as the caller; the job's number, or LATER when the
    answer waits for its end (the reply is subscribed to first)."""
    reply = _wait_for(call, [["message_ids", "rin", call.marker]]) if wait and call.has_id \
        else None
    request = SubmitRequest(method=method.name, params=params, download=download)
    caller = replace(call.caller, request_id=None if download else call.marker)
    try:
        submission = services().jobs.submit(request, caller)
    except BadRequest as refused:
        _drop(reply)
        raise as_invalid_params(refused) from None
    except Exception:
        _drop(reply)
        raise
    if download is not None:
        return [submission.job.number, submission.download_url]
    return LATER if reply is not None else submission.job.number


def as_invalid_params(refused: BadRequest) -> Exception:
    problems = refused.details if isinstance(refused.details, list) else None
    if not problems:
        return CallError(refused.message, errno.EINVAL)
    return InvalidParams([[str(p.get("field", "")), str(p.get("message", "")), errno.EINVAL]
                          for p in problems if isinstance(p, dict)])


def _wait_for(call: Call, filters: list[Any]) -> Any:
    """A `once` subscription of this connection: the answer to the call,
    sent when a job the filters match ends. A connection holds at most
    MAX_SUBSCRIPTIONS, waiting calls and core.subscribe's together: one
    more waiting call is refused as the middleware refuses a call over its
    connection's 20 in flight (-32000)."""
    if len(call.connection.subscription_keys) >= MAX_SUBSCRIPTIONS:
        raise TooManyCalls(MAX_SUBSCRIPTIONS)
    subscribing = services().subscribing
    query = ListQuery(where=parse_filters(filters), include_transient=True)
    return subscribing.subscribe(call.connection, REPLY + call.marker, query, filters, once=True)


def _drop(reply: Any) -> None:
    if reply is not None:
        services().subscribing.claim(reply)


def get_jobs(call: Call, params: GetJobs) -> Any:
    options = params.options
    query = ListQuery(
        where=_where(params.filters),
        order=parse_order_by(job_shape.order_names(options.order_by or ["time_created"])),
        limit=options.limit or MAX_LIMIT, offset=options.offset, include_transient=True)
    lister = services().lister
    if options.count:
        return lister.count(query, call.caller)
    page = lister.page(replace(query, limit=1) if options.get else query, call.caller)
    viewer = Viewer(call.caller, bool(options.extra.get("raw_result")))
    shown = [_selected(job_shape.record(job_view(job, viewer)), options.select)
             for job in page.jobs]
    if options.get:
        if not shown:
            raise CallError("Object not found", errno.ENOENT)
        return shown[0]
    return shown


def _where(filters: list[Any]) -> AllOf:
    try:
        return parse_filters(job_shape.core_filters(filters))
    except BadRequest as refused:
        raise InvalidParams([["filters", refused.message, errno.EINVAL]]) from None


def _selected(record: dict[str, Any], select: list[str]) -> dict[str, Any]:
    if not select:
        return record
    names = [name for name in select if isinstance(name, str)]
    if any(name.split(".")[0] not in record for name in names):
        raise InvalidParams([["options.select", "unknown field", errno.EINVAL]])
    return project(record, tuple(names)) if names else record


def subscribe(call: Call, params: Subscribe) -> str:
    if params.name not in EVENTS:
        raise CallError(f"{params.name}: no such event here; events: {', '.join(EVENTS)}",
                        errno.ENOENT)
    subscription_id = str(uuid.uuid4())
    query = ListQuery(where=AllOf(()), include_transient=True)
    services().subscribing.subscribe(call.connection, subscription_id, query, [])
    return subscription_id


def unsubscribe(call: Call, params: Unsubscribe) -> None:
    services().subscribing.unsubscribe(call.connection, params.id)


def job_of(call: Call, number: int) -> Job:
    """The caller's job `number` (one Query of by_number, one read)."""
    query = ListQuery(where=parse_filters([["number", "=", number]]), limit=1,
                      include_transient=True)
    jobs = services().lister.page(query, call.caller).jobs
    if not jobs:
        raise CallError(f"Job {number} not found", errno.ENOENT)
    return jobs[0]


def job_abort(call: Call, params: JobId) -> None:
    job = job_of(call, params.id)
    try:
        services().jobs.cancel(job.id, call.caller)
    except Conflict as refused:
        if not job.state.is_terminal:  # a finished job is left as it is, silently
            raise CallError(refused.message, errno.EBUSY) from None
    except NotFound:
        pass  # gone meanwhile: nothing left to abort


def job_wait(call: Call, params: JobId) -> Any:
    job = job_of(call, params.id)
    if call.legacy_jobs:
        method = services().registry.get("core.job_wait")
        return submitted(call, method, {"job_id": job.id}, wait=False)
    if not call.has_id:
        return None
    reply = _wait_for(call, [["id", "=", job.id]])
    ended = job_of(call, params.id)  # read after subscribing: no end falls between
    if ended.state.is_terminal and services().subscribing.claim(reply):
        return outcome(ended, call.caller)
    return LATER


def outcome(job: Job, caller: Caller) -> Any:
    """What a call waiting for `job` answers: its result, or raises its error."""
    view = job_view(job, Viewer(caller))
    if view["state"] == "SUCCESS":
        return view["result"]
    raise job_failure(view)


def job_failure(view: dict[str, Any]) -> CallError:
    exc_info = view.get("exc_info") or {}
    if view["state"] == "ABORTED":
        return CallError(view.get("error") or "Job aborted", errno.ECANCELED)
    given = exc_info.get("errno")
    code = given if isinstance(given, int) else errno.EFAULT
    return CallError(view.get("error") or "Job failed", code, exc_info.get("extra"))


def download(call: Call, params: Download) -> list[Any]:
    method = services().registry.get(params.method)
    if not method.writes_file:
        raise CallError(f"{params.method} writes no file to download", errno.EINVAL)
    # The spawned job does not carry the caller's request id (TrueNAS's neither).
    return submitted(call, method, arguments(method, params.args), wait=False,
                     download=DownloadRequest(filename=params.filename,
                                              buffered=params.buffered))


def get_methods(call: Call, params: GetMethods) -> dict[str, Any]:
    described = services().registry.describe()
    prefix = f"{params.service}." if params.service else ""
    return {entry["name"]: {"job": True, "description": entry["description"],
                            "accepts": [entry["params_schema"]], "filterable": False,
                            "downloadable": entry["writes_file"],
                            "uploadable": entry["reads_file"]}
            for entry in described if entry["name"].startswith(prefix)}


@dataclass(frozen=True)
class Method:
    params: type[Strict]
    run: Callable[[Call, Any], Any]


METHODS: dict[str, Method] = {
    "core.get_jobs": Method(GetJobs, get_jobs),
    "core.subscribe": Method(Subscribe, subscribe),
    "core.unsubscribe": Method(Unsubscribe, unsubscribe),
    "core.job_wait": Method(JobId, job_wait),
    "core.job_abort": Method(JobId, job_abort),
    "core.download": Method(Download, download),
    "core.get_methods": Method(GetMethods, get_methods),
}


def call(connection: Connection, name: str, params: list[Any], request_id: Any,
         has_id: bool) -> Any:
    """The answer to a job call (`name` in METHODS, or a registered method)."""
    if connection.caller is None:
        raise NotAuthenticated()
    this = Call(connection, connection.caller, request_id, has_id)
    method = METHODS.get(name)
    if method is None:
        return call_job_method(this, name, params)
    return method.run(this, positional(method.params, params))  # type: ignore[arg-type]
