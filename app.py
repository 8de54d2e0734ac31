"""The job API: routes and Lambda entry points only. Everything else is in chalicelib.

Each route of the native REST face hands its request to
chalicelib.faces.native.endpoints (or list_endpoints, upload_endpoints,
credential_endpoints), imported on the first request that needs it: the same
file is every function's handler, and the authorizer, worker, sweeper and
upload functions never load a face's code (nor the API theirs:
chalicelib.wiring imports per service). The authorizer
(chalicelib.faces.auth) is every face's. The ArangoDB face's routes
(/_api/..., also under /_db/{database}/, where every native route is served
too) hand theirs to chalicelib.faces.arangodb.job_endpoints (and admission,
which checks their credential), and its middleware hands a request
with `x-arango-async` to chalicelib.faces.arangodb.async_requests. The
NetApp face's (/v2.1/jobs) go to chalicelib.faces.netapp.job_endpoints and
the CloudSigma face's (/api/2.0/jobs/) to chalicelib.faces.cloudsigma.job_endpoints,
each checking its credential to refuse in its own shape. The WebSocket handlers hand each
message to the face its connection speaks (chalicelib.faces.sockets); the
stream handler (job_events) delivers job events, each face rendering its own.
The dashboard's page and files (/ui/, no credential: the page's calls carry
its user's) come from chalicelib.faces.dashboard.pages.
"""

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from chalice import AuthResponse, Rate, Response
from chalice.app import AuthRequest, DynamoDBEvent, Request, RouteEntry, WebsocketEvent

from chalicelib.faces.auth import authorize
from chalicelib.faces.native.responses import in_envelope
from chalicelib.faces.threaded_app import ThreadedChalice
from chalicelib.lazy import LazyModule
from chalicelib.wiring import authenticator, services

if TYPE_CHECKING:
    from chalicelib.faces import sockets
    from chalicelib.faces.arangodb import admission as arangodb_admission
    from chalicelib.faces.arangodb import async_requests as arangodb_async
    from chalicelib.faces.arangodb import job_endpoints as arangodb_jobs
    from chalicelib.faces.cloudsigma import job_endpoints as cloudsigma_jobs
    from chalicelib.faces.dashboard import pages as dashboard_pages
    from chalicelib.faces.native import (
        credential_endpoints,
        endpoints,
        event_endpoints,
        list_endpoints,
        openapi,
        upload_endpoints,
    )
    from chalicelib.faces.netapp import job_endpoints as netapp_jobs
    from chalicelib.faces.truenas import notifications as truenas_notifications
else:
    sockets = LazyModule("chalicelib.faces.sockets")
    event_endpoints = LazyModule("chalicelib.faces.native.event_endpoints")
    truenas_notifications = LazyModule("chalicelib.faces.truenas.notifications")
    endpoints = LazyModule("chalicelib.faces.native.endpoints")
    credential_endpoints = LazyModule("chalicelib.faces.native.credential_endpoints")
    list_endpoints = LazyModule("chalicelib.faces.native.list_endpoints")
    upload_endpoints = LazyModule("chalicelib.faces.native.upload_endpoints")
    openapi = LazyModule("chalicelib.faces.native.openapi")
    arangodb_jobs = LazyModule("chalicelib.faces.arangodb.job_endpoints")
    arangodb_async = LazyModule("chalicelib.faces.arangodb.async_requests")
    arangodb_admission = LazyModule("chalicelib.faces.arangodb.admission")
    cloudsigma_jobs = LazyModule("chalicelib.faces.cloudsigma.job_endpoints")
    netapp_jobs = LazyModule("chalicelib.faces.netapp.job_endpoints")
    dashboard_pages = LazyModule("chalicelib.faces.dashboard.pages")

# Chalice's own log setup would stop our "jobapi.*" loggers at ERROR and keep
# them from the root logger (Lambda's handler, and the tests' capture): our
# warnings and the raw_result audit lines are INFO and WARNING.
app = ThreadedChalice(app_name="jobapi", configure_logs=False)
app.experimental_feature_flags.update(["WEBSOCKETS"])
logging.getLogger("jobapi").setLevel(logging.INFO)
# API Gateway passes these bodies to Lambda as bytes (base64 on the way).
app.api.binary_types.append("multipart/form-data")

# Bodies are parsed as JSON whatever the declared type: `curl -d` sends
# application/x-www-form-urlencoded by default.
JSON = ["application/json", "text/plain", "application/x-www-form-urlencoded"]
ASYNC_HEADER = "x-arango-async"


@app.middleware("http")
def chalice_answers_in_envelope(request: Request, get_response: Callable[[Request], Response]
                                ) -> Response:
    # Chalice refuses a body whose type is not in a route's content_types
    # (415) before the route runs: in our error envelope too. Only the native
    # routes name their types (also under /_db/); every other face's take any,
    # so no face answers a 415 in another face's shape.
    return in_envelope(get_response(request), request, app.routes)


# Registered after the one above, so inside it. `x-arango-async` on any
# route: the request made a job that replays it (chalicelib.faces.arangodb);
# without the header, the route answers as ever.
@app.middleware("http")
def arangodb_async_requests(request: Request, get_response: Callable[[Request], Response]
                            ) -> Response:
    if ASYNC_HEADER not in request.headers:
        return get_response(request)
    return arangodb_async.answer(request, get_response, app.routes)


# No caching by API Gateway: an expired token is refused at once (the
# authorizer remembers a verified API key for up to 60 s itself).
@app.authorizer(ttl_seconds=0)
def credential_auth(auth_request: AuthRequest) -> AuthResponse:
    return authorize(auth_request, authenticator())


@app.route("/health", methods=["GET"])
def health() -> dict[str, str]:
    return {"status": "ok"}


# The REST API's contract (chalicelib.faces.native.openapi), open to anyone.
@app.route("/openapi.json", methods=["GET"])
def openapi_document() -> Response:
    return openapi.openapi_response(app.routes, services().jobs.method_models())


@app.route("/docs", methods=["GET"])
def api_docs() -> Response:
    return openapi.docs_page()


@app.route("/docs/docs.js", methods=["GET"])
def api_docs_script() -> Response:
    return openapi.docs_script()


@app.route("/methods", methods=["GET"], authorizer=credential_auth)
def list_methods() -> Response:
    return endpoints.list_methods()


@app.route("/jobs", methods=["POST"], content_types=JSON, authorizer=credential_auth)
def submit_job() -> Response:
    return endpoints.submit_job(app.current_request)


# No authorizer: TrueNAS clients may send `?auth_token=` instead of the
# header, which an API Gateway token authorizer cannot read; the route checks
# either itself, and answers 401 and 403 exactly as the authorizer does.
@app.route("/_upload", methods=["POST"], content_types=["multipart/form-data"])
def upload_file() -> Response:
    return upload_endpoints.upload_file(app.current_request)


@app.route("/_download/{job_id}", methods=["GET"])
def download_file(job_id: str) -> Response:
    return endpoints.download_file(app.current_request, job_id)


@app.route("/jobs", methods=["GET"], authorizer=credential_auth)
def list_all_jobs() -> Response:
    return list_endpoints.list_all_jobs(app.current_request)


@app.route("/jobs", methods=["DELETE"], authorizer=credential_auth)
def delete_finished_jobs() -> Response:
    return endpoints.delete_finished_jobs(app.current_request)


@app.route("/jobs/schema", methods=["GET"], authorizer=credential_auth)
def get_job_schema() -> Response:
    return endpoints.get_job_schema()


@app.route("/jobs/{job_id}", methods=["GET"], authorizer=credential_auth)
def get_job(job_id: str) -> Response:
    return endpoints.get_job(app.current_request, job_id)


@app.route("/jobs/{job_id}", methods=["DELETE"], authorizer=credential_auth)
def delete_job(job_id: str) -> Response:
    return endpoints.delete_job(app.current_request, job_id)


@app.route("/jobs/{job_id}/result", methods=["GET"], authorizer=credential_auth)
def get_job_result(job_id: str) -> Response:
    return endpoints.get_job_result(app.current_request, job_id)


@app.route("/jobs/{job_id}/children", methods=["GET"], authorizer=credential_auth)
def list_children(job_id: str) -> Response:
    return list_endpoints.list_children(app.current_request, job_id)


@app.route("/jobs/{job_id}/logs", methods=["GET"], authorizer=credential_auth)
def get_job_logs(job_id: str) -> Response:
    return endpoints.get_job_logs(app.current_request, job_id)


@app.route("/api_keys", methods=["POST"], content_types=JSON, authorizer=credential_auth)
def create_api_key() -> Response:
    return credential_endpoints.create_api_key(app.current_request)


@app.route("/api_keys", methods=["GET"], authorizer=credential_auth)
def list_api_keys() -> Response:
    return credential_endpoints.list_api_keys(app.current_request)


@app.route("/api_keys/{key_id}", methods=["DELETE"], authorizer=credential_auth)
def revoke_api_key(key_id: str) -> Response:
    return credential_endpoints.revoke_api_key(app.current_request, key_id)


@app.route("/auth/tokens", methods=["POST"], content_types=JSON, authorizer=credential_auth)
def create_auth_token() -> Response:
    return credential_endpoints.create_token(app.current_request)


@app.route("/jobs/{job_id}/cancel", methods=["POST"], content_types=JSON,
           authorizer=credential_auth)
def cancel_job(job_id: str) -> Response:
    return endpoints.cancel_job(app.current_request, job_id)


# A new one-time link to the job's file (the previous one stops working).
@app.route("/jobs/{job_id}/download_link", methods=["POST"], content_types=JSON,
           authorizer=credential_auth)
def new_download_link(job_id: str) -> Response:
    return endpoints.new_download_link(app.current_request, job_id)


# The ArangoDB face: its async job manager (chalicelib.faces.arangodb), each
# route also under /_db/<database>/ as python-arango sends it. No authorizer:
# the face checks the credential itself, to refuse in ArangoDB's body. Any
# Content-Type, as arangod takes: never Chalice's own 415 in another shape.
ARANGODB_ANY = ["*/*"]
@app.route("/_api/version", methods=["GET"], content_types=ARANGODB_ANY)
@app.route("/_db/{database}/_api/version", methods=["GET"], content_types=ARANGODB_ANY)
def arangodb_version(database: str | None = None) -> Response:
    return arangodb_jobs.version(app.current_request, database)


@app.route("/_api/job/{job_id}", methods=["GET"], content_types=ARANGODB_ANY)
@app.route("/_db/{database}/_api/job/{job_id}", methods=["GET"], content_types=ARANGODB_ANY)
def arangodb_job_status(job_id: str, database: str | None = None) -> Response:
    return arangodb_jobs.status_or_list(app.current_request, job_id, database)


@app.route("/_api/job/{job_id}", methods=["PUT"], content_types=ARANGODB_ANY)
@app.route("/_db/{database}/_api/job/{job_id}", methods=["PUT"], content_types=ARANGODB_ANY)
def arangodb_job_fetch(job_id: str, database: str | None = None) -> Response:
    return arangodb_jobs.fetch(app.current_request, job_id, database)


@app.route("/_api/job/{job_id}", methods=["DELETE"], content_types=ARANGODB_ANY)
@app.route("/_db/{database}/_api/job/{job_id}", methods=["DELETE"], content_types=ARANGODB_ANY)
def arangodb_job_delete(job_id: str, database: str | None = None) -> Response:
    return arangodb_jobs.delete(app.current_request, job_id, database)


@app.route("/_api/job/{job_id}/cancel", methods=["PUT"], content_types=ARANGODB_ANY)
@app.route("/_db/{database}/_api/job/{job_id}/cancel", methods=["PUT"], content_types=ARANGODB_ANY)
def arangodb_job_cancel(job_id: str, database: str | None = None) -> Response:
    return arangodb_jobs.cancel(app.current_request, job_id, database)


@app.route("/_api/job", methods=["GET", "PUT", "DELETE"], content_types=ARANGODB_ANY)
@app.route("/_db/{database}/_api/job", methods=["GET", "PUT", "DELETE"], content_types=ARANGODB_ANY)
def arangodb_job_without_id(database: str | None = None) -> Response:
    return arangodb_jobs.without_id(app.current_request, database)


# ArangoDB's URL shape for the whole API: every route above also under
# /_db/<database>/, the face checking the caller and the database first
# (chalicelib.faces.arangodb.admission), then the route as ever.
def in_database(route: RouteEntry) -> Callable[..., Response]:
    def view(database: str, **path_params: str) -> Response:
        refused = arangodb_admission.refusal(app.current_request, database,
                                             route_checks_its_own=route.authorizer is None)
        return refused or route.view_function(**path_params)
    return view


def serve_under_databases() -> None:
    for path, views in list(app.routes.items()):
        if path.startswith(("/_api/", "/_db/")):
            continue  # the face's own routes are declared with their prefix
        for method, route in views.items():
            app.route(f"/_db/{{database}}{path}", methods=[method],
                      content_types=route.content_types,
                      name=f"{route.view_name}_in_database")(in_database(route))


serve_under_databases()


# The NetApp Service Engine face (chalicelib.faces.netapp): GET/POST /v2.1/jobs.
# Declared after serve_under_databases: another face's routes are not
# served under /_db/. No authorizer: the face refuses in its own envelope.
# --- netapp routes (begin) ---
@app.route("/v2.1/jobs", methods=["GET"])
def netapp_list_jobs() -> Response:
    return netapp_jobs.list_jobs(app.current_request)


# Any Content-Type, read as JSON: a refusal must be NetApp's envelope, never
# Chalice's own 415.
@app.route("/v2.1/jobs", methods=["POST"], content_types=["*/*"])
def netapp_submit_job() -> Response:
    return netapp_jobs.submit_job(app.current_request)


@app.route("/v2.1/jobs/{job_id}", methods=["GET"])
def netapp_get_job(job_id: str) -> Response:
    return netapp_jobs.get_job(app.current_request, job_id)
# --- netapp routes (end) ---


# The CloudSigma 2.0 face (chalicelib.faces.cloudsigma): /api/2.0/jobs/...
# No authorizer: the face refuses in CloudSigma's error list.
# --- cloudsigma routes (begin) ---
# Each path is also served with its trailing "/" (API Gateway and Chalice
# route both to the resource declared without it). Any Content-Type: a GET
# has no body, and a refusal must be CloudSigma's list, not Chalice's 415.
CLOUDSIGMA_ANY = ["*/*"]
CLOUDSIGMA_WRITES = ["POST", "PUT", "PATCH", "DELETE"]


@app.route("/api/2.0/jobs", methods=["GET"], content_types=CLOUDSIGMA_ANY)
@app.route("/api/2.0/jobs/detail", methods=["GET"], content_types=CLOUDSIGMA_ANY)
def cloudsigma_list_jobs() -> Response:
    return cloudsigma_jobs.list_jobs(app.current_request)


@app.route("/api/2.0/jobs/schema", methods=["GET"], content_types=CLOUDSIGMA_ANY)
def cloudsigma_jobs_schema() -> Response:
    return cloudsigma_jobs.get_schema(app.current_request)


@app.route("/api/2.0/jobs/{uuid}", methods=["GET"], content_types=CLOUDSIGMA_ANY)
def cloudsigma_get_job(uuid: str) -> Response:
    return cloudsigma_jobs.get_job(app.current_request, uuid)


@app.route("/api/2.0/jobs", methods=CLOUDSIGMA_WRITES, content_types=CLOUDSIGMA_ANY)
@app.route("/api/2.0/jobs/detail", methods=CLOUDSIGMA_WRITES, content_types=CLOUDSIGMA_ANY)
@app.route("/api/2.0/jobs/schema", methods=CLOUDSIGMA_WRITES, content_types=CLOUDSIGMA_ANY)
@app.route("/api/2.0/jobs/{uuid}", methods=CLOUDSIGMA_WRITES, content_types=CLOUDSIGMA_ANY)
def cloudsigma_jobs_read_only(uuid: str | None = None) -> Response:
    return cloudsigma_jobs.not_allowed(app.current_request)
# --- cloudsigma routes (end) ---


# The dashboard (chalicelib.faces.dashboard): a page and its files, open to
# anyone (its calls to the API carry the user's credential); not under /_db/.
@app.route("/ui", methods=["GET"])
def dashboard_page() -> Response:
    return dashboard_pages.index(app.current_request)


@app.route("/ui/{name}", methods=["GET"])
def dashboard_file(name: str) -> Response:
    return dashboard_pages.asset(app.current_request, name)


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


# Every face's WebSocket (native /events, TrueNAS /api/current): API Gateway's
# WebSocket API calls these three; chalicelib.faces.sockets tells a
# connection's face by its first message. Locally `make run` serves the same
# paths on its own port (local/websocket.py).
@app.on_ws_connect(name="events_connect")
def events_connect(event: WebsocketEvent) -> dict[str, Any]:
    return sockets.connect(event)


@app.on_ws_message(name="events_message")
def events_message(event: WebsocketEvent) -> dict[str, Any]:
    return sockets.message(event)


@app.on_ws_disconnect(name="events_disconnect")
def events_disconnect(event: WebsocketEvent) -> dict[str, Any]:
    return sockets.disconnect(event)


# Every change of a job record, from the jobs table's stream, to its watchers.
# The ARN is the infra stack's export, set by infra/app-merge.json; locally the
# stream is read from moto and handed here the same way (local/streams.py).
STREAM_ARN = "arn:aws:dynamodb:us-east-1:000000000000:table/jobapi-STAGE-jobs/stream/app-merge"


@app.on_dynamodb_record(stream_arn=STREAM_ARN, name="job_events", batch_size=100,
                        starting_position="LATEST")
def job_events(event: DynamoDBEvent) -> dict[str, Any]:
    renderers = {"native": event_endpoints.render, "truenas": truenas_notifications.render}
    return services().events.deliver(event.to_dict()["Records"], renderers).as_dict()


@app.schedule(Rate(1, unit=Rate.MINUTES))
def sweep(event: Any) -> dict[str, Any]:
    return services().sweeper.sweep().as_dict()
