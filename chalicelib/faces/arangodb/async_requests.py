"""`x-arango-async` on any route of the REST API: the request becomes a job
of `core.http_request` (chalicelib.methods.core, a method only the faces
submit), which replays it in the worker, through the app's own routes, as
the caller who sent it (the authorizer's context the request had).

    x-arango-async: store   202, empty, `x-arango-async-id: <job number>`;
                            PUT /_api/job/{id} answers the kept response once
    x-arango-async: true    202, empty, no id: a transient job that keeps no
                            response (fire and forget)
    anything else           400 in ArangoDB's body

Not made async: the job manager's own routes (/_api/job...: the header is
ignored, they answer at once), and refused with a 400: the credential routes
(their answer is a secret, or their effect must be synchronous) and the
routes that check their own credential (/_upload, the download link,
/health: no caller to run as). Under /_db/<database>/, on /_api/version
and on the NetApp and CloudSigma faces' routes the caller (and the
database) is checked here (admission) before the job is made: API Gateway's
authorizer did not. A request without the header costs
nothing more than a header lookup.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from chalice.app import Request, Response, RouteEntry

from chalicelib.caller import Caller
from chalicelib.faces.arangodb.admission import admitted
from chalicelib.faces.arangodb.envelope import ArangoError, empty_response, translate_errors
from chalicelib.faces.auth import principal_of
from chalicelib.models import SubmitRequest
from chalicelib.wiring import services

ASYNC = "x-arango-async"
ASYNC_ID = "x-arango-async-id"
METHOD = "core.http_request"
IN_DATABASE = "/_db/{database}"
# Routes whose face checks the credential itself (no API Gateway authorizer):
# the same check (admission) runs before such a request is made a job.
FACE_CHECKED = ("/_api/", "/v2.1/", "/api/2.0/")
JOB_MANAGER = ("/_api/job", f"{IN_DATABASE}/_api/job")
SYNCHRONOUS_ONLY = {("POST", "/api_keys"), ("POST", "/auth/tokens"),
                    ("DELETE", "/api_keys/{key_id}")}
# Not replayed: the credential (the authorizer's context stands for it), the
# header itself (a replay never goes async again), and hop-by-hop headers.
DROPPED_HEADERS = {"authorization", ASYNC, "connection", "keep-alive", "proxy-authorization",
                   "te", "trailer", "transfer-encoding", "upgrade", "content-length"}
# What API Gateway lets a request carry (10 MB) is more than a job's record
# holds: POST /jobs's own limit, before a job is made.
MAX_BODY_BYTES = 256 * 1024

Routes = dict[str, dict[str, RouteEntry]]


def answer(request: Request, get_response: Callable[[Request], Response],
           routes: Routes) -> Response:
    """The middleware's work: the route's own answer, or a job's 202."""
    mode = request.headers.get(ASYNC)
    if mode is None or _resource(request).startswith(JOB_MANAGER):
        return get_response(request)
    # Under /_db/<database>/, the route it stands for decides.
    route = routes.get(_resource(request).removeprefix(IN_DATABASE), {}).get(request.method)
    if route is None:  # no such route: the router's own 404 or 405
        return get_response(request)
    return _accept(request, mode, route)


@translate_errors
def _accept(request: Request, mode: str, route: RouteEntry) -> Response:
    if mode not in ("store", "true"):
        raise ArangoError(400, 400, "x-arango-async must be store or true")
    face_checked = route.uri_pattern.startswith(FACE_CHECKED)
    if (request.method, route.uri_pattern) in SYNCHRONOUS_ONLY or \
            (route.authorizer is None and not face_checked):
        raise ArangoError(400, 400, f"async execution is not allowed for {request.method} "
                                    f"{route.uri_pattern}")
    if face_checked or _resource(request).startswith(IN_DATABASE):
        admitted(request, request.uri_params.get("database") if request.uri_params else None)
    context = dict(request.context.get("authorizer") or {})
    caller = principal_of(context)
    job = _submit(request, context, caller, keep=mode == "store")
    return empty_response(202) if mode == "true" else \
        Response(body="", status_code=202, headers={ASYNC_ID: str(job.number)})


def _submit(request: Request, context: dict[str, str], caller: Caller, keep: bool) -> Any:
    params = {**_replayed(request), "caller": context, "keep": keep}
    submit = SubmitRequest(method=METHOD, params=params, transient=not keep)
    # A record too big is a 413; no client may submit METHOD itself.
    return services().jobs.submit(submit, caller, internal=True).job


def _replayed(request: Request) -> dict[str, Any]:
    event = request.to_original_event()
    raw = request.raw_body or b""
    if len(raw) > MAX_BODY_BYTES:
        raise ArangoError(413, 413, f"the body is larger than {MAX_BODY_BYTES} bytes")
    body, binary = _text_or_base64(raw if isinstance(raw, bytes) else raw.encode())
    headers = {name: str(value) for name, value in (event.get("headers") or {}).items()
               if name.lower() not in DROPPED_HEADERS}
    return {"method": request.method, "resource": _resource(request),
            "path": str(request.context.get("path") or ""),
            "path_params": request.uri_params, "headers": headers,
            "query": event.get("multiValueQueryStringParameters") or None,
            "body": body, "base64": binary}


def _text_or_base64(raw: bytes) -> tuple[str | None, bool]:
    if not raw:
        return None, False
    try:
        return raw.decode("utf-8"), False
    except UnicodeDecodeError:
        return base64.b64encode(raw).decode("ascii"), True


def _resource(request: Request) -> str:
    return str(request.context.get("resourcePath") or "")
