"""Every error the job API raises on purpose, and the HTTP status it maps to.

    JobApiError                      root; status 500 unless a subclass says otherwise
    ├── BadRequest (400)             malformed JSON, a body or query that fails validation
    │   ├── UnknownMethod (400)      the method is not registered; details list the known ones
    │   └── InvalidParams (400)      params fail the method's model; details name the fields
    ├── NotFound (404)               unknown job, or one the caller may not see
    ├── Conflict (409)               the job's state forbids the request
    ├── Gone (410)                   a once-only thing was already used
    ├── PayloadTooLarge (413)
    ├── UnsupportedMediaType (415)   a body of a Content-Type the route does not take
    └── ServiceUnavailable (503)     AWS kept throttling or failing past our retries

    TransitionRejected               internal: a conditional write lost its race;
                                     carries the state the record really had

Domain code raises these; `chalicelib.api.responses` alone turns them into HTTP
responses, and `chalicelib.store` alone turns botocore's ClientError into them.
"""

from __future__ import annotations

from typing import Any


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

    def __init__(self, job_id: str, actual_state: str | None,
                 old_item: dict[str, Any] | None = None) -> None:
        super().__init__(f"job {job_id} is {actual_state or 'missing'}")
        self.job_id = job_id
        self.actual_state = actual_state
        # The record as the write found it (DynamoDB's ALL_OLD), when it exists.
        self.old_item = old_item
