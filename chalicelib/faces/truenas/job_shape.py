"""Jobs as TrueNAS shows them (middleware job.py, Job.__encode__), and the
query language of core.get_jobs turned into GET /jobs's.

TrueNAS's `id` is the job's number (chalicelib.numbering); times are
`{"$date": <ms since the epoch>}`; `arguments` is the positional list (here
one object: the params by name); `message_ids` are the JSON-RPC ids of the
calls that submitted or joined the job, as the clients sent them.
"""

from __future__ import annotations

import errno
import json
from typing import Any

from chalicelib.clock import from_iso, iso
from chalicelib.faces.truenas.jsonrpc import InvalidParams

# A call's request id, in the job's message_ids: "<connection>:<JSON id>",
# unique across connections; each face shows it its own way.
MARKER_SEPARATOR = ":"
TIME_FIELDS = ("time_created", "time_started", "time_finished", "time_updated")
RENAMED = {"id": "number"}  # TrueNAS field -> ours


def record(view: dict[str, Any]) -> dict[str, Any]:
    """A job view (chalicelib.views.job_view, as the caller may see it) as
    core.get_jobs and collection_update show it."""
    progress = view.get("progress") or {}
    exc_info = view.get("exc_info")
    return {
        "id": view.get("number"),
        "message_ids": [client_id(marker) for marker in view.get("message_ids", [])],
        "method": view["method"],
        "arguments": [view.get("arguments", {})],
        "transient": view.get("transient", False),
        "description": view.get("description"),
        "abortable": view.get("abortable", False),
        "logs_path": view.get("logs_path"),
        "logs_excerpt": view.get("logs_excerpt"),
        "progress": {"percent": progress.get("percent"),
                     "description": progress.get("description"),
                     "extra": progress.get("extra")},
        "result": view.get("result"),
        "result_encoding_error": view.get("result_encoding_error"),
        "error": view.get("error"),
        "exception": view.get("exception"),
        "exc_info": None if exc_info is None else {
            "repr": exc_info.get("repr"), "type": exc_info.get("type"),
            "errno": exc_info.get("errno"), "extra": exc_info.get("extra")},
        "state": view["state"],
        "time_started": date(view.get("time_started")),
        "time_finished": date(view.get("time_finished")),
        "credentials": {"type": "API_KEY" if view.get("user_id") else "TOKEN",
                        "data": {"username": view.get("user_id") or view.get("tenant_id")}},
    }


def date(value: str | None) -> dict[str, int] | None:
    return None if value is None else {"$date": round(from_iso(value) * 1000)}


def marker(connection_id: str, request_id: Any) -> str:
    return f"{connection_id}{MARKER_SEPARATOR}{json.dumps(request_id)}"


def client_id(message_id: str) -> Any:
    """The id a client sent, from its call's marker; another face's request
    id is shown as it is."""
    _, separator, sent = message_id.partition(MARKER_SEPARATOR)
    if not separator:
        return message_id
    try:
        return json.loads(sent)
    except ValueError:
        return message_id


def core_filters(filters: Any) -> list[Any]:
    """TrueNAS query-filters with our field names and ISO times."""
    if not isinstance(filters, list):
        raise InvalidParams([["filters", "Input should be a valid list", errno.EINVAL]])
    return [_filter(item) for item in filters]


def _filter(item: Any) -> Any:
    if isinstance(item, list) and len(item) == 2 and item[0] == "OR" \
            and isinstance(item[1], list):
        return ["OR", [core_filters(branch) if _is_list_of_filters(branch) else _filter(branch)
                       for branch in item[1]]]
    if isinstance(item, list) and len(item) == 3 and isinstance(item[0], str):
        name, operator, value = item
        return [field_name(name), operator, _value(name, value)]
    return item  # malformed: GET /jobs's parser names the problem


def _is_list_of_filters(branch: Any) -> bool:
    return isinstance(branch, list) and all(isinstance(part, list) for part in branch)


def field_name(name: str) -> str:
    return RENAMED.get(name, name)


def _value(name: str, value: Any) -> Any:
    if name not in TIME_FIELDS:
        return value
    if isinstance(value, list):
        return [_time(part) for part in value]
    return _time(value)


def _time(value: Any) -> Any:
    """{"$date": ms} (or a number of seconds, as some clients send) as ISO."""
    if isinstance(value, dict) and set(value) == {"$date"} and isinstance(value["$date"], int):
        seconds = value["$date"] / 1000
    elif isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    else:
        return value
    try:
        return iso(seconds)
    except (OverflowError, OSError, ValueError):
        return value  # out of range: the parser refuses it by name


def order_names(names: list[str]) -> list[str]:
    """order_by entries ("-id", "nulls_last:time_finished") with our names."""
    renamed = []
    for name in names:
        prefix, _, bare = name.rpartition(":")
        descending = bare.startswith("-")
        bare = field_name(bare.removeprefix("-"))
        renamed.append(f"{prefix + ':' if prefix else ''}{'-' if descending else ''}{bare}")
    return renamed
