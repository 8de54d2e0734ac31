"""JSON-RPC 2.0 frames as the TrueNAS middleware reads and answers them
(ws_handler/rpc.py, utils/limits.py).

A frame becomes a Request, or it is refused:

    FrameTooLarge   over 8 KiB before login, over 64 KiB after: the
                    middleware closes the connection without an answer
    FrameRefused    answered with an error (or nothing, for a malformed
                    notification), the connection kept:
                    -32700 invalid JSON, a batch, a frame that is no object
                           (id null: it could not be read)
                    -32600 a request that is not JSON-RPC 2.0 (its id echoed;
                           nothing when it has none)

A call then fails with -32601 "Method does not exist", -32602 "Invalid
params" (`data.extra`: [attribute, message, errno] each), -32000 "Maximum
number of concurrent calls (20) has exceeded" (no data: the middleware's
SoftHardSemaphore(10, 20) of a connection's calls in flight; here, a call
that would wait for its job's end on a connection that holds 20 already)
or -32001 "Method call error" (`data`: error, errname, reason, trace,
extra). Clients read only these codes.
"""

from __future__ import annotations

import errno
import json
from dataclasses import dataclass
from typing import Any

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
CALL_ERROR = -32001
TOO_MANY_CONCURRENT_CALLS = -32000

UNAUTHENTICATED_CHARS = 8192  # the middleware measures the text, not its bytes
AUTHENTICATED_CHARS = 65536
ENOTAUTHENTICATED = 207  # the middleware's own errno (ErrnoMixin)
OWN_ERRNAMES = {ENOTAUTHENTICATED: "ENOTAUTHENTICATED"}


@dataclass(frozen=True)
class Request:
    method: str
    params: list[Any]
    id: Any = None
    has_id: bool = False  # a notification (no id) is run but never answered


class FrameTooLarge(Exception):
    """The frame is over its limit: the connection is closed, unanswered."""


class FrameRefused(Exception):
    """The frame is answered with `answer` (None: not at all), and skipped."""

    def __init__(self, answer: dict[str, Any] | None) -> None:
        super().__init__(answer)
        self.answer = answer


class CallError(Exception):
    """A call that failed: -32001 with an errno, as the middleware's CallError."""

    def __init__(self, reason: str, errno_: int = errno.EFAULT,
                 extra: list[Any] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.errno = errno_
        self.extra = extra


class InvalidParams(Exception):
    """Params that fail the method's model: -32602, one [attribute, message,
    errno] per problem."""

    def __init__(self, problems: list[list[Any]]) -> None:
        super().__init__(problems)
        self.problems = problems


class TooManyCalls(Exception):
    """A call over the connection's limit of calls in flight: -32000."""

    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self.limit = limit


class NotAuthenticated(CallError):
    def __init__(self) -> None:
        super().__init__("Not authenticated", ENOTAUTHENTICATED)


def read_frame(text: str, authenticated: bool) -> Request:
    if not authenticated and len(text) > UNAUTHENTICATED_CHARS:
        raise FrameTooLarge("Anonymous connection max message length is 8 kB")
    try:
        message = json.loads(text)
    except ValueError as exc:
        raise FrameRefused(error(None, PARSE_ERROR, str(exc))) from None
    if isinstance(message, list):
        raise FrameRefused(error(None, PARSE_ERROR,
                                 "Batch messages are not supported at this time"))
    if not isinstance(message, dict):
        raise FrameRefused(error(None, PARSE_ERROR, "Invalid Message Format"))
    if len(text) > AUTHENTICATED_CHARS:
        raise FrameTooLarge("Max message length is 64 kB")
    problem = request_problem(message)
    if problem is not None:
        raise FrameRefused(error(message["id"], INVALID_REQUEST, problem)
                           if "id" in message else None)
    return Request(message["method"], message.get("params", []), message.get("id"),
                   "id" in message)


def request_problem(message: dict[str, Any]) -> str | None:
    """What makes `message` no JSON-RPC 2.0 request, in the middleware's words."""
    if "jsonrpc" not in message:
        return "Missing 'jsonrpc' member"
    if message["jsonrpc"] != "2.0":
        return "'jsonrpc' member must be of type string and must be exactly '2.0'"
    if "id" in message and not isinstance(message["id"], None | int | str):
        return "'id' member must be of type null, string or number"
    if "method" not in message:
        return "Missing 'method' member"
    if not isinstance(message["method"], str) or not message["method"]:
        return "'method' member must be of type string"
    if "params" in message and not isinstance(message["params"], list):
        return "'params' member must be of type array"
    return None


def result(request_id: Any, value: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "result": value, "id": request_id}


def error(request_id: Any, code: int, message: str, data: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        body["data"] = data
    return {"jsonrpc": "2.0", "error": body, "id": request_id}


def call_error(request_id: Any, failure: CallError) -> dict[str, Any]:
    reason = f"[{errname(failure.errno)}] {failure.reason}"  # str() of the middleware's
    return error(request_id, CALL_ERROR, "Method call error",
                 error_data(failure.errno, reason, failure.extra))


def too_many_calls(request_id: Any, failure: TooManyCalls) -> dict[str, Any]:
    # The middleware's words (ws_handler/rpc.py), its grammar included.
    return error(request_id, TOO_MANY_CONCURRENT_CALLS,
                 f"Maximum number of concurrent calls ({failure.limit}) has exceeded")


def invalid_params(request_id: Any, failure: InvalidParams) -> dict[str, Any]:
    reason = "\n".join(f"[{errname(code)}] {attribute}: {message}"
                       for attribute, message, code in failure.problems)
    return error(request_id, INVALID_PARAMS, "Invalid params",
                 error_data(errno.EINVAL, reason, failure.problems))


def method_not_found(request_id: Any) -> dict[str, Any]:
    return error(request_id, METHOD_NOT_FOUND, "Method does not exist")


def error_data(errno_: int, reason: str, extra: list[Any] | None = None) -> dict[str, Any]:
    # No trace: the middleware sends its Python traceback; ours stays in our log.
    return {"error": errno_, "errname": errname(errno_), "reason": reason, "trace": None,
            "extra": extra}


def errname(code: int) -> str:
    return errno.errorcode.get(code) or OWN_ERRNAMES.get(code) or "EUNKNOWN"


def text(body: Any) -> str:
    return json.dumps(body, separators=(",", ":"))

