"""What a request to the CloudSigma face names: a job's uuid, and a list's
query parameters. Each refusal is CloudSigma's `validation` error naming the
parameter in `error_point` (chalicelib.faces.cloudsigma.envelope).

    limit       jobs in the window: 1 to MAX_LIMIT, or 0 for all of them
                (job_window.MAX_ALL at most); 20 if absent (CloudSigma's
                default_limit)
    offset      jobs skipped first: 0 to MAX_OFFSET
    state       started, success, error, cancelled; a comma means OR
    operation   drive_clone, server_clone, or a method's name; a comma means OR

A parameter given twice counts once per value, as if joined by commas
(limit and offset: refused). Any other name is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from chalice.app import Request

from chalicelib.faces.cloudsigma.envelope import invalid
from chalicelib.faces.cloudsigma.job_shape import OUR_STATES, method_of
from chalicelib.query.filters import AllOf, parse_filters

DEFAULT_LIMIT = 20
MAX_LIMIT = 1000
MAX_OFFSET = 1000
MAX_VALUES = 20  # of one filter
FILTERS = ("state", "operation")
PAGING = ("limit", "offset")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
OPERATION = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:-]{0,99}")


@dataclass(frozen=True)
class ListParams:
    limit: int  # 0: all
    offset: int
    where: AllOf | None  # None: the filters match no job


def job_id_of(uuid: str) -> str | None:
    """A job's uuid in the path (any case); None when it cannot name a job."""
    text = uuid.lower()
    return text if len(text) == 36 and text.isascii() and UUID.fullmatch(text) else None


def list_params(request: Request | None) -> ListParams:
    given = _given(request)
    unknown = sorted(set(given) - set(FILTERS) - set(PAGING))
    if unknown:
        name = unknown[0][:40]
        raise invalid(name, f"unknown parameter {name!r}: filter by "
                            f"{' or '.join(FILTERS)} (a comma means OR), page with limit "
                            "and offset")
    limit = _number(given, "limit", DEFAULT_LIMIT, MAX_LIMIT, "0 (all) to")
    offset = _number(given, "offset", 0, MAX_OFFSET, "0 to")
    return ListParams(limit, offset, _where(given))


def _given(request: Request | None) -> dict[str, list[str]]:
    query: Any = request.query_params if request is not None else None
    if not query:
        return {}
    getlist = getattr(query, "getlist", None)
    return {name: list(getlist(name)) if getlist else [str(query[name])] for name in query}


def _number(given: dict[str, list[str]], name: str, default: int, most: int,
            range_text: str) -> int:
    values = given.get(name)
    if not values:
        return default
    if len(values) > 1:
        raise invalid(name, f"{name} is given {len(values)} times; give it once")
    text = values[0].strip()
    if not text.isascii() or not text.isdigit() or len(text) > 9 or int(text) > most:
        raise invalid(name, f"{name} must be an integer from {range_text} {most}")
    return int(text)


def _values(given: dict[str, list[str]], name: str) -> list[str]:
    values = [part.strip() for value in given.get(name, []) for part in value.split(",")]
    values = [value for value in values if value]
    if name in given and not values:
        raise invalid(name, f"{name} is empty: give one or more values, separated by commas")
    if len(values) > MAX_VALUES:
        raise invalid(name, f"{name} takes at most {MAX_VALUES} values")
    return list(dict.fromkeys(values))


def _where(given: dict[str, list[str]]) -> AllOf | None:
    conditions: list[list[Any]] = []
    states = _values(given, "state")
    if states:
        wrong = [state for state in states if state not in OUR_STATES]
        if wrong:
            raise invalid("state", f"state must be one of {', '.join(OUR_STATES)} "
                                   "(a comma means OR)")
        ours = sorted({ours.value for state in states for ours in OUR_STATES[state]})
        conditions.append(["state", "in", ours])
    operations = _values(given, "operation")
    if operations:
        if not all(OPERATION.fullmatch(operation) for operation in operations):
            raise invalid("operation", "operation must be an operation's name (drive_clone, "
                                       "server_clone) or a method's, e.g. demo.echo")
        methods = sorted({method for operation in operations
                          if (method := method_of(operation)) is not None})
        if not methods:
            return None
        conditions.append(["method", "in", methods])
    return parse_filters(conditions)
