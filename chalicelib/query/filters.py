"""TrueNAS query-filters: parsed and validated once, then matched against job views.

Syntax (TrueNAS `filter_list`): the filter list is a conjunction; an item is a
condition `[field, operator, value]` or a disjunction `["OR", [branch, ...]]`
whose branches are each a single filter or a list of filters (a conjunction).
ORs nest. TrueNAS has no `AND` connective (a list already is one), so neither
do we.

Semantics follow TrueNAS's `filter_ops.opmap`, with null (None) handled the
way it handles it:

    =  !=            plain equality; null equals only null
    >  >=  <  <=     false when the record value is null
    in               record value is one of the listed values (null matches a listed null)
    nin              record value is not listed; false when the record value is null
    rin  rnin        string contains / does not contain the value (a message_ids
                     list: has / lacks it); both false on null
    ^  !^  $  !$     starts / does not start / ends / does not end with; all false on null
    ~                RE2 regex matched at the start of the value (Python's re.match,
                     like TrueNAS); a null value is matched as the empty string

Times compare as strings: every stored time is fixed-width
"YYYY-MM-DDTHH:MM:SS.mmmZ", and filter times are normalised to that form.

Every error is a BadRequest whose message starts with the JSON path of the
offending part (`filters[1][2]`); values are never echoed back, only field
and operator names (shortened).
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import re2

from chalicelib.query.fields import FILTERABLE, NULLABLE, SELECTABLE, STATES, Kind, value_at
from chalicelib.query.problems import reject

MAX_CONDITIONS = 50
MAX_DEPTH = 5  # ORs nested in ORs; an OR in the top-level list is depth 1
MAX_REGEX_LENGTH = 256
MAX_LIST_VALUES = 100
MAX_STRING_LENGTH = 1024
MAX_TIME_LENGTH = 40

OPERATORS: tuple[str, ...] = (
    "=", "!=", ">", ">=", "<", "<=", "~", "in", "nin", "rin", "rnin", "^", "!^", "$", "!$",
)
EQUALITY = frozenset({"=", "!="})
ORDERING = frozenset({">", ">=", "<", "<="})
MEMBERSHIP = frozenset({"in", "nin"})
CONTAINMENT = frozenset({"rin", "rnin"})
AFFIXES = frozenset({"^", "!^", "$", "!$"})
PREFIXES = frozenset({"^", "!^"})

OPERATORS_BY_KIND: dict[Kind, tuple[str, ...]] = {
    Kind.STRING: OPERATORS,
    Kind.INTEGER: ("=", "!=", ">", ">=", "<", "<=", "in", "nin"),
    Kind.BOOLEAN: ("=", "!=", "in", "nin"),
    # A prefix of a time is a calendar period: ["time_created", "^", "2026-11"].
    Kind.TIME: ("=", "!=", ">", ">=", "<", "<=", "in", "nin", "^", "!^"),
    Kind.STRING_LIST: ("=", "!=", "rin", "rnin"),
}

KIND_NAMES: dict[Kind, str] = {
    Kind.STRING: "a string",
    Kind.INTEGER: "an integer",
    Kind.BOOLEAN: "true or false",
    Kind.TIME: "an ISO 8601 time such as 2026-11-23T04:36:22.026Z or 2026-11-23",
    Kind.STRING_LIST: "a list of strings",
}

# What a prefix of a stored time may look like, digit by digit ("0" = any digit).
TIME_TEMPLATE = "0000-00-00T00:00:00.000Z"
DIGITS = frozenset("0123456789")

# Shown in "unknown field" errors; the full list is in the API documentation.
FIELD_EXAMPLES = ("id", "method", "state", "time_created", "progress.percent", "user_id")


# ---------------------------------------------------------------- the tree


@dataclass(frozen=True)
class Condition:
    """One `[field, operator, value]`, with its value already validated and normalised
    (times in stored form, lists as tuples)."""

    field: str
    op: str
    value: Any
    # The compiled RE2 pattern of a `~` condition: compiled once, here.
    regex: Any = dataclasses.field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.op == "~":
            object.__setattr__(self, "regex", compile_regex(self.value))

    def matches(self, record: dict[str, Any]) -> bool:
        return EVALUATORS[self.op](value_at(record, self.field), self)

    def fields(self) -> frozenset[str]:
        return frozenset({self.field})


@dataclass(frozen=True)
class AnyOf:
    """A TrueNAS `["OR", [...]]`: true when any branch is."""

    branches: tuple[AllOf, ...]

    def matches(self, record: dict[str, Any]) -> bool:
        return any(branch.matches(record) for branch in self.branches)

    def fields(self) -> frozenset[str]:
        return frozenset().union(*(branch.fields() for branch in self.branches))


@dataclass(frozen=True)
class AllOf:
    """A list of filters: true when every item is (so an empty one matches everything)."""

    items: tuple[Condition | AnyOf, ...]

    def matches(self, record: dict[str, Any]) -> bool:
        return all(item.matches(record) for item in self.items)

    def fields(self) -> frozenset[str]:
        return frozenset().union(*(item.fields() for item in self.items))

    def conditions(self) -> tuple[Condition, ...]:
        """The top-level conditions: each one alone must hold for every match."""
        return tuple(item for item in self.items if isinstance(item, Condition))


# ---------------------------------------------------------------- evaluation


def _equals(actual: Any, condition: Condition) -> bool:
    expected = condition.value
    if isinstance(expected, tuple):  # a whole message_ids list
        return isinstance(actual, list) and tuple(actual) == expected
    return bool(actual == expected)


def _not_equals(actual: Any, condition: Condition) -> bool:
    return not _equals(actual, condition)


def _ordering(compare: Callable[[Any, Any], bool]) -> Callable[[Any, Condition], bool]:
    def evaluate(actual: Any, condition: Condition) -> bool:
        # Python cannot order None (TrueNAS would fail); like SQL, no match.
        if actual is None:
            return False
        try:
            return compare(actual, condition.value)
        except TypeError:  # a stored value of an unexpected type never matches
            return False

    return evaluate


def _is_in(actual: Any, condition: Condition) -> bool:
    return actual in condition.value


def _not_in(actual: Any, condition: Condition) -> bool:
    return actual is not None and actual not in condition.value


def _contains(actual: Any, condition: Condition) -> bool:
    return isinstance(actual, str | list) and condition.value in actual


def _lacks(actual: Any, condition: Condition) -> bool:
    return isinstance(actual, str | list) and condition.value not in actual


def _affix(test: Callable[[str, str], bool]) -> Callable[[Any, Condition], bool]:
    def evaluate(actual: Any, condition: Condition) -> bool:
        return isinstance(actual, str) and test(actual, condition.value)

    return evaluate


def _regex(actual: Any, condition: Condition) -> bool:
    # TrueNAS matches a null as "" so that nullable strings do not fail.
    text = "" if actual is None else actual
    return isinstance(text, str) and condition.regex.match(text) is not None


EVALUATORS: dict[str, Callable[[Any, Condition], bool]] = {
    "=": _equals,
    "!=": _not_equals,
    ">": _ordering(lambda a, b: a > b),
    ">=": _ordering(lambda a, b: a >= b),
    "<": _ordering(lambda a, b: a < b),
    "<=": _ordering(lambda a, b: a <= b),
    "~": _regex,
    "in": _is_in,
    "nin": _not_in,
    "rin": _contains,
    "rnin": _lacks,
    "^": _affix(str.startswith),
    "!^": _affix(lambda text, prefix: not text.startswith(prefix)),
    "$": _affix(str.endswith),
    "!$": _affix(lambda text, suffix: not text.endswith(suffix)),
}


# ---------------------------------------------------------------- regexes


def _re2_options() -> Any:
    options = re2.Options()
    options.log_errors = False  # a client's bad pattern is a 400, not a log line
    return options


RE2_OPTIONS = _re2_options()


@functools.lru_cache(maxsize=256)
def compile_regex(pattern: str) -> Any:
    """RE2 runs in linear time whatever the pattern, so a client cannot stall us."""
    return re2.compile(pattern, RE2_OPTIONS)


def _regex_problem(error: Exception) -> str:
    reason = error.args[0] if error.args else ""
    if isinstance(reason, bytes):
        reason = reason.decode("utf-8", "replace")
    reason = str(reason)
    if reason.startswith("invalid escape sequence: \\") and reason[-1:] in DIGITS:
        return "backreferences are not supported (regexes use RE2 syntax)"
    if reason.startswith("invalid perl operator: (?"):
        return "lookahead and lookbehind are not supported (regexes use RE2 syntax)"
    # RE2 says "<what>: <part of the pattern>"; keep the what, not the pattern.
    what = reason.partition(":")[0][:80]
    return f"invalid regex ({what}; regexes use RE2 syntax)"


# ---------------------------------------------------------------- parsing


def parse_filters_json(text: str) -> AllOf:
    """Parse the `filters` query parameter: a JSON list of TrueNAS filters."""
    try:
        raw = json.loads(text)
    except (ValueError, RecursionError) as error:
        reject("filters", f"is not valid JSON ({_json_problem(error)})")
    return parse_filters(raw)


def parse_filters(raw: Any, path: str = "filters") -> AllOf:
    """Validate a decoded TrueNAS filter list and build its tree."""
    if not isinstance(raw, list):
        reject(path, "must be a list of filters, e.g. [[\"state\", \"=\", \"RUNNING\"]]")
    return _Parser().conjunction(raw, path, depth=0)


def _json_problem(error: Exception) -> str:
    if isinstance(error, json.JSONDecodeError):
        return f"{error.msg} at line {error.lineno} column {error.colno}"
    if isinstance(error, RecursionError):
        return "nested too deeply"
    return "unreadable number or text"


class _Parser:
    """One walk over a filter list; counts conditions across the whole list."""

    def __init__(self) -> None:
        self.condition_count = 0

    def conjunction(self, raw: list[Any], path: str, depth: int) -> AllOf:
        return AllOf(tuple(self.filter(item, f"{path}[{i}]", depth) for i, item in enumerate(raw)))

    def filter(self, raw: Any, path: str, depth: int) -> Condition | AnyOf:
        if not isinstance(raw, list):
            reject(path, _not_a_filter(raw))
        if len(raw) == 3:
            return self.condition(raw, path)
        if len(raw) == 2:
            return self.disjunction(raw, path, depth + 1)
        reject(path, "must be [field, operator, value] or [\"OR\", [branch, ...]]")

    def disjunction(self, raw: list[Any], path: str, depth: int) -> AnyOf:
        connective, branches = raw
        if connective == "AND":
            reject(f"{path}[0]", "AND is not supported: list the filters side by side "
                                  "(a filter list is already a conjunction), as in TrueNAS")
        if connective != "OR":
            reject(f"{path}[0]", "a 2-item filter must be [\"OR\", [branch, ...]]")
        if depth > MAX_DEPTH:
            reject(path, f"ORs are nested too deeply (at most {MAX_DEPTH} levels)")
        if not isinstance(branches, list) or not branches:
            reject(f"{path}[1]", "OR needs a non-empty list of branches")
        return AnyOf(tuple(
            self.branch(branch, f"{path}[1][{j}]", depth) for j, branch in enumerate(branches)
        ))

    def branch(self, raw: Any, path: str, depth: int) -> AllOf:
        """An OR branch: one filter, or a list of filters that must all hold."""
        if not isinstance(raw, list) or not raw:
            reject(path, "an OR branch must be a filter or a non-empty list of filters")
        if isinstance(raw[0], list):
            return self.conjunction(raw, path, depth)
        return AllOf((self.filter(raw, path, depth),))

    def condition(self, raw: list[Any], path: str) -> Condition:
        self.condition_count += 1
        if self.condition_count > MAX_CONDITIONS:
            reject(path, f"too many conditions (at most {MAX_CONDITIONS} in all)")
        field, op, value = raw
        kind = _check_field(field, f"{path}[0]")
        _check_operator(field, kind, op, f"{path}[1]")
        return Condition(field, op, _checked_value(field, kind, op, value, f"{path}[2]"))


def _not_a_filter(raw: Any) -> str:
    if isinstance(raw, str):
        return ("must be a filter list such as [\"state\", \"=\", \"RUNNING\"]; "
                "a single filter still goes inside the outer list")
    return "must be a filter list [field, operator, value] or [\"OR\", [branch, ...]]"


def _check_field(field: Any, path: str) -> Kind:
    if isinstance(field, str) and field in FILTERABLE:
        return FILTERABLE[field]
    if isinstance(field, str) and field in SELECTABLE:
        reject(path, f"field {field} cannot be filtered on "
                      "(it may hold secrets or large values)")
    examples = ", ".join(FIELD_EXAMPLES)
    reject(path, f"unknown field; filterable fields include {examples}")


def _check_operator(field: str, kind: Kind, op: Any, path: str) -> None:
    if not isinstance(op, str) or op not in OPERATORS:
        hint = ""
        if isinstance(op, str) and op[:1] == "C" and op[1:] in OPERATORS:
            hint = " (case-insensitive C-operators are not supported)"
        reject(path, f"unknown operator{hint}; known operators: "
                      + " ".join(OPERATORS))
    allowed = OPERATORS_BY_KIND[kind]
    if op not in allowed:
        reject(path, f"operator {op} does not apply to {field} ({KIND_NAMES[kind]}); "
                      f"use one of: {' '.join(allowed)}")


# ---------------------------------------------------------------- values


def _checked_value(field: str, kind: Kind, op: str, value: Any, path: str) -> Any:
    """The value, validated for this field and operator, in the form evaluation uses."""
    if op in EQUALITY and value is None:
        if field not in NULLABLE:
            reject(path, f"{field} is never null, so null cannot match")
        return None
    if op in MEMBERSHIP:
        return _value_list(field, kind, value, path)
    if op in CONTAINMENT:
        return _bounded_string(value, path)
    if op == "~":
        return _regex_pattern(value, path)
    if op in AFFIXES:
        return _time_prefix(value, path) if kind is Kind.TIME else _bounded_string(value, path)
    return _scalar(field, kind, value, path)


def _value_list(field: str, kind: Kind, value: Any, path: str) -> tuple[Any, ...]:
    if not isinstance(value, list):
        reject(path, f"needs a list of values, each {KIND_NAMES[kind]}")
    if len(value) > MAX_LIST_VALUES:
        reject(path, f"lists at most {MAX_LIST_VALUES} values")
    return tuple(_member(field, kind, item, f"{path}[{k}]") for k, item in enumerate(value))


def _member(field: str, kind: Kind, item: Any, path: str) -> Any:
    if item is None:
        if field not in NULLABLE:
            reject(path, f"{field} is never null, so null cannot match")
        return None
    return _scalar(field, kind, item, path)


def _scalar(field: str, kind: Kind, value: Any, path: str) -> Any:
    """One value of the field's own type (=, !=, ordering, and members of in/nin)."""
    if kind is Kind.INTEGER:
        return _integer(value, path)
    if kind is Kind.BOOLEAN:
        if not isinstance(value, bool):
            reject(path, f"{field} needs true or false")
        return value
    if kind is Kind.TIME:
        return canonical_time(value, path)
    if kind is Kind.STRING_LIST:
        return _string_list(value, path)
    text = _bounded_string(value, path)
    if field == "state" and text not in STATES:
        reject(path, f"state must be one of {', '.join(STATES)}")
    return text


def _integer(value: Any, path: str) -> int:
    # JSON true/false decode to bool, a subclass of int: not an integer here.
    if isinstance(value, bool) or not isinstance(value, int):
        reject(path, "needs an integer")
    return value


def _bounded_string(value: Any, path: str) -> str:
    if not isinstance(value, str):
        reject(path, "needs a string")
    if len(value) > MAX_STRING_LENGTH:
        reject(path, f"is too long (at most {MAX_STRING_LENGTH} characters)")
    return value


def _string_list(value: Any, path: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        reject(path, "needs a list of strings")
    if len(value) > MAX_LIST_VALUES:
        reject(path, f"lists at most {MAX_LIST_VALUES} values")
    return tuple(_bounded_string(item, f"{path}[{k}]") for k, item in enumerate(value))


def _regex_pattern(value: Any, path: str) -> str:
    if not isinstance(value, str):
        reject(path, "needs a regex string")
    if len(value) > MAX_REGEX_LENGTH:
        reject(path, f"regex is too long (at most {MAX_REGEX_LENGTH} characters)")
    try:
        compile_regex(value)
    except re2.error as error:
        reject(path, _regex_problem(error))
    return value


def canonical_time(value: Any, path: str) -> str:
    """An ISO 8601 time as stored: "YYYY-MM-DDTHH:MM:SS.mmmZ" in UTC.

    Accepts anything `datetime.fromisoformat` does ("2026-11-23",
    "2026-11-23T04:36Z", "2026-11-23T06:36:22.5+02:00", ...); a time without
    an offset is taken as UTC, like every time of this API. More than
    millisecond precision is refused: stored times have milliseconds, and
    rounding would make `>=` and `<` wrong at the boundary.
    """
    example = KIND_NAMES[Kind.TIME]
    if not isinstance(value, str) or len(value) > MAX_TIME_LENGTH:
        reject(path, f"needs {example}")
    try:
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is not None:
            parsed = parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        reject(path, f"is not a valid time; use {example}")
    if parsed.microsecond % 1000:
        reject(path, "has more than millisecond precision")
    return (f"{parsed.year:04d}-{parsed.month:02d}-{parsed.day:02d}T"
            f"{parsed.hour:02d}:{parsed.minute:02d}:{parsed.second:02d}."
            f"{parsed.microsecond // 1000:03d}Z")


def _time_prefix(value: Any, path: str) -> str:
    """A leading part of a stored time ("2026-11", "2026-11-23T04"), compared as text."""
    if not isinstance(value, str) or not _fits_time_template(value):
        reject(path, "needs the start of a time in the stored form "
                      f"{TIME_TEMPLATE.replace('0', 'D')}, e.g. 2026-11 or 2026-11-23T04")
    return value


def _fits_time_template(text: str) -> bool:
    if len(text) > len(TIME_TEMPLATE):
        return False
    return all(
        char in DIGITS if slot == "0" else char == slot
        for char, slot in zip(text, TIME_TEMPLATE, strict=False)
    )


# ---------------------------------------------------------------- errors




