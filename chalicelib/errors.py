"""Every error the job API raises, where it comes from and how it ends.

    Exception
    ├── JobApiError                      answered by each face in its own envelope (the REST
    │   │                                API's: chalicelib.faces.native.responses) with its
    │   │                                status and code; 500 internal_error itself
    │   ├── BadRequest (400)             malformed JSON, a body or query that fails validation
    │   │   ├── UnknownMethod (400)      the method is not registered; details list the known ones
    │   │   └── InvalidParams (400)      params fail the method's model; details name the fields
    │   ├── Unauthorized (401)           a missing or wrong credential a route checks itself
    │   │                                (a download link's token); the authorizer's own
    │   │                                refusals are API Gateway's answers
    │   ├── Forbidden (403)              what the caller's credential may not do (a USER
    │   │                                minting an admin key, a token minting a key)
    │   ├── NotFound (404)               unknown job, or one the caller may not see
    │   ├── Conflict (409)               the job's state forbids the request
    │   ├── Gone (410)                   a once-only thing was already used
    │   ├── PayloadTooLarge (413)
    │   ├── UnsupportedMediaType (415)   a body of a Content-Type the route does not take
    │   └── ServiceUnavailable (503)     AWS kept throttling or failing past botocore's
    │                                    retries, or a race kept being lost; answered
    │                                    with Retry-After
    │
    │   internal: caught by our own code, never answered as they are
    ├── TransitionRejected               a conditional write lost its race; carries the
    │                                    record as the write found it (None: missing)
    ├── DuplicateJob, LockHeld           chalicelib.store: a create met an existing job,
    │                                    or a lock that another job holds
    ├── WaitForChildren, WaitForUpload,  raised by the worker to steer its execution: the
    │   WaitForDownload                  state machine's Catch rules route on their names
    ├── JobAborted                       chalicelib.context: in a handler, its job was cancelled
    ├── InvalidToken                     chalicelib.authn: the authorizer denies the call
    │
    │   faults: a route answers them 500 internal_error and logs them; in the
    │   worker they fail the job, or Step Functions catches them as a crash
    ├── botocore ClientError             what no retry mends: AccessDenied, a missing
    │                                    table or bucket, a request AWS refuses
    └── any other                        a bug

botocore's ClientError is translated in one place, chalicelib.aws_errors, for
the store, the workflow and the files alike: the codes a call expects take
its meaning, transient ones become ServiceUnavailable, the rest stay faults.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chalicelib.models import Job
    from chalicelib.states import JobState


class JobApiError(Exception):
    status = 500
    code = "internal_error"

    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class BadRequest(JobApiError):
    status = 400
    code = "bad_request"


class UnknownMethod(BadRequest):
    code = "unknown_method"


class InvalidParams(BadRequest):
    code = "invalid_params"


class Unauthorized(JobApiError):
    status = 401
    code = "unauthorized"


class Forbidden(JobApiError):
    status = 403
    code = "forbidden"


class NotFound(JobApiError):
    status = 404
    code = "not_found"


class Conflict(JobApiError):
    status = 409
    code = "conflict"


class Gone(JobApiError):
    status = 410
    code = "gone"


class PayloadTooLarge(JobApiError):
    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(JobApiError):
    status = 415
    code = "unsupported_media_type"


class ServiceUnavailable(JobApiError):
    status = 503
    code = "service_unavailable"

    def __init__(self, message: str, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class TransitionRejected(Exception):
    """A conditional write found the job in another state than it required."""

    def __init__(self, job_id: str, actual_state: JobState | None,
                 job: Job | None = None) -> None:
        super().__init__(f"job {job_id} is {actual_state or 'missing'}")
        self.job_id = job_id
        self.actual_state = actual_state  # None: there is no such job
        # The record as the write found it (DynamoDB's ALL_OLD), when it exists.
        self.job = job
