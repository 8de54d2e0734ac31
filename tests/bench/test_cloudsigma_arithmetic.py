"""The cloudsigma benchmark's arithmetic (issue 20): its rows and checks from
measured calls, the write units anchoring a leaf job to a resource adds, and
the dollars of that leaf job beside the plain one. Pure arithmetic: no moto,
no timing."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from bench import prices as p
from bench.cloudsigma import LISTED, PAGE, build_section, calls_text, extra_units, unit_rows
from bench.cost import (
    ANCHORED_STEPS,
    Usage,
    add_anchored,
    anchored_rows,
    anchored_steps,
    dollars,
    ours_on_express,
    total,
)
from bench.section import Section

WRU = p.DYNAMODB_WRITE_UNIT.dollars


def step(write_units: int, table: int = 1, by_index: dict[str, int] | None = None
         ) -> dict[str, Any]:
    return {"write_units": write_units, "table_units": table, "by_index": by_index or {},
            "writes": []}


INDEXES = {"by_tenant_v2": 1, "by_tenant_state_v2": 1}
UNITS: dict[str, Any] = {
    "plain": {"create": step(3, by_index=INDEXES), "claim": step(3, by_index=INDEXES),
              "progress": step(2, table=2), "finish": step(3, by_index=INDEXES)},
    "anchored": {
        "create": step(4, by_index={**INDEXES, "by_tenant_resource_v2": 1}),
        "claim": step(4, by_index={**INDEXES, "by_tenant_resource_v2": 1}),
        "progress": step(2, table=2),
        "finish": step(4, by_index={**INDEXES, "by_tenant_resource_v2": 1})},
}
# What ours_on_express reads of the calls benchmark's operations.
OPS: dict[str, Any] = {
    "create": {"write_units": 3, "s3_calls": 0},
    "claim": {"write_units": 3},
    "progress_spread": {"write_units": 2},
    "finish": {"write_units": 3},
    "get": {"read_units": 1.0},
}


def call(name: str) -> str:
    return f"dynamodb.{name}"


def measured(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "get_leaf": {"calls": [call("GetItem")], "status": 200},
        "get_parent": {"calls": [call("GetItem"), call("BatchGetItem")], "status": 200,
                       "children": 3},
        "list_page": {"calls": [call("Query"), call("BatchGetItem"), call("Query"),
                                call("BatchGetItem")], "status": 200, "objects": PAGE,
                      "total_count": LISTED},
        "list_all": {"calls": [call("Query"), call("BatchGetItem"), call("BatchGetItem")],
                     "status": 200, "objects": LISTED, "total_count": LISTED},
        "schema": {"calls": [], "status": 200},
        "leaf_units": copy.deepcopy(UNITS),
    }
    base.update(changes)
    return base


def test_calls_are_counted_by_name_in_order_of_first_call() -> None:
    assert calls_text([call("Query"), call("BatchGetItem"), call("Query")]) \
        == "2 Query, BatchGetItem"
    assert calls_text([]) == "none"


def test_anchoring_adds_its_index_writes_per_step() -> None:
    assert extra_units(UNITS) == {"create": 1, "claim": 1, "progress": 0, "finish": 1}
    rows = unit_rows(UNITS)
    assert rows[-1] == {"step": "total", "plain": 11, "plain_indexes": "", "anchored": 14,
                        "anchored_indexes": "", "extra": 3}
    assert rows[0]["anchored_indexes"] == ("by_tenant_resource_v2 1, by_tenant_state_v2 1, "
                                          "by_tenant_v2 1")
    assert rows[2]["plain_indexes"] == "none"


def test_every_check_passes_on_the_expected_figures() -> None:
    section = build_section(measured())
    assert [check.ok for check in section.checks] == [True] * len(section.checks)
    assert len(section.tables) == 2


@pytest.mark.parametrize(("key", "value"), [
    ("get_leaf", {"calls": [call("GetItem"), call("Query")], "status": 200}),
    ("schema", {"calls": [call("GetItem")], "status": 200}),
])
def test_a_request_over_its_budget_fails_its_check(key: str, value: dict[str, Any]) -> None:
    section = build_section(measured(**{key: value}))
    failed = [check.name for check in section.checks if not check.ok]
    assert failed == [f"CloudSigma {key}"]


def test_anchoring_that_grows_the_table_write_fails_its_check() -> None:
    units = copy.deepcopy(UNITS)
    units["anchored"]["finish"] = step(5, table=2, by_index={**INDEXES,
                                                             "by_tenant_resource_v2": 1})
    section = build_section(measured(leaf_units=units))
    failed = [check.name for check in section.checks if not check.ok]
    assert failed == ["anchoring adds only by_tenant_resource writes"]


def test_without_leaf_units_the_section_has_only_the_requests() -> None:
    figures = measured()
    del figures["leaf_units"]
    assert len(build_section(figures).tables) == 1


def test_anchored_steps_add_write_units_to_the_writing_steps_only() -> None:
    steps = ours_on_express(OPS, "progress_spread")
    before = [(name, Usage(**vars(usage))) for name, usage in steps]
    anchored = anchored_steps(steps, {"create": 1, "claim": 1, "progress": 0, "finish": 1})
    assert [u.write_units for _, u in anchored] == [4, 4, 2, 4, 0]
    assert [u.write_units for _, u in steps] == [3, 3, 2, 3, 0]  # the leaf job unchanged
    assert steps == before
    # Nothing but write units moves.
    for (_, plain), (_, with_resource) in zip(steps, anchored, strict=True):
        assert vars(plain) | {"write_units": 0} == vars(with_resource) | {"write_units": 0}
    assert len(ANCHORED_STEPS) == 4


def test_anchored_rows_price_the_extra_write_units() -> None:
    steps = ours_on_express(OPS, "progress_spread")
    rows = anchored_rows(steps, anchored_steps(steps, extra_units(UNITS)))
    whole = rows[-1]
    assert whole["step"] == "total"
    assert (whole["wru"], whole["wru_anchored"], whole["extra_wru"]) == (11, 14, 3)
    assert whole["extra"] == pytest.approx(3 * WRU * 1e6)
    assert whole["total"] == pytest.approx(sum(dollars(total(steps)).values()) * 1e6)
    assert whole["total_anchored"] == pytest.approx(whole["total"] + 3 * WRU * 1e6)
    assert rows[2]["extra"] == 0 and rows[4]["extra_wru"] == 0


def test_cost_prices_the_anchored_leaf_job_when_cloudsigma_ran() -> None:
    section = Section("cost", "t", "h")
    add_anchored(section, Section("cloudsigma", "t", "h", data=measured()), OPS,
                 "progress_spread", 27.0)
    (table,) = section.tables
    assert table.rows[-1]["extra_wru"] == 3
    assert section.data["anchored"]["extra_wru"] == {"create": 1, "claim": 1, "progress": 0,
                                                     "finish": 1}
    assert section.data["anchored"]["twin_matches_calls"] is True
    (note,) = section.notes
    assert "+3 WRU per job" in note and "same units as the calls benchmark" in note


def test_a_twin_unlike_the_calls_leaf_job_is_said() -> None:
    ops = copy.deepcopy(OPS)
    ops["finish"]["write_units"] = 4
    section = Section("cost", "t", "h")
    add_anchored(section, Section("cloudsigma", "t", "h", data=measured()), ops,
                 "progress_spread", 27.0)
    assert section.data["anchored"]["twin_matches_calls"] is False
    assert "not quite the calls benchmark's" in section.notes[0]


@pytest.mark.parametrize("data", [None, {"error": "boom"}, {"get_leaf": {}}])
def test_without_the_cloudsigma_figures_only_a_note(data: dict[str, Any] | None) -> None:
    section = Section("cost", "t", "h")
    add_anchored(section, None if data is None else Section("cloudsigma", "t", "h", data=data),
                 OPS, "progress_spread", 27.0)
    assert section.tables == [] and "anchored" not in section.data
    assert "--only cloudsigma" in section.notes[0]
