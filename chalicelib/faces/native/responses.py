"""JSON responses, and the one place errors become HTTP answers."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from typing import Any

from chalice import Response
from chalice.app import Request, RouteEntry

from chalicelib.errors import JobApiError, ServiceUnavailable, UnsupportedMediaType

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


def in_envelope(response: Response, request: Request | None,
                routes: dict[str, dict[str, RouteEntry]]) -> Response:
    """Chalice's own 415 in our error envelope. Chalice checks a route's
    `content_types` itself, before the route runs, wherever it runs (Lambda
    behind API Gateway, `chalice local`, the test client), and answers with a
    `{"Code", "Message"}` body of its own: this answer names instead the types
    the route takes (never the one sent)."""
    body = response.body
    if response.status_code != 415 or not isinstance(body, dict) or "Code" not in body:
        return response
    answer = error_response(_unsupported_media_type(request, routes))
    answer.headers = {**response.headers, **answer.headers}
    return answer


def _unsupported_media_type(request: Request | None,
                            routes: dict[str, dict[str, RouteEntry]]) -> UnsupportedMediaType:
    context: Any = (request.context if request else None) or {}
    resource, method = context.get("resourcePath", ""), request.method if request else ""
    route = routes.get(resource, {}).get(method)
    expected = route.content_types if route else []
    if not expected:
        return UnsupportedMediaType("this route does not take a body of that Content-Type")
    also = f" (also read: {', '.join(expected[1:])})" if len(expected) > 1 else ""
    return UnsupportedMediaType(
        f"{method} {resource} takes a body of Content-Type {expected[0]}{also}",
        details={"expected": expected})
