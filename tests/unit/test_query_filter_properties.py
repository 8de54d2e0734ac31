"""Random filters on random job views agree with a second, naive evaluator.

The reference below is written from the documented semantics alone (TrueNAS
`filter_ops`, see chalicelib/query/filters.py's docstring) and shares no code
with the module: it reads fields by hand, canonicalises times from its own
table, and runs regexes with Python's `re` (the pattern pool is plain enough
that `re` and RE2 agree on it).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.query.filters import parse_filters

# ---------------------------------------------------------------- value pools

STATES = ["WAITING", "RUNNING", "SUCCESS", "FAILED", "ABORTED"]

MOMENTS = [
    datetime(2026, 11, 23, 0, 0, 0, tzinfo=UTC),
    datetime(2026, 11, 23, 4, 36, 22, 26_000, tzinfo=UTC),
    datetime(2026, 11, 23, 4, 36, 22, 27_000, tzinfo=UTC),
    datetime(2026, 12, 1, 13, 5, 0, tzinfo=UTC),
]


def stored(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def spellings(moment: datetime) -> list[str]:
    """Other ways a client may write the same instant."""
    plus_two = moment.astimezone(UTC).replace(tzinfo=None) + timedelta(hours=2)
    forms = [stored(moment), plus_two.isoformat(timespec="milliseconds") + "+02:00"]
    if moment.microsecond == 0:
        forms.append(moment.strftime("%Y-%m-%dT%H:%M:%SZ"))
    if moment.time() == datetime.min.time():
        forms.append(moment.strftime("%Y-%m-%d"))
    return forms


STORED_TIMES = [stored(m) for m in MOMENTS]
# Every spelling a generated filter may use, and the stored form it stands for.
CANONICAL = {form: stored(m) for m in MOMENTS for form in spellings(m)}
TIME_PREFIXES = ["2026", "2026-11", "2026-11-23", "2026-11-23T04:36:22.02", "2026-12-01T1", ""]

STRINGS: dict[str, list[str | None]] = {
    "id": ["j-1", "j-2", "j-10"],
    "method": ["pool.scrub", "pool.query", "disk.wipe"],
    "description": [None, "Scrub tank", "scrub", "", "tank"],
    "state": [*STATES],
    "progress.description": [None, "scanning", "done"],
    "result_encoding_error": [None, "not JSON"],
    "error": [None, "boom", "Boom!", ""],
    "exc_info.type": [None, "OSError", "ValueError"],
    "exc_info.repr": [None, "OSError(5)"],
    "logs_path": [None, "s3://logs/j-1"],
    "tenant_id": ["t-1", "t-2"],
    "user_id": [None, "u-1", "u-2"],
    "parent_id": [None, "j-1"],
    "root_id": [None, "j-1", "j-2"],
}
INTEGERS: dict[str, list[int | None]] = {
    "progress.percent": [None, 0, 40, 100],
    "exc_info.errno": [None, 2, 5],
}
BOOLEANS = ["transient", "abortable"]
TIMES = {"time_created": False, "time_started": True, "time_finished": True,
         "time_updated": False}  # field -> nullable
MESSAGE_IDS = ["m-1", "m-2", "m-3"]

FRAGMENTS = ["", "s", "tank", "Scr", "pool.", ".scrub", "u-", "1", "boom", "-", "OSError"]
# Several only match further in (tank, rub, Error, 1): they tell match from search.
# Some match the empty string, which a null is matched as.
REGEXES = ["", "Scr", "s.*b", ".*tank$", "tank", "rub", "[Bb]oom", "^$", "x|scrub", "(a+)+$",
           "j-1", r".*\d", "Error", "1", ".*", "x*"]

FIELD_KINDS: dict[str, str] = {
    **dict.fromkeys(STRINGS, "string"),
    **dict.fromkeys(INTEGERS, "integer"),
    **dict.fromkeys(BOOLEANS, "boolean"),
    **dict.fromkeys(TIMES, "time"),
    "message_ids": "string_list",
}
OPERATORS_BY_KIND = {
    "string": ["=", "!=", ">", ">=", "<", "<=", "~", "in", "nin", "rin", "rnin",
               "^", "!^", "$", "!$"],
    "integer": ["=", "!=", ">", ">=", "<", "<=", "in", "nin"],
    "boolean": ["=", "!=", "in", "nin"],
    "time": ["=", "!=", ">", ">=", "<", "<=", "in", "nin", "^", "!^"],
    "string_list": ["=", "!=", "rin", "rnin"],
}
NULLABLE_STRINGS = {name for name, pool in STRINGS.items() if None in pool}

# ---------------------------------------------------------------- records


def nullable_time() -> st.SearchStrategy[str | None]:
    return st.one_of(st.none(), st.sampled_from(STORED_TIMES))


@st.composite
def job_views(draw: st.DrawFn) -> dict[str, Any]:
    def pick(pool: list[Any]) -> Any:
        return draw(st.sampled_from(pool))

    exc_info = draw(st.one_of(st.none(), st.fixed_dictionaries({
        "repr": st.sampled_from(STRINGS["exc_info.repr"]),
        "type": st.sampled_from(STRINGS["exc_info.type"]),
        "errno": st.sampled_from(INTEGERS["exc_info.errno"]),
        "extra": st.none(),
    })))
    return {
        "id": pick(STRINGS["id"]),
        "method": pick(STRINGS["method"]),
        "arguments": {"pool": "tank"},
        "description": pick(STRINGS["description"]),
        "transient": draw(st.booleans()),
        "abortable": draw(st.booleans()),
        "state": pick(STATES),
        "progress": {"percent": pick(INTEGERS["progress.percent"]),
                     "description": pick(STRINGS["progress.description"]), "extra": None},
        "result": None,
        "result_encoding_error": pick(STRINGS["result_encoding_error"]),
        "error": pick(STRINGS["error"]),
        "exception": None,
        "exc_info": exc_info,
        "logs_path": pick(STRINGS["logs_path"]),
        "logs_excerpt": None,
        "message_ids": draw(st.lists(st.sampled_from(MESSAGE_IDS), max_size=3, unique=True)),
        "time_created": pick(STORED_TIMES),
        "time_started": draw(nullable_time()),
        "time_finished": draw(nullable_time()),
        "time_updated": pick(STORED_TIMES),
        "tenant_id": pick(STRINGS["tenant_id"]),
        "user_id": pick(STRINGS["user_id"]),
        "parent_id": pick(STRINGS["parent_id"]),
        "root_id": pick(STRINGS["root_id"]),
    }


def corner_record(k: int) -> dict[str, Any]:
    """The k-th value of every pool: k=0 is null wherever a field may be null,
    and k=0..4 between them hold every pool value."""

    def kth(pool: list[Any]) -> Any:
        return pool[k % len(pool)]

    record: dict[str, Any] = {name: kth(pool) for name, pool in STRINGS.items() if "." not in name}
    record.update({
        "arguments": {}, "result": None, "exception": None, "logs_excerpt": None,
        "transient": k % 2 == 1, "abortable": k % 2 == 0,
        "progress": {"percent": kth(INTEGERS["progress.percent"]),
                     "description": kth(STRINGS["progress.description"]), "extra": None},
        "exc_info": None if k % 2 == 0 else {
            "repr": kth(STRINGS["exc_info.repr"][1:]), "type": kth(STRINGS["exc_info.type"]),
            "errno": kth(INTEGERS["exc_info.errno"]), "extra": None},
        "message_ids": MESSAGE_IDS[:k % 4],
    })
    for name, nullable in TIMES.items():
        record[name] = kth([None, *STORED_TIMES] if nullable else STORED_TIMES)
    return record


# Checked with every example besides the random records, so that each filter
# also meets nulls and every pool value.
CORNER_RECORDS = [corner_record(k) for k in range(5)]


# ---------------------------------------------------------------- filters


def whole_values(field: str, kind: str, allow_null: bool) -> st.SearchStrategy[Any]:
    """A value of the field's own type, as a client would write it."""
    pool: list[Any]
    if kind == "string":
        pool = [v for v in STRINGS[field] if v is not None] + ([] if field == "state" else ["zz"])
        nullable = field in NULLABLE_STRINGS
    elif kind == "integer":
        pool = [v for v in INTEGERS[field] if v is not None] + [-1, 41]
        nullable = True
    elif kind == "boolean":
        pool, nullable = [True, False], False
    elif kind == "time":
        pool, nullable = list(CANONICAL), TIMES[field]
    else:
        return st.lists(st.sampled_from(MESSAGE_IDS), max_size=3, unique=True)
    return st.sampled_from([*pool, None] if allow_null and nullable else pool)


def fragments_of(field: str) -> list[str]:
    """Pieces of the field's own values (and a few others), so that contains,
    starts-with, ends-with and regex filters often hit."""
    pieces = set(FRAGMENTS)
    for value in STRINGS[field]:
        if value:
            pieces |= {value[:2], value[-3:], value[1:4]}
    return sorted(pieces)


def regexes_for(field: str) -> list[str]:
    return REGEXES + [re.escape(piece) for piece in fragments_of(field)]


ALL_OPERATORS = OPERATORS_BY_KIND["string"]


@st.composite
def conditions(draw: st.DrawFn, operators: tuple[str, ...] = tuple(ALL_OPERATORS)) -> list[Any]:
    # Operator first, so that each operator is drawn as often as any other.
    op = draw(st.sampled_from(operators))
    fields = sorted(f for f, kind in FIELD_KINDS.items() if op in OPERATORS_BY_KIND[kind])
    field = draw(st.sampled_from(fields))
    kind = FIELD_KINDS[field]
    if op in ("=", "!="):
        value = draw(whole_values(field, kind, allow_null=True))
    elif op in ("in", "nin"):
        value = draw(st.lists(whole_values(field, kind, allow_null=True), max_size=4))
    elif op in (">", ">=", "<", "<="):
        value = draw(whole_values(field, kind, allow_null=False))
    elif op == "~":
        value = draw(st.sampled_from(regexes_for(field)))
    elif kind == "time":
        value = draw(st.sampled_from(TIME_PREFIXES))
    elif kind == "string_list":
        value = draw(st.sampled_from([*MESSAGE_IDS, "m-9"]))
    else:
        value = draw(st.sampled_from(fragments_of(field)))
    return [field, op, value]


def filters_up_to(depth: int) -> st.SearchStrategy[list[Any]]:
    """A condition, or an OR (nested up to `depth`) of single-filter and list branches.

    Sizes are kept small so that even the largest tree stays within 50 conditions.
    """
    if depth == 0:
        return conditions()
    inner = filters_up_to(depth - 1)
    branch = st.one_of(inner, st.lists(inner, min_size=1, max_size=2))
    disjunction = st.lists(branch, min_size=1, max_size=2).map(lambda bs: ["OR", bs])
    return st.one_of(conditions(), disjunction)


# Never empty: the empty list is a unit test, and would take a share of the examples.
filter_lists = st.lists(filters_up_to(2), min_size=1, max_size=3)

# ---------------------------------------------------------------- the reference


def read(record: dict[str, Any], dotted: str) -> Any:
    head, _, tail = dotted.partition(".")
    value = record.get(head)
    if tail:
        return None if value is None else value.get(tail)
    return value


def as_stored(field: str, value: Any) -> Any:
    if FIELD_KINDS[field] == "time" and isinstance(value, str):
        return CANONICAL[value]
    return value


def reference_condition(record: dict[str, Any], field: str, op: str, value: Any) -> bool:
    x = read(record, field)
    if op in ("in", "nin"):
        values = [as_stored(field, v) for v in value]
        if op == "in":
            return x in values
        return x is not None and x not in values
    if op in ("^", "!^", "$", "!$", "~", "rin", "rnin"):
        if op == "~":
            return re.match(value, "" if x is None else x) is not None
        if x is None:
            return False
        if op == "^":
            return x.startswith(value)
        if op == "!^":
            return not x.startswith(value)
        if op == "$":
            return x.endswith(value)
        if op == "!$":
            return not x.endswith(value)
        if op == "rin":
            return value in x
        return value not in x
    y = as_stored(field, value)
    if op == "=":
        return x == y
    if op == "!=":
        return x != y
    if x is None:
        return False
    if op == ">":
        return x > y
    if op == ">=":
        return x >= y
    if op == "<":
        return x < y
    return x <= y


def reference_filter(record: dict[str, Any], item: list[Any]) -> bool:
    if len(item) == 3:
        return reference_condition(record, *item)
    for branch in item[1]:
        if isinstance(branch[0], list):
            if all(reference_filter(record, f) for f in branch):
                return True
        elif reference_filter(record, branch):
            return True
    return False


def reference(record: dict[str, Any], filters: list[Any]) -> bool:
    return all(reference_filter(record, item) for item in filters)


def fields_in(filters: list[Any]) -> set[str]:
    found: set[str] = set()
    for item in filters:
        if len(item) == 3:
            found.add(item[0])
            continue
        for branch in item[1]:
            found |= fields_in(branch if isinstance(branch[0], list) else [branch])
    return found


# ---------------------------------------------------------------- properties


@settings(max_examples=200, deadline=None)
@given(filters=filter_lists, records=st.lists(job_views(), min_size=1, max_size=5))
def test_matches_agrees_with_the_reference_evaluator(
    filters: list[Any], records: list[dict[str, Any]]
) -> None:
    where = parse_filters(filters)

    for record in records + CORNER_RECORDS:
        assert where.matches(record) is reference(record, filters)


@settings(max_examples=50, deadline=None)
@given(filters=filter_lists)
def test_fields_are_every_field_named_in_the_filters(filters: list[Any]) -> None:
    assert parse_filters(filters).fields() == fields_in(filters)


@pytest.mark.parametrize("op", ALL_OPERATORS)
@settings(max_examples=20, deadline=None)
@given(data=st.data(), records=st.lists(job_views(), min_size=1, max_size=5))
def test_each_operator_agrees_with_the_reference(
    op: str, data: st.DataObject, records: list[dict[str, Any]]
) -> None:
    # One run per operator: hypothesis alone draws some operators too rarely.
    condition = data.draw(conditions(operators=(op,)))
    where = parse_filters([condition])

    for record in records + CORNER_RECORDS:
        assert where.matches(record) is reference(record, [condition])
