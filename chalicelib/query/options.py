"""TrueNAS query-options `order_by` and `select`: parsing, sorting and projection.

order_by items are field names with optional prefixes, as in TrueNAS:
"-field" sorts descending, and "nulls_first:" / "nulls_last:" (before the
"-", e.g. "nulls_first:-time_finished") place nulls. The first key is the
primary one, as in SQL and TrueNAS's datastore queries. Without a null
prefix, nulls sort as if larger than every value (PostgreSQL's default): last
when ascending, first when descending. (TrueNAS's in-memory sort refuses a
null it was not told where to put; a 400 that depends on the data would be
worse.)

select items are field names, dotted for subfields ("progress.percent"); the
projection nests them back: {"progress": {"percent": 50}}.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.query.fields import SELECTABLE, SORTABLE, value_at
from chalicelib.query.problems import reject

MAX_ORDER_KEYS = 5
MAX_SELECT = 30
NULLS_FIRST = "nulls_first:"
NULLS_LAST = "nulls_last:"
DESCENDING = "-"

SORT_EXAMPLES = ("time_created", "-time_finished", "nulls_first:-time_started", "state")
SELECT_EXAMPLES = ("id", "state", "progress.percent", "result")


@dataclass(frozen=True)
class OrderKey:
    field: str
    descending: bool
    nulls_first: bool


# ---------------------------------------------------------------- order_by


def parse_order_by(items: list[str], path: str = "order_by") -> tuple[OrderKey, ...]:
    """Validate TrueNAS order_by strings into sort keys, primary key first."""
    _check_list(items, path, MAX_ORDER_KEYS, "sort keys")
    keys: list[OrderKey] = []
    for i, item in enumerate(items):
        key = _order_key(item, f"{path}[{i}]")
        if any(seen.field == key.field for seen in keys):
            reject(f"{path}[{i}]", f"sorts by {key.field} a second time")
        keys.append(key)
    return tuple(keys)


def _order_key(item: Any, path: str) -> OrderKey:
    if not isinstance(item, str):
        reject(path, "needs a field name string such as \"-time_created\"")
    rest, nulls_first = _null_placement(item)
    descending = rest.startswith(DESCENDING)
    field = rest.removeprefix(DESCENDING)
    if field not in SORTABLE:
        what = f"cannot sort by {field}" if field in SELECTABLE else "unknown field"
        reject(path, f"{what}; sortable fields include " + ", ".join(SORT_EXAMPLES))
    # Default: nulls are the largest values (PostgreSQL).
    return OrderKey(field, descending, descending if nulls_first is None else nulls_first)


def _null_placement(item: str) -> tuple[str, bool | None]:
    if item.startswith(NULLS_FIRST):
        return item.removeprefix(NULLS_FIRST), True
    if item.startswith(NULLS_LAST):
        return item.removeprefix(NULLS_LAST), False
    return item, None


def sort_records(records: list[dict[str, Any]], keys: tuple[OrderKey, ...]) -> list[dict[str, Any]]:
    """A stable sort by every key, the first key primary.

    Python's sort is stable, so sorting by the last key first and the first
    key last gives the multi-key order, each pass with its own direction and
    null placement.
    """
    ordered = list(records)
    for key in reversed(keys):
        ordered = _sort_by(ordered, key)
    return ordered


def _sort_by(records: list[dict[str, Any]], key: OrderKey) -> list[dict[str, Any]]:
    nulls = [r for r in records if value_at(r, key.field) is None]
    values = [r for r in records if value_at(r, key.field) is not None]
    # reverse=True keeps equal records in their original order (still stable).
    values.sort(key=lambda r: value_at(r, key.field), reverse=key.descending)
    return nulls + values if key.nulls_first else values + nulls


# ---------------------------------------------------------------- select


def parse_select(items: list[str], path: str = "select") -> tuple[str, ...]:
    """Validate select names; a repeated name is kept once, at its first place."""
    _check_list(items, path, MAX_SELECT, "fields")
    chosen: dict[str, None] = {}
    for i, item in enumerate(items):
        if not isinstance(item, str) or item not in SELECTABLE:
            reject(f"{path}[{i}]", "unknown field; selectable fields include "
                                    + ", ".join(SELECT_EXAMPLES))
        chosen.setdefault(item)
    return tuple(chosen)


def project(record: dict[str, Any], select: tuple[str, ...]) -> dict[str, Any]:
    """The selected fields of a record, subfields nested under their parent.

    As in TrueNAS: a field missing from the record is left out, and a subfield
    of a null parent (exc_info.type when exc_info is null) gives the null
    parent. A whole parent selected with one of its subfields wins.
    """
    if not select:
        return record
    whole = frozenset(name for name in select if "." not in name)
    projected: dict[str, Any] = {}
    for name in select:
        parent, _, child = name.partition(".")
        if parent not in record:
            continue
        if not child:
            projected[parent] = record[parent]
        elif parent not in whole:
            _place_subfield(projected, record, parent, child)
    return projected


def _place_subfield(projected: dict[str, Any], record: dict[str, Any], parent: str,
                    child: str) -> None:
    source = record[parent]
    if not isinstance(source, dict):
        projected[parent] = source  # null parent: nothing below it to select
        return
    if child not in source:
        return
    # A fresh dict per parent: never write into the record's own objects.
    target = projected.setdefault(parent, {})
    target[child] = source[child]


# ---------------------------------------------------------------- errors


def _check_list(items: Any, path: str, limit: int, what: str) -> None:
    if not isinstance(items, list):
        reject(path, "needs a list of strings")
    if len(items) > limit:
        reject(path, f"has too many {what} (at most {limit})")




