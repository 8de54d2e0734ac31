"""The cascade benchmark's bookkeeping, without running it: who made which
call, request units of a transaction, the price of a cancel, and --merge."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bench import cascade, cost, prices
from bench.counting import Call
from bench.dynamo_units import Index, TableShape, multi_write_units
from bench.section import Section

PARENT = "p"
SHAPE = TableShape(keys=("id",), indexes=(Index("by_state", ("state",), "KEYS_ONLY"),))


def call(label: str, operation: str, started: float, status: int = 200,
         service: str = "dynamodb", **images: Any) -> Call:
    return Call(service=service, operation=operation, label=label, thread="t", started=started,
                seconds=0.001, status=status, **images)


def test_split_tells_the_api_the_cascade_and_each_child_apart() -> None:
    calls = [
        call(cascade.API, "GetItem", 0.0),
        call(cascade.API, "UpdateItem", 0.1),
        call(cascade.API, "SendTaskSuccess", 0.2, service="stepfunctions"),
        call(f"finish:{PARENT}", "BatchGetItem", 0.3),
        call(f"finish:{PARENT}", "TransactWriteItems", 0.4),
        call(f"finish:{PARENT}", "TransactWriteItems", 0.5),
        # child a: one ordinary report, then the refused one, then its release
        call("run:a", "UpdateItem", 0.35),
        call("run:a", "UpdateItem", 0.9, status=400),
        call("run:a", "UpdateItem", 1.0),
        # child b: learns at once (listed out of order: sorted by start)
        call("run:b", "UpdateItem", 1.2),
        call("run:b", "UpdateItem", 1.1, status=400),
        call(cascade.OTHER, "UpdateItem", 0.6),
        call(cascade.BENCH, "GetItem", 0.25),
    ]

    kinds = cascade.split(calls, PARENT)
    counts = cascade.call_counts(kinds, children=2)

    by_kind = counts["by_kind"]
    assert by_kind[cascade.API] == {"dynamodb:GetItem": 1, "dynamodb:UpdateItem": 1,
                                    "stepfunctions:SendTaskSuccess": 1}
    assert by_kind[cascade.CASCADE] == {"dynamodb:BatchGetItem": 1,
                                        "dynamodb:TransactWriteItems": 2}
    assert by_kind[cascade.LEARNS] == {"dynamodb:UpdateItem": 2}
    assert by_kind[cascade.AFTER] == {"dynamodb:UpdateItem": 2}
    assert by_kind[cascade.ORDINARY] == {"dynamodb:UpdateItem": 1}
    assert by_kind[cascade.OTHER] == {"dynamodb:UpdateItem": 1}
    assert counts["caused_total"] == 3 + 3 + 2 + 2  # not the ordinary, other or bench calls
    assert counts["caused_per_child"] == 5.0
    assert counts["children_that_learnt"] == 2


def test_a_transaction_pays_double_for_its_table_writes_only() -> None:
    before = {"id": {"S": "c"}, "state": {"S": "RUNNING"}}
    after = {"id": {"S": "c"}, "state": {"S": "ABORTED"}}
    parent = {"id": {"S": "p"}, "n": {"N": "1"}}

    # child: 2 x 1 table + 2 (delete+put in by_state); parent: 2 x 1 table, not in the index
    assert multi_write_units("TransactWriteItems", [(before, after), (parent, parent)],
                             SHAPE) == 4 + 2


def cascade_counts(children: int) -> dict[str, Any]:
    by_kind = {
        cascade.API: {"dynamodb:GetItem": 1, "dynamodb:UpdateItem": 2,
                      "stepfunctions:SendTaskSuccess": 1},
        cascade.CASCADE: {"dynamodb:BatchGetItem": children // 100,
                          "dynamodb:TransactWriteItems": children},
        cascade.PARENT_OTHER: {},
        cascade.LEARNS: {"dynamodb:UpdateItem": children},
        cascade.AFTER: {"dynamodb:UpdateItem": children},
    }
    total = sum(sum(ops.values()) for ops in by_kind.values())
    return {"by_kind": by_kind, "caused_total": total, "caused_per_child": total / children}


def test_units_are_per_call_units_times_the_measured_calls() -> None:
    per_call = {
        cascade.API: {"dynamodb:GetItem": {"wru": 0.0, "rru": 1.0},
                      "dynamodb:UpdateItem": {"wru": 5.0, "rru": 0.0}},
        cascade.CASCADE: {"dynamodb:TransactWriteItems": {"wru": 11.0, "rru": 0.0}},
        cascade.LEARNS: {"dynamodb:UpdateItem": {"wru": 1.0, "rru": 0.0}},
        cascade.AFTER: {"dynamodb:UpdateItem": {"wru": 2.0, "rru": 0.0}},
    }

    units = cascade.units_of(per_call, 1.0, cascade_counts(1000))

    assert units["children"] == 1000
    # 2 x 5 (API) + 1000 x (11 + 1 + 2)
    assert units["write_units"] == 10 + 14_000
    # the API's GetItem + every child read once by the BatchGetItems
    assert units["read_units"] == 1 + 1000
    assert units["unpriced"] == []


def test_a_cancel_is_priced_by_part_and_per_child() -> None:
    pricing = {"children": 1000, "rows": [
        {"kind": cascade.API, "operation": "dynamodb:UpdateItem", "wru": 10.0, "rru": 1.0},
        {"kind": cascade.CASCADE, "operation": "dynamodb:TransactWriteItems",
         "wru": 11_000.0, "rru": 1000.0},
        {"kind": cascade.LEARNS, "operation": "dynamodb:UpdateItem", "wru": 1000.0, "rru": 0.0},
        {"kind": cascade.AFTER, "operation": "dynamodb:UpdateItem", "wru": 2000.0, "rru": 0.0},
    ]}

    rows = cost.cascade_rows(pricing)

    whole, per_child = rows[-2], rows[-1]
    assert whole["step"] == "total" and per_child["step"] == "total per child"
    assert whole["wru"] == 14_010 and whole["rru"] == 1001
    assert whole["DynamoDB"] == pytest.approx(14_010 * prices.DYNAMODB_WRITE_UNIT.dollars
                                              + 1001 * prices.DYNAMODB_READ_UNIT.dollars)
    finish_seconds = 1000 * cost.CASCADE_SECONDS_PER_CHILD * prices.WORKER_MEMORY_GB
    assert whole["Lambda"] == pytest.approx(
        finish_seconds * prices.LAMBDA_GB_SECOND.dollars
        + prices.LAMBDA_REQUEST.dollars
        + prices.API_MEMORY_GB * prices.API_BILLED_SECONDS * prices.LAMBDA_GB_SECOND.dollars)
    assert whole["API Gateway"] == pytest.approx(prices.API_GATEWAY_REST_REQUEST.dollars)
    assert whole["Step Functions"] == 0
    assert per_child["total"] == pytest.approx(whole["total"] / 1000)


def test_merge_keeps_the_sections_this_run_did_not_make(tmp_path: Path) -> None:
    from bench.__main__ import merge

    def doc(name: str) -> dict[str, Any]:
        return Section(name, name.title(), "how").to_json()

    previous = {"date": "D1", "commit": "c1", "duration_seconds": 300.0, "quick": False,
                "sections": {"calls": doc("calls"), "trees": doc("trees"),
                             "cascade": doc("cascade")},
                "merged": {"kept": {"trees": {"date": "D0", "commit": "c0",
                                              "duration_seconds": 320.0, "quick": False}}}}
    path = tmp_path / "results.json"
    path.write_text(json.dumps(previous))
    info: dict[str, Any] = {}
    fresh = Section("cascade", "Cascade (new)", "how")

    sections = merge(path, info, {"cascade": fresh})

    assert list(sections) == ["calls", "trees", "cascade"]  # the suite's order
    assert sections["cascade"] is fresh
    assert info["merged"]["kept"] == {
        "calls": {"date": "D1", "commit": "c1", "duration_seconds": 300.0, "quick": False},
        "trees": {"date": "D0", "commit": "c0", "duration_seconds": 320.0, "quick": False},
    }


def test_merge_without_earlier_results_writes_this_run_alone(tmp_path: Path) -> None:
    from bench.__main__ import merge

    info: dict[str, Any] = {}
    fresh = {"cascade": Section("cascade", "Cascade", "how")}

    assert merge(tmp_path / "missing.json", info, fresh) == fresh
    assert "merged" not in info
