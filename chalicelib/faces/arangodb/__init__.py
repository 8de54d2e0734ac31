"""The ArangoDB face: its async job manager over HTTP, as ArangoDB's
RestJobHandler answers it and python-arango's AsyncJob and AsyncDatabase
call it (the seed's reference is the contract). Every job is a job here,
whichever face made it; its id is the job's number (chalicelib.numbering),
as a string.

    job_params     what a request names: the database of `/_db/<name>/`,
                   a job's number, `?count=`, `?stamp=`, and the caller
    envelope       the answers: JSON, and every error in ArangoDB's body
                   {"error": true, "errorNum", "errorMessage", "code"}
    job_endpoints  GET /_api/version, and /_api/job/...: status, fetch once
                   (a kept response as it was), cancel, delete, the lists of
                   done and pending jobs
    async_requests `x-arango-async` on any route: the request made a job of
                   core.http_request, which replays it in the worker
"""
