"""JSON responses, and the one place errors become HTTP answers."""

from __future__ import annotations

import json
import logging
from typing import Any

from chalice import Response
from chalice.app import Request, RouteEntry

from chalicelib.errors import JobApiError, ServiceUnavailable, UnsupportedMediaType
from chalicelib.faces.guarded import guarded_by

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


# Wraps a route: our errors in this face's shape, nothing else leaks.
translate_errors = guarded_by(error_response)


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
