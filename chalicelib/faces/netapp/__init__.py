"""The NetApp Service Engine v2.1 face: its job objects over REST, as the
seed's "Jobs" page shows them (`GET /v2.1/jobs`, `GET /v2.1/jobs/{id}`, a
202 for an asynchronous call), in its status/result envelope. Every job is a
job here, whichever face made it; its id is the job's UUID (its integer
number is accepted too).

    envelope       the answers: {"status": {user_message, verbose_message,
                   code}, "result": {...}}, every error in it too
    admission      the caller: the Authorization header checked here (Basic
                   with an API key, Bearer JWT or API key), 401 in the envelope
    job_params     what a request names: the list's tenant_id, offset, limit,
                   sort_by, order_by (and parent_id), a job's id, ?wait=
    submit_body    the body of POST /v2.1/jobs, made a SubmitRequest
    job_record     a job as a NetApp record, its children as `job_tasks`
    job_endpoints  what each route does
"""
