"""Reading the JSON a client sends, for every face: in the REST API a
POST /jobs body, the data part of POST /_upload, the `filters`, `order_by`
and `select` query parameters.

Every one goes through `client_json`, which refuses, with a 400 naming what
was sent, text that is not JSON, JSON nested deeper than MAX_JSON_DEPTH, and
the numbers JSON does not have (NaN, Infinity, -Infinity, and literals such
as 1e400 that only a float's infinity could hold), which Python's json
module would otherwise read (and store as null).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, NoReturn

from chalicelib.errors import BadRequest, PayloadTooLarge

# Levels of arrays and objects a client's JSON may nest (a body's own object
# is one). json.loads, pydantic and our own walks of params all recurse: this
# stays far below the depth where any of them would run out of stack, and it
# is checked on the text, before any of them runs.
MAX_JSON_DEPTH = 64
NOT_FINITE = ("numbers must be finite: NaN, Infinity and numbers too big for a "
              "double (such as 1e400) are not JSON")
# A string (escapes and all), or one bracket: brackets inside strings do not count.
_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)


def body_object(raw: str | bytes, limit: int, empty: str, too_big: str = "") -> dict[str, Any]:
    """A request body that must be one JSON object of at most `limit` bytes:
    413 past it (`too_big` says what to do instead), 400 with `empty` when
    there is none, 400 for anything but an object."""
    if len(raw) > limit:
        raise PayloadTooLarge(f"the body is larger than {limit} bytes{too_big}")
    if not raw.strip():
        raise BadRequest(empty)
    body = client_json(raw, "the body")
    if not isinstance(body, dict):
        raise BadRequest(f"the body must be a JSON object, not {type(body).__name__}")
    return body


def client_json(raw: str | bytes | bytearray, what: str) -> Any:
    """The value of the JSON text `raw`; `what` ("the body", "filters") names
    it in the 400 when it is refused."""
    try:
        text = raw if isinstance(raw, str) else bytes(raw).decode(json.detect_encoding(raw))
    except UnicodeDecodeError as exc:
        raise BadRequest(f"{what} is not valid JSON: it is not UTF-8 text ({exc.reason})") \
            from None
    if nests_deeper_than(text, MAX_JSON_DEPTH):
        raise BadRequest(f"{what} is nested too deeply: JSON may nest at most "
                         f"{MAX_JSON_DEPTH} levels of arrays and objects")
    try:
        return json.loads(text, parse_constant=_not_finite, parse_float=_finite_float)
    except _NotFinite:
        raise BadRequest(f"{what} is not valid JSON: {NOT_FINITE}") from None
    except (ValueError, RecursionError) as exc:
        raise BadRequest(f"{what} is not valid JSON: {exc}") from None


def nests_deeper_than(text: str, limit: int) -> bool:
    """Whether the arrays and objects of the JSON `text` nest more than
    `limit` levels (brackets in strings do not count). One pass of a regex,
    no recursion, stopping once past the limit; a text with no more brackets
    than `limit` is not even scanned."""
    if text.count("[") + text.count("{") <= limit:
        return False
    depth = 0
    for token in _TOKENS.finditer(text):
        char = token.group()[0]
        if char in "[{":
            depth += 1
            if depth > limit:
                return True
        elif char in "]}":
            depth -= 1
    return False


class _NotFinite(ValueError):
    pass


def _not_finite(_: str) -> NoReturn:
    raise _NotFinite


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NotFinite
    return value
