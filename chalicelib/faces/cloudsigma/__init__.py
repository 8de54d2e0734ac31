"""The CloudSigma 2.0 face: its jobs API (/api/2.0/jobs/...), as CloudSigma's
documentation shows it (the seed's request and response dumps and its
schema are the contract) and CloudSigma's Python library (`cloudsigma`
2.0.0, `resource.Jobs`) calls it. Every job is a job here, whichever face
made it; its `uuid` is the job's id.

    envelope     the answers: JSON, and every error as CloudSigma's list
                 [{"error_type", "error_message", "error_point"}]
    admission    who is asking: the Authorization header, checked here
                 (Basic with an API key as the password, or Bearer), since
                 the routes have no authorizer; refused with CloudSigma's 401
    job_params   what a request names: a job's uuid, `limit`, `offset` and
                 the filters (`state`, `operation`; a comma means OR)
    job_shape    a job as CloudSigma shows one: operation, state, data,
                 times, resource URIs
    sub_jobs     `children`, nested to any depth within a read budget
    job_window   a list's window (offset, limit, `limit=0` for all) read in
                 bounded pages, and its `meta`
    job_schema   GET /api/2.0/jobs/schema/
    job_endpoints  the routes: the list, one job, the schema, and 405 for
                 any other method
"""
