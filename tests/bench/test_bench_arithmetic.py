"""The benchmark suite's pure arithmetic: item sizes, index write units, floors, dollars."""

from __future__ import annotations

import pytest

from bench import cost, prices
from bench.cost import Usage, dollars
from bench.dynamo_units import Index, TableShape, item_size, read_units, write_units
from bench.floors import even_reports, progress_floor
from local.provision import load_template

SHAPE = TableShape(
    keys=("id",),
    indexes=(
        Index("by_state", ("tenant_state", "created_key"), "ALL"),
        Index("by_active", ("active_shard", "created_key"), "KEYS_ONLY"),
    ),
)
WAITING = {"id": {"S": "j1"}, "tenant_state": {"S": "t#WAITING"}, "created_key": {"S": "c"},
           "active_shard": {"S": "a#1"}, "progress": {"S": "{}"}}


def test_item_size_counts_names_and_values() -> None:
    assert item_size({"id": {"S": "abc"}}) == 2 + 3
    assert item_size({"ok": {"BOOL": True}, "n": {"N": "12345"}}) == (2 + 1) + (1 + 4)
    assert item_size({"l": {"L": [{"S": "ab"}]}}) == 1 + 3 + (2 + 1)


def test_new_item_puts_into_every_index_it_has_keys_for() -> None:
    units = write_units(None, WAITING, SHAPE)

    assert units.table == 1
    assert units.actions == {"by_state": "put", "by_active": "put"}
    assert units.total == 3


def test_index_key_change_is_a_delete_plus_a_put_and_keys_only_ignores_other_changes() -> None:
    running = {**WAITING, "tenant_state": {"S": "t#RUNNING"}, "progress": {"S": "{\"p\":1}"}}

    units = write_units(WAITING, running, SHAPE)

    assert units.indexes == {"by_state": 2}
    assert units.actions == {"by_state": "delete+put"}


def test_losing_an_index_key_deletes_from_that_index() -> None:
    finished = {k: v for k, v in WAITING.items() if k != "active_shard"}

    actions = write_units(WAITING, finished, SHAPE).actions

    # ALL projects every attribute, so dropping one updates that index too.
    assert actions == {"by_state": "update", "by_active": "delete"}


def test_large_items_cost_more_units() -> None:
    big = {**WAITING, "result": {"S": "x" * 3000}}

    units = write_units(WAITING, big, SHAPE)

    assert item_size(big) == 3068
    assert units.table == 3  # ceil(3068 / 1024)
    assert units.indexes["by_state"] == 4  # ceil((3068 + 100 bytes overhead) / 1024)
    assert read_units(big, consistent=True) == 1.0
    assert read_units(big, consistent=False) == 0.5


def test_the_template_shape_has_the_listing_indexes() -> None:
    shape = TableShape.from_template(load_template())

    assert shape.keys == ("id",)
    assert {index.name for index in shape.indexes} >= {"by_tenant_v2", "by_active_v2"}
    assert shape.without_indexes().indexes == ()


@pytest.mark.parametrize(
    ("times", "finish", "expected"),
    [
        ([0.0, 0.0, 0.0], 0.0, 0),  # the finish carries a burst
        ([0.0, 1.1, 2.2], 2.2, 2),
        ([0.0], 5.0, 1),
        ([], 5.0, 0),
    ],
)
def test_progress_floor(times: list[float], finish: float, expected: int) -> None:
    assert progress_floor(times, finish, 1.0) == expected


def test_progress_floor_of_an_even_storm_is_about_one_per_interval() -> None:
    assert progress_floor(even_reports(10_000, 3.0), 3.0, 1.0) == 2
    assert progress_floor(even_reports(10_000, 10.0), 10.0, 1.0) == 9


def test_dollars_multiply_counts_by_list_prices() -> None:
    cost = dollars(Usage(api_requests=1_000_000, write_units=1_000_000, transitions=1000))

    assert cost["API Gateway"] == pytest.approx(3.50)
    assert cost["DynamoDB"] == pytest.approx(0.625)
    assert cost["Step Functions"] == pytest.approx(prices.SFN_STANDARD_TRANSITION.dollars * 1000)
    assert cost["Step Functions"] == pytest.approx(0.025)


def test_a_section_survives_its_trip_through_results_json() -> None:
    import json

    from bench.section import Check, Section, Table, section_from_json

    section = Section("trees", "Trees", "how", [Table({"a": "A"}, [{"a": 1}], "t")],
                      ["a note"], [Check("n", "t", "m", True)], {"x": [1, 2]}, 12.5)

    back = section_from_json("trees", json.loads(json.dumps(section.to_json())))

    assert back == section


def test_polling_backs_off_with_the_time_waited() -> None:
    from bench.local_aws import POLL_MAX, POLL_MIN, poll_interval

    assert poll_interval(0) == POLL_MIN
    assert poll_interval(1.0) == pytest.approx(0.02)
    assert poll_interval(600.0) == POLL_MAX
    waited, polls = 0.0, 0
    while waited < 500:  # a 500 s run is watched a few thousand times, not 100,000
        waited += poll_interval(waited)
        polls += 1
    assert polls < 2_500


def leaf_ops(create: int, claim: int, progress: int, finish: int) -> dict[str, dict[str, int]]:
    return {"create": {"write_units": create, "s3_calls": 0}, "claim": {"write_units": claim},
            "progress_spread": {"write_units": progress}, "finish": {"write_units": finish},
            "get": {"read_units": 1}}


def test_the_floor_is_one_unit_per_state_change_and_report_and_ours_otherwise() -> None:
    ops = leaf_ops(6, 1, 2, 3)

    floor, ours = cost.floor(ops, "progress_spread"), cost.ours_on_express(ops, "progress_spread")
    floor_total, ours_total = cost.total(floor), cost.total(ours)

    # issue 23: create, claim, 3 reports, finish: six single-unit writes
    assert [usage.write_units for _, usage in floor] == [1, 1, 3, 1, 0]
    assert floor_total.write_units == 6 and ours_total.write_units == 12
    assert [name for name, _ in floor] == [name for name, _ in ours]
    for field in ("api_requests", "lambda_requests", "express_executions", "read_units"):
        assert getattr(floor_total, field) == getattr(ours_total, field)
    # about $17.10 a million, as the issue reckons it: 3 REST requests, 6 writes and
    # 2 reads, one Express run, the invocations
    assert sum(dollars(floor_total).values()) * 1e6 == pytest.approx(17.13, abs=0.01)


def test_the_floor_rows_compare_each_step() -> None:
    ops = leaf_ops(6, 1, 2, 3)
    designs = {"floor": cost.floor(ops, "progress_spread"),
               "ours": cost.ours_on_express(ops, "progress_spread"),
               "naive": cost.ours_on_express(ops, "progress_spread")}
    tables = {name: cost.per_million(steps) for name, steps in designs.items()}

    rows = cost.floor_rows(designs, tables)

    assert [row["floor_wru"] for row in rows] == [1, 1, 3, 1, 0, 6]
    assert [row["ours_wru"] for row in rows] == [6, 1, 2, 3, 0, 12]
    assert rows[-1]["above"] == pytest.approx(6 * prices.DYNAMODB_WRITE_UNIT.dollars * 1e6)
