"""The NetApp face's answers, in NetApp Service Engine's envelope:

    {"status": {"user_message": "Okay. Returned 2 records.", "verbose_message": "",
                "code": 200},
     "result": {"returned_records", "total_records", "sort_by", "order_by",
                "offset", "limit", "records": [...]}}

An error is the same envelope with the error's status as `code`, what was
wrong as `user_message`, our error code (bad_request, not_found...) as
`verbose_message`, and an empty `result`.
"""

from __future__ import annotations

import json
from typing import Any

from chalice import Response

from chalicelib.errors import JobApiError, ServiceUnavailable
from chalicelib.faces.guarded import guarded_by

JSON_HEADERS = {"Content-Type": "application/json"}
ACCEPTED = "Okay. Accepted for processing."


def returned(count: int) -> str:
    """The seed's own words: "Okay. Returned 1 record."."""
    return f"Okay. Returned {count} record{'' if count == 1 else 's'}."


def answer(result: dict[str, Any], user_message: str, code: int = 200,
           verbose_message: str = "", headers: dict[str, str] | None = None) -> Response:
    body = {"status": {"user_message": user_message, "verbose_message": verbose_message,
                       "code": code},
            "result": result}
    return Response(body=json.dumps(body, separators=(",", ":")), status_code=code,
                    headers={**JSON_HEADERS, **(headers or {})})


def error_response(error: JobApiError) -> Response:
    headers = {}
    if isinstance(error, ServiceUnavailable):
        headers["Retry-After"] = str(error.retry_after)
    return answer({}, error.message, error.status, error.code, headers)


# Wraps a route: our errors in this face's envelope, nothing else leaks.
translate_errors = guarded_by(error_response)
