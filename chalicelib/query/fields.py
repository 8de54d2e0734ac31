"""Which job-view fields a query may filter on, sort by and select, and how to
read a dotted field out of a job view.

Filterable fields are the small, typed, non-secret ones. `arguments`,
`result`, `exception`, `logs_excerpt` and `progress.extra` can be large or
carry secrets, so a filter must not probe them (a regex on a redacted value
would leak by timing or by match/no-match); they can still be selected.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from chalicelib.states import JobState


class Kind(StrEnum):
    """The type of a filterable field, which decides the operators and values allowed."""

    STRING = "string"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    TIME = "time"  # ISO 8601 UTC, fixed width "YYYY-MM-DDTHH:MM:SS.mmmZ"
    STRING_LIST = "string_list"


FILTERABLE: dict[str, Kind] = {
    "id": Kind.STRING,
    "number": Kind.INTEGER,
    "method": Kind.STRING,
    "description": Kind.STRING,
    "transient": Kind.BOOLEAN,
    "abortable": Kind.BOOLEAN,
    "state": Kind.STRING,
    "progress.percent": Kind.INTEGER,
    "progress.description": Kind.STRING,
    "result_encoding_error": Kind.STRING,
    "error": Kind.STRING,
    "exc_info.type": Kind.STRING,
    "exc_info.errno": Kind.INTEGER,
    "exc_info.repr": Kind.STRING,
    "logs_path": Kind.STRING,
    "message_ids": Kind.STRING_LIST,
    "time_created": Kind.TIME,
    "time_started": Kind.TIME,
    "time_finished": Kind.TIME,
    "time_updated": Kind.TIME,
    "tenant_id": Kind.STRING,
    "user_id": Kind.STRING,
    "parent_id": Kind.STRING,
    "root_id": Kind.STRING,
    "resource": Kind.STRING,  # the first resource, <type>:<id>
}

# The filterable fields a job view may hold as null (exc_info.* are null
# whenever exc_info itself is). Only these accept a null filter value.
NULLABLE: frozenset[str] = frozenset({
    "number",  # jobs created before numbers were given
    "description",
    "progress.percent",
    "progress.description",
    "result_encoding_error",
    "error",
    "exc_info.type",
    "exc_info.errno",
    "exc_info.repr",
    "logs_path",
    "time_started",
    "time_finished",
    "user_id",
    "parent_id",
    "root_id",
    "resource",
})

TOP_LEVEL_FIELDS: tuple[str, ...] = (
    "id", "number", "method", "arguments", "description", "transient", "abortable", "state",
    "progress", "result", "result_encoding_error", "error", "exception", "exc_info",
    "logs_path", "logs_excerpt", "message_ids", "time_created", "time_started",
    "time_finished", "time_updated", "tenant_id", "user_id", "parent_id", "root_id",
    "resources", "resource",
)

SELECTABLE: frozenset[str] = frozenset(TOP_LEVEL_FIELDS) | {
    "progress.percent",
    "progress.description",
    "progress.extra",
    "exc_info.repr",
    "exc_info.type",
    "exc_info.errno",
    "exc_info.extra",
}

# A list has no natural order, so message_ids cannot be a sort key.
SORTABLE: frozenset[str] = frozenset(FILTERABLE) - {"message_ids"}

STATES: tuple[str, ...] = tuple(state.value for state in JobState)


def value_at(record: dict[str, Any], dotted: str) -> Any:
    """The value at a dotted path ("progress.percent"), or None when any step
    is missing, None or not an object."""
    current: Any = record
    for step in dotted.split("."):
        if not isinstance(current, dict):
            return None
        current = current.get(step)
    return current
