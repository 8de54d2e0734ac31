"""The ArangoDB face's answers: JSON, and every error in ArangoDB's own body,
`{"error": true, "errorNum": N, "errorMessage": "...", "code": <status>}`.

python-arango tells "not found" by `errorNum` 404 alone, so each error's
number is ArangoDB's for its status (arangod's errors.dat): a 404 is
ERROR_HTTP_NOT_FOUND (404), a 409 ERROR_ARANGO_CONFLICT (1200), a 403
ERROR_FORBIDDEN (11); any other status is its own number, as arangod's
ERROR_HTTP_* are.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from chalice import Response

from chalicelib.errors import JobApiError, ServiceUnavailable
from chalicelib.faces.guarded import guarded_by

log = logging.getLogger("jobapi.arangodb")

JSON_HEADERS = {"Content-Type": "application/json; charset=utf-8"}
ERROR_NUMBERS = {403: 11, 409: 1200}
DATABASE_NOT_FOUND = 1228
CANCELED = 21  # ERROR_REQUEST_CANCELED: arangod answers a cancelled request 410


class ArangoError(JobApiError):
    """An answer of the job manager with an errorNum of ArangoDB's own."""

    def __init__(self, status: int, error_num: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_num = error_num


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None
                  ) -> Response:
    return Response(body=json.dumps(body, separators=(",", ":")), status_code=status,
                    headers={**JSON_HEADERS, **(headers or {})})


def empty_response(status: int) -> Response:
    return Response(body="", status_code=status, headers={})


def error_body(status: int, error_num: int, message: str) -> dict[str, Any]:
    return {"error": True, "errorNum": error_num, "errorMessage": message, "code": status}


def error_response(error: JobApiError, headers: dict[str, str] | None = None) -> Response:
    number = error.error_num if isinstance(error, ArangoError) else \
        ERROR_NUMBERS.get(error.status, error.status)
    extra = dict(headers or {})
    if isinstance(error, ServiceUnavailable):
        extra["Retry-After"] = str(error.retry_after)
    return json_response(error_body(error.status, number, error.message), error.status, extra)


# Wraps a route: our errors in this face's shape, nothing else leaks.
translate_errors = guarded_by(error_response)
