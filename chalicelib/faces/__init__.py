"""The faces: one package per wire protocol the service speaks.

A face parses its wire format, calls the service, and renders its own record
shape and error envelope. Nothing else: what jobs are, who may see them and
how they run is the core's (every module of chalicelib outside this package),
which never imports Chalice nor renders an answer. So a face

- reaches the service through `chalicelib.wiring.services()` only, and the
  caller through `chalicelib.faces.auth.principal_of`;
- may import the core's domain modules (errors, models, states, caller,
  views, validation, query/...), never `chalicelib.store`,
  `chalicelib.workflow`, `chalicelib.blobs`, boto3 or botocore, nor another
  face's package (tests/unit/test_faces.py reads every module's imports);
- answers every `chalicelib.errors.JobApiError` in its own envelope, from
  the error's status and code, and anything else as its internal error,
  without its text;
- is imported by app.py lazily (`chalicelib.lazy.LazyModule`), so the
  authorizer and the worker never load its request models;
- names no module as a core module is named (tests/unit/test_faces.py).

If a face needs something the service lacks, the service grows it, named for
what it does, and every face can use it.

Shared by every face, here: `auth` (the authorizer, and the caller it hands
to the routes), `json_input` (the JSON clients send, read strictly) and
`threaded_app` (app.py's Chalice, whose current request is per thread).
The faces: `native/`, the REST API (/jobs, /methods, /_upload, /_download);
`truenas/`, JSON-RPC over WebSocket; `arangodb/`, the async job manager
(/_api/job, /_api/version, also under /_db/<name>/) and `x-arango-async` on
any route; `netapp/`, NetApp Service Engine's job objects (/v2.1/jobs) in
its status/result envelope; `cloudsigma/`, CloudSigma's jobs API 2.0
(/api/2.0/jobs/...); `dashboard/`, the web page at /ui/ (static files whose
scripts call the native API and /events with the user's credential). Shared
too: `guarded` (the route guard that answers errors in a face's shape).

Nothing is imported here: app.py imports `auth` on every function's cold path.
"""
