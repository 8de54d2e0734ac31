"""The trees benchmark's pricing, without running it (issue 23, item 4):
who made which call, request units of a batch and of reads, and the price
of a parent with many children, per child."""

from __future__ import annotations

from typing import Any

import pytest

from bench import cost, prices, trees
from bench.counting import Call, MultiItemImages
from bench.dynamo_units import Index, TableShape, call_read_units, multi_write_units
from bench.section import Section

PARENT = "p"
SHAPE = TableShape(keys=("id",), indexes=(Index("by_state", ("state",), "KEYS_ONLY"),))


def call(label: str, operation: str, service: str = "dynamodb", **recorded: Any) -> Call:
    return Call(service=service, operation=operation, label=label, thread="t", started=0.0,
                seconds=0.001, status=200, **recorded)


def test_each_call_is_told_to_the_client_the_parent_a_child_or_no_party() -> None:
    calls = [
        call(trees.CLIENT, "PutItem"),
        call(trees.CLIENT, "StartExecution", service="stepfunctions"),
        call(f"run:{PARENT}", "BatchWriteItem"),
        call(f"finish:{PARENT}", "BatchGetItem"),
        call("run:a", "UpdateItem"),
        call("run:b", "UpdateItem"),
        call("run:b", "TransactWriteItems"),
        call("unlabelled", "StartExecution", service="stepfunctions"),
    ]

    assert trees.by_party(calls, PARENT) == {
        trees.CLIENT: {"dynamodb:PutItem": 1, "stepfunctions:StartExecution": 1},
        trees.PARENT: {"dynamodb:BatchGetItem": 1, "dynamodb:BatchWriteItem": 1},
        trees.CHILD: {"dynamodb:TransactWriteItems": 1, "dynamodb:UpdateItem": 2},
        trees.OTHER: {"stepfunctions:StartExecution": 1},
    }


def test_a_batch_pays_single_units_and_a_transaction_double_table_units() -> None:
    new = [(None, {"id": {"S": str(n)}, "state": {"S": "WAITING"}}) for n in range(3)]

    assert multi_write_units("BatchWriteItem", new, SHAPE) == 3 * (1 + 1)
    assert multi_write_units("TransactWriteItems", new, SHAPE) == 3 * (2 + 1)


def test_reads_are_priced_as_dynamodb_bills_them() -> None:
    small = {"id": {"S": "x" * 98}}  # 100 B
    big = {"id": {"S": "y" * 2998}}  # 3,000 B

    # each item of a batch rounds up on its own; eventually consistent: half
    assert call_read_units(call("l", "BatchGetItem", items=[small, small, big])) == 1.5
    # a Query rounds up what it returns together: 3,200 B is one 4 KB unit
    assert call_read_units(call("l", "Query", items=[small, small, big])) == 0.5
    assert call_read_units(call("l", "Query", items=[big, big])) == 1.0
    assert call_read_units(call("l", "GetItem", item=big, consistent_read=True)) == 1.0
    assert call_read_units(call("l", "UpdateItem")) == 0.0
    with pytest.raises(ValueError, match="Scan"):
        call_read_units(call("l", "Scan"))


def test_the_images_of_a_batch_are_read_by_the_key_of_each_put_and_delete() -> None:
    images = MultiItemImages(client=None, images=None, key_names=("id",))
    params = {"RequestItems": {"jobs": [
        {"PutRequest": {"Item": {"id": {"S": "a"}, "state": {"S": "WAITING"}}}},
        {"DeleteRequest": {"Key": {"id": {"S": "b"}}}},
    ]}}
    transaction = {"TransactItems": [
        {"Update": {"TableName": "jobs", "Key": {"id": {"S": "c"}}}},
        {"ConditionCheck": {"TableName": "other", "Key": {"id": {"S": "d"}}}},
    ]}

    assert images._targets(params) == [("jobs", {"id": {"S": "a"}}),
                                       ("jobs", {"id": {"S": "b"}})]
    assert images._targets(transaction) == [("jobs", {"id": {"S": "c"}}),
                                            ("other", {"id": {"S": "d"}})]


def measured_fan_out(children: int) -> dict[str, Any]:
    return {
        "children": children,
        "by_party": {
            trees.CLIENT: {"dynamodb:PutItem": 1, "dynamodb:GetItem": 1,
                           "stepfunctions:StartExecution": 1},
            trees.PARENT: {"dynamodb:BatchWriteItem": children // 25,
                           "dynamodb:BatchGetItem": children // 100},
            trees.CHILD: {"dynamodb:UpdateItem": children,
                          "dynamodb:TransactWriteItems": children,
                          "dynamodb:GetItem": children},
            trees.OTHER: {"stepfunctions:StartExecution": children, "dynamodb:GetItem": 2},
        },
        "parent": {"billed": 3},
        "child": {"runner": "express"},
    }


UNITS = {
    trees.CLIENT: {"dynamodb:PutItem": {"wru": 6.0, "rru": 0.0},
                   "dynamodb:GetItem": {"wru": 0.0, "rru": 1.0}},
    trees.PARENT: {"dynamodb:BatchWriteItem": {"wru": 175.0, "rru": 0.0},
                   "dynamodb:BatchGetItem": {"wru": 0.0, "rru": 50.0}},
    trees.CHILD: {"dynamodb:UpdateItem": {"wru": 1.0, "rru": 0.0},
                  "dynamodb:TransactWriteItems": {"wru": 6.0, "rru": 0.0},
                  "dynamodb:GetItem": {"wru": 0.0, "rru": 1.0}},
    trees.OTHER: {"dynamodb:GetItem": {"wru": 0.0, "rru": 1.0}},
}


def test_the_fan_out_is_priced_by_its_counts_times_units_per_call() -> None:
    pricing = trees.pricing(measured_fan_out(1000), UNITS)

    by = {(r["party"], r["operation"]): r for r in pricing["rows"]}
    assert by[(trees.PARENT, "dynamodb:BatchWriteItem")]["wru"] == 40 * 175
    assert by[(trees.CHILD, "dynamodb:TransactWriteItems")]["wru"] == 1000 * 6
    assert by[(trees.OTHER, "stepfunctions:StartExecution")]["wru"] == 0
    # a DynamoDB call nobody can be charged with is never silently dropped
    assert pricing["unpriced"] == [f"{trees.OTHER}: dynamodb:GetItem"]
    assert pricing["parent_transitions"] == 3 and pricing["child_runner"] == "express"


def test_a_parent_is_priced_by_party_and_per_child() -> None:
    pricing = trees.pricing(measured_fan_out(1000), UNITS)

    steps = dict(cost.tree_steps(pricing))
    rows = cost.tree_rows(pricing)

    whole, per_child = rows[-2], rows[-1]
    assert whole["step"] == "total" and per_child["step"] == "total per child"
    assert whole["wru"] == 6 + 40 * 175 + 1000 * (1 + 6)
    assert whole["rru"] == 1 + 10 * 50 + 1000 * 1
    assert per_child["wru"] == pytest.approx(whole["wru"] / 1000)
    assert per_child["total"] == pytest.approx(whole["total"] / 1000)
    children = steps[trees.CHILD]
    assert children.express_executions == 1000 and children.lambda_requests == 1000
    assert children.api_requests == 0  # a child makes no REST request
    parent = steps[trees.PARENT]
    assert parent.transitions == 3 and parent.lambda_requests == cost.PARENT_TASKS
    assert parent.lambda_gb_seconds == pytest.approx(prices.WORKER_MEMORY_GB * (
        cost.PARENT_TASKS * prices.WORKER_BILLED_SECONDS
        + 1000 * cost.FANOUT_SECONDS_PER_CHILD))
    assert steps[trees.CLIENT].api_requests == 2
    assert whole["DynamoDB"] == pytest.approx(whole["wru"] * prices.DYNAMODB_WRITE_UNIT.dollars
                                              + whole["rru"] * prices.DYNAMODB_READ_UNIT.dollars)


def test_children_on_standard_are_not_priced_as_express() -> None:
    fan_out = measured_fan_out(100)
    fan_out["child"]["runner"] = "standard"

    with pytest.raises(ValueError, match="standard"):
        cost.tree_steps(trees.pricing(fan_out, UNITS))


def test_a_list_page_is_a_query_of_entries_and_a_read_of_each_record() -> None:
    page = {"query_item_bytes": [330, 330], "batch_get_items": 2,
            "read_units_by_operation": {"Query": 0.5, "BatchGetItem": 1.0}}

    ours = cost.list_page_costs(800, page)[-1]

    # 50 entries of 330 B: 16,500 B, 5 units of 4 KB, halved; 50 records at 0.5
    assert ours["calls"] == 2
    assert ours["read_units"] == 2.5 + 25


def cost_section() -> Section:
    leaf = {"API Gateway": 10.50, "Lambda": 1.53, "DynamoDB": 7.75, "Step Functions": 1.10,
            "S3": 0.0}
    return Section("cost", "Cost", "how", data={
        "per_million": {"ours": {"total": leaf}},
        "usage_per_job": {"ours": {"write_units": 12, "read_units": 2}}})


def test_the_cost_section_gains_the_tree_once_the_trees_section_is_there() -> None:
    alone, beside = cost_section(), cost_section()
    trees_section = Section("trees", "Trees", "how",
                            data={"pricing": trees.pricing(measured_fan_out(1000), UNITS)})

    cost.add_tree(alone, None)
    cost.add_tree(beside, trees_section)

    assert alone.tables == [] and "--only trees --only cost" in alone.notes[0]
    (table,) = beside.tables
    assert table.title.startswith("A parent with 1,000 children, $ per million children")
    assert "against $20.88 per million leaf jobs" in beside.notes[0]
    *parts, per_child, leaf = beside.data["tree"]["rows"]
    assert [row["step"] for row in parts] == list(trees.PARTIES)
    assert per_child["step"] == "total, per child"
    assert per_child["total"] == pytest.approx(sum(row["total"] for row in parts))
    assert per_child["wru"] == pytest.approx((6 + 40 * 175 + 1000 * 7) / 1000)
    assert (leaf["total"], leaf["wru"]) == (pytest.approx(20.88), 12)
