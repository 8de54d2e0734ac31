"""The native face: the REST API (/jobs, /methods, /_upload, /_download).

Routes are declared in app.py; what each does is in `endpoints` (one job),
`list_endpoints` (GET /jobs and a job's children: the query language) and
`upload_endpoints` (the multipart upload form), each imported by its first
request. Reading requests: `requests` (bodies, the caller, idempotency keys),
`list_params`, `removal_params`, `file_params`, `upload_form`; rendering:
the job as `chalicelib.views` draws it, with `children` nested in, and the
`{"error": {"code", "message", "details"}}` envelope of `responses`.
"""
