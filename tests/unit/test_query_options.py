"""TrueNAS query-options: order_by parsing and sorting, select parsing and projection."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.errors import BadRequest
from chalicelib.query.options import OrderKey, parse_order_by, parse_select, project, sort_records


def rejected_order_by(items: Any) -> BadRequest:
    with pytest.raises(BadRequest) as caught:
        parse_order_by(items)
    return caught.value


def rejected_select(items: Any) -> BadRequest:
    with pytest.raises(BadRequest) as caught:
        parse_select(items)
    return caught.value


def ids(records: list[dict[str, Any]]) -> list[str]:
    return [record["id"] for record in records]


def keys(*items: str) -> tuple[OrderKey, ...]:
    return parse_order_by(list(items))


# ---------------------------------------------------------------- parse_order_by


def test_a_plain_field_sorts_ascending_with_nulls_last() -> None:
    assert keys("time_finished") == (OrderKey("time_finished", False, False),)


def test_a_minus_sorts_descending_with_nulls_first() -> None:
    assert keys("-time_finished") == (OrderKey("time_finished", True, True),)


def test_nulls_first_puts_nulls_first_in_ascending_order() -> None:
    assert keys("nulls_first:time_finished") == (OrderKey("time_finished", False, True),)


def test_nulls_last_combines_with_descending() -> None:
    assert keys("nulls_last:-time_finished") == (OrderKey("time_finished", True, False),)


def test_nulls_first_combines_with_descending() -> None:
    assert keys("nulls_first:-time_finished") == (OrderKey("time_finished", True, True),)


def test_order_by_keeps_the_keys_in_order() -> None:
    fields = [key.field for key in keys("state", "-time_created", "id")]

    assert fields == ["state", "time_created", "id"]


def test_a_dotted_field_can_be_a_sort_key() -> None:
    assert keys("-progress.percent")[0].field == "progress.percent"


def test_an_empty_order_by_gives_no_keys() -> None:
    assert parse_order_by([]) == ()


def test_an_unknown_sort_field_is_rejected_with_its_path() -> None:
    error = rejected_order_by(["state", "-colour"])

    assert error.message.startswith("order_by[1]: ")
    assert error.details == {"path": "order_by[1]", "problem": error.details["problem"]}
    assert "unknown field" in error.message and "colour" not in error.message


def test_message_ids_cannot_be_a_sort_key() -> None:
    assert rejected_order_by(["message_ids"]).details["path"] == "order_by[0]"


def test_a_field_that_may_hold_secrets_cannot_be_a_sort_key() -> None:
    assert rejected_order_by(["result"]).details["path"] == "order_by[0]"


def test_a_null_prefix_after_the_minus_is_rejected() -> None:
    assert rejected_order_by(["-nulls_first:time_finished"]).details["path"] == "order_by[0]"


def test_more_than_five_sort_keys_are_rejected() -> None:
    error = rejected_order_by(["id", "state", "method", "time_created", "user_id", "tenant_id"])

    assert error.message.startswith("order_by: ")


def test_five_sort_keys_are_allowed() -> None:
    assert len(keys("id", "state", "method", "time_created", "user_id")) == 5


def test_sorting_twice_by_one_field_is_rejected() -> None:
    assert rejected_order_by(["id", "-id"]).details["path"] == "order_by[1]"


def test_a_non_string_sort_key_is_rejected() -> None:
    assert rejected_order_by(["id", 3]).details["path"] == "order_by[1]"


def test_an_order_by_that_is_not_a_list_is_rejected() -> None:
    assert rejected_order_by("id").details["path"] == "order_by"


def test_the_path_of_an_order_by_error_can_be_given() -> None:
    with pytest.raises(BadRequest) as caught:
        parse_order_by(["nope"], path="options.order_by")

    assert caught.value.message.startswith("options.order_by[0]: ")


# ---------------------------------------------------------------- sort_records

RECORDS: list[dict[str, Any]] = [
    {"id": "a", "state": "RUNNING", "progress": {"percent": 50}, "time_finished": None},
    {"id": "b", "state": "SUCCESS", "progress": {"percent": 10},
     "time_finished": "2026-11-23T05:00:00.000Z"},
    {"id": "c", "state": "RUNNING", "progress": {"percent": None}, "time_finished": None},
    {"id": "d", "state": "FAILED", "progress": {"percent": 90},
     "time_finished": "2026-11-23T04:00:00.000Z"},
    {"id": "e", "state": "SUCCESS", "progress": {"percent": 10},
     "time_finished": "2026-11-23T06:00:00.000Z"},
]


def test_ascending_sort_puts_smaller_values_first() -> None:
    assert ids(sort_records(RECORDS, keys("id"))) == ["a", "b", "c", "d", "e"]


def test_descending_sort_puts_larger_values_first() -> None:
    assert ids(sort_records(RECORDS, keys("-id"))) == ["e", "d", "c", "b", "a"]


def test_ascending_sort_puts_nulls_last_by_default() -> None:
    assert ids(sort_records(RECORDS, keys("time_finished"))) == ["d", "b", "e", "a", "c"]


def test_descending_sort_puts_nulls_first_by_default() -> None:
    assert ids(sort_records(RECORDS, keys("-time_finished"))) == ["a", "c", "e", "b", "d"]


def test_nulls_first_overrides_the_ascending_default() -> None:
    assert ids(sort_records(RECORDS, keys("nulls_first:time_finished"))) == [
        "a", "c", "d", "b", "e"]


def test_nulls_last_overrides_the_descending_default() -> None:
    assert ids(sort_records(RECORDS, keys("nulls_last:-time_finished"))) == [
        "e", "b", "d", "a", "c"]


def test_a_dotted_sort_key_reads_the_subfield() -> None:
    assert ids(sort_records(RECORDS, keys("-progress.percent"))) == ["c", "d", "a", "b", "e"]


def test_the_first_key_is_primary_and_the_next_breaks_ties() -> None:
    order = keys("state", "-progress.percent")

    assert ids(sort_records(RECORDS, order)) == ["d", "c", "a", "b", "e"]


def test_a_secondary_key_keeps_its_own_direction() -> None:
    order = keys("-state", "nulls_first:time_finished")

    assert ids(sort_records(RECORDS, order)) == ["b", "e", "a", "c", "d"]


def test_ascending_sort_is_stable_for_equal_values() -> None:
    assert ids(sort_records(RECORDS, keys("state"))) == ["d", "a", "c", "b", "e"]


def test_descending_sort_is_stable_for_equal_values() -> None:
    assert ids(sort_records(RECORDS, keys("-state"))) == ["b", "e", "a", "c", "d"]


def test_nulls_keep_their_input_order() -> None:
    reordered = [RECORDS[2], RECORDS[0]]

    assert ids(sort_records(reordered, keys("time_finished"))) == ["c", "a"]


def test_no_keys_keep_the_input_order() -> None:
    assert ids(sort_records(RECORDS, ())) == ["a", "b", "c", "d", "e"]


def test_sorting_leaves_the_input_list_unchanged() -> None:
    records = list(RECORDS)

    sort_records(records, keys("-id"))

    assert ids(records) == ["a", "b", "c", "d", "e"]


def test_a_missing_field_sorts_as_null() -> None:
    records = [{"id": "x"}, {"id": "y", "user_id": "u-1"}]

    assert ids(sort_records(records, keys("user_id"))) == ["y", "x"]


# ---------------------------------------------------------------- parse_select


def test_select_keeps_names_in_order() -> None:
    assert parse_select(["state", "id", "progress.percent"]) == (
        "state", "id", "progress.percent")


def test_select_drops_repeated_names_keeping_the_first() -> None:
    assert parse_select(["id", "state", "id"]) == ("id", "state")


def test_select_allows_fields_that_cannot_be_filtered() -> None:
    assert parse_select(["result", "arguments", "exc_info.extra"]) == (
        "result", "arguments", "exc_info.extra")


def test_an_unknown_select_field_is_rejected_with_its_path() -> None:
    error = rejected_select(["id", "colour"])

    assert error.message.startswith("select[1]: ")
    assert "unknown field" in error.message and "colour" not in error.message


def test_an_unknown_subfield_is_rejected() -> None:
    assert rejected_select(["progress.speed"]).details["path"] == "select[0]"


def test_a_non_string_select_item_is_rejected() -> None:
    assert rejected_select([["id", "job_id"]]).details["path"] == "select[0]"


def test_more_than_thirty_select_items_are_rejected() -> None:
    assert rejected_select(["id"] * 31).details["path"] == "select"


def test_a_select_that_is_not_a_list_is_rejected() -> None:
    assert rejected_select("id").details["path"] == "select"


def test_the_path_of_a_select_error_can_be_given() -> None:
    with pytest.raises(BadRequest) as caught:
        parse_select(["nope"], path="options.select")

    assert caught.value.message.startswith("options.select[0]: ")


def test_a_huge_select_name_is_not_echoed_back() -> None:
    assert len(rejected_select(["x" * 10_000]).message) < 300


# ---------------------------------------------------------------- project

JOB: dict[str, Any] = {
    "id": "j-1",
    "state": "FAILED",
    "progress": {"percent": 40, "description": "scanning", "extra": {"k": 1}},
    "exc_info": None,
    "result": {"rows": [1, 2]},
}


def test_an_empty_select_returns_the_record_unchanged() -> None:
    assert project(JOB, ()) is JOB


def test_project_keeps_only_the_selected_top_level_fields() -> None:
    assert project(JOB, ("id", "result")) == {"id": "j-1", "result": {"rows": [1, 2]}}


def test_project_nests_a_dotted_field_under_its_parent() -> None:
    assert project(JOB, ("id", "progress.percent")) == {"id": "j-1", "progress": {"percent": 40}}


def test_project_merges_two_subfields_of_one_parent() -> None:
    projected = project(JOB, ("progress.percent", "progress.description"))

    assert projected == {"progress": {"percent": 40, "description": "scanning"}}


def test_project_follows_the_select_order() -> None:
    assert list(project(JOB, ("state", "id"))) == ["state", "id"]


def test_a_whole_parent_wins_over_one_of_its_subfields() -> None:
    projected = project(JOB, ("progress.percent", "progress"))

    assert projected == {"progress": JOB["progress"]}


def test_a_subfield_of_a_null_parent_gives_the_null_parent() -> None:
    assert project(JOB, ("exc_info.type",)) == {"exc_info": None}


def test_a_field_missing_from_the_record_is_left_out() -> None:
    assert project(JOB, ("id", "user_id")) == {"id": "j-1"}


def test_projecting_subfields_never_changes_the_record() -> None:
    projected = project(JOB, ("progress.percent",))
    projected["progress"]["percent"] = 99

    assert JOB["progress"]["percent"] == 40
