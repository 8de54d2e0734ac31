"""Typed errors: one class per error code of the API's envelope
(`{"error": {"code", "message", "details"?}}`), each carrying the HTTP status,
the code, the message and the details."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An answer of the API that is an error (any code the classes below do not name)."""

    code = "error"

    def __init__(self, status: int, code: str, message: str,
                 details: Any = None, retry_after: float | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.retry_after = retry_after


class BadRequest(ApiError):
    code = "bad_request"


class UnknownMethod(BadRequest):
    code = "unknown_method"


class InvalidParams(BadRequest):
    code = "invalid_params"


class Unauthorized(ApiError):
    code = "unauthorized"


class Forbidden(ApiError):
    code = "forbidden"


class NotFound(ApiError):
    code = "not_found"


class Conflict(ApiError):
    code = "conflict"


class Gone(ApiError):
    code = "gone"


class PayloadTooLarge(ApiError):
    code = "payload_too_large"


class UnsupportedMediaType(ApiError):
    code = "unsupported_media_type"


class ServiceUnavailable(ApiError):
    code = "service_unavailable"


class InternalError(ApiError):
    code = "internal_error"


class JobFailed(Exception):
    """`wait(..., raise_on_failure=True)`: the job ended FAILED or ABORTED."""

    def __init__(self, job: dict[str, Any]) -> None:
        super().__init__(f"job {job.get('id')} ended {job.get('state')}: {job.get('error')}")
        self.job = job


BY_CODE: dict[str, type[ApiError]] = {
    cls.code: cls for cls in (BadRequest, UnknownMethod, InvalidParams, Unauthorized, Forbidden,
                              NotFound, Conflict, Gone, PayloadTooLarge, UnsupportedMediaType,
                              ServiceUnavailable, InternalError)
}
BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequest, 401: Unauthorized, 403: Forbidden, 404: NotFound, 409: Conflict,
    410: Gone, 413: PayloadTooLarge, 415: UnsupportedMediaType, 503: ServiceUnavailable,
    500: InternalError,
}


def error_of(status: int, body: Any, retry_after: str | None = None) -> ApiError:
    """The typed error of an answer: by its code, else by its status."""
    error = body.get("error") if isinstance(body, dict) else None
    code = str(error.get("code")) if isinstance(error, dict) and error.get("code") else ""
    message = str(error.get("message")) if isinstance(error, dict) else str(body or "")[:500]
    details = error.get("details") if isinstance(error, dict) else None
    cls = BY_CODE.get(code) or BY_STATUS.get(status) or ApiError
    return cls(status, code or cls.code, message, details, _seconds(retry_after))


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
