"""JSON responses, and the one place errors become HTTP answers."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from typing import Any

from chalice import Response

from chalicelib.errors import JobApiError, ServiceUnavailable

log = logging.getLogger("jobapi.api")

JSON_HEADERS = {"Content-Type": "application/json"}


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        body=json.dumps(body, separators=(",", ":")),
        status_code=status,
        headers={**JSON_HEADERS, **(headers or {})},
    )


def error_response(error: JobApiError) -> Response:
    body: dict[str, Any] = {"code": error.code, "message": error.message}
    if error.details is not None:
        body["details"] = error.details
    headers = {}
    if isinstance(error, ServiceUnavailable):
        headers["Retry-After"] = str(error.retry_after)
    return json_response({"error": body}, error.status, headers)


def translate_errors(view: Callable[..., Response]) -> Callable[..., Response]:
    """Wrap a route so our errors answer with their status and nothing leaks."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        try:
            return view(*args, **kwargs)
        except JobApiError as error:
            return error_response(error)
        except Exception:
            log.exception("unhandled error in %s", view.__name__)
            return error_response(JobApiError("internal error; the request left no trace"))

    return wrapper
