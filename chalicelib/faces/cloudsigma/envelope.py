"""The CloudSigma face's answers: JSON, and every error as CloudSigma's list

    [{"error_type": "...", "error_message": "...", "error_point": null}]

`error_type` is one of CloudSigma's own (its errors documentation):
validation, notexist, permission, concurrency, backend; chosen from the
error's status. `error_point` names the query parameter a validation error
is about, else null (CloudSigma: "always present, but can sometimes be null").
"""

from __future__ import annotations

import json
from typing import Any

from chalice import Response

from chalicelib.errors import JobApiError, ServiceUnavailable
from chalicelib.faces.guarded import guarded_by

JSON_HEADERS = {"Content-Type": "application/json; charset=utf-8"}
ERROR_TYPES = {400: "validation", 401: "permission", 403: "permission", 404: "notexist",
               405: "validation", 409: "concurrency", 410: "notexist", 413: "validation",
               415: "validation", 422: "validation"}


class CloudSigmaError(JobApiError):
    """An error with CloudSigma's type, and the parameter it is about."""

    def __init__(self, status: int, error_type: str, message: str,
                 point: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.point = point


def invalid(point: str, message: str) -> CloudSigmaError:
    return CloudSigmaError(400, "validation", message, point)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None
                  ) -> Response:
    return Response(body=json.dumps(body, separators=(",", ":")), status_code=status,
                    headers={**JSON_HEADERS, **(headers or {})})


def error_type_of(error: JobApiError) -> str:
    if isinstance(error, CloudSigmaError):
        return error.error_type
    if error.status >= 500 or error.status == 429:
        return "backend"
    return ERROR_TYPES.get(error.status, "validation")


def error_response(error: JobApiError) -> Response:
    point = error.point if isinstance(error, CloudSigmaError) else _point_of(error)
    extra: dict[str, str] = {}
    if isinstance(error, ServiceUnavailable):
        extra["Retry-After"] = str(error.retry_after)
    body = [{"error_type": error_type_of(error), "error_message": error.message,
             "error_point": point}]
    return json_response(body, error.status, extra)


def _point_of(error: JobApiError) -> str | None:
    details = error.details if isinstance(error.details, dict) else {}
    point = details.get("path")
    return point if isinstance(point, str) and point else None


# Wraps a route: our errors in this face's shape, nothing else leaks.
translate_errors = guarded_by(error_response)
