"""TrueNAS query-filters: every operator, null handling, OR, and every refusal."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.errors import BadRequest
from chalicelib.query.filters import AllOf, AnyOf, Condition, parse_filters, parse_filters_json


def job(**overrides: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": "j-1",
        "method": "pool.scrub",
        "arguments": {"pool": "tank"},
        "description": "Scrub tank",
        "transient": False,
        "abortable": True,
        "state": "RUNNING",
        "progress": {"percent": 40, "description": "scanning", "extra": None},
        "result": None,
        "result_encoding_error": None,
        "error": None,
        "exception": None,
        "exc_info": None,
        "logs_path": None,
        "logs_excerpt": None,
        "message_ids": ["m-1", "m-2"],
        "time_created": "2026-11-23T04:36:22.026Z",
        "time_started": "2026-11-23T04:36:23.000Z",
        "time_finished": None,
        "time_updated": "2026-11-23T04:40:00.500Z",
        "tenant_id": "t-1",
        "user_id": "u-1",
        "parent_id": None,
        "root_id": None,
    }
    record.update(overrides)
    return record


FAILED_JOB = job(
    state="FAILED",
    error="boom",
    exc_info={"repr": "OSError(5)", "type": "OSError", "errno": 5, "extra": None},
    progress={"percent": None, "description": None, "extra": None},
    time_finished="2026-11-23T05:00:00.000Z",
    user_id=None,
)


def matches(filters: list[Any], record: dict[str, Any]) -> bool:
    return parse_filters(filters).matches(record)


def rejected(filters: Any) -> BadRequest:
    with pytest.raises(BadRequest) as caught:
        parse_filters(filters)
    return caught.value


# ---------------------------------------------------------------- operators

OPERATOR_CASES = [
    # =
    pytest.param(["state", "=", "RUNNING"], job(), True, id="equals_matches_the_same_string"),
    pytest.param(["state", "=", "SUCCESS"], job(), False, id="equals_rejects_another_string"),
    pytest.param(["error", "=", None], job(), True, id="equals_null_matches_a_null_value"),
    pytest.param(["error", "=", None], FAILED_JOB, False, id="equals_null_rejects_a_value"),
    pytest.param(["error", "=", "boom"], job(), False, id="equals_a_value_rejects_null"),
    pytest.param(["progress.percent", "=", 40], job(), True, id="equals_reads_a_dotted_field"),
    pytest.param(["exc_info.type", "=", "OSError"], FAILED_JOB, True,
                 id="equals_reads_a_field_of_a_nested_object"),
    pytest.param(["exc_info.type", "=", None], job(), True,
                 id="a_field_below_a_null_parent_is_null"),
    pytest.param(["transient", "=", False], job(), True, id="equals_matches_a_boolean"),
    pytest.param(["message_ids", "=", ["m-1", "m-2"]], job(), True,
                 id="equals_matches_a_whole_list"),
    pytest.param(["message_ids", "=", ["m-2", "m-1"]], job(), False,
                 id="equals_on_a_list_respects_order"),
    # !=
    pytest.param(["state", "!=", "SUCCESS"], job(), True, id="not_equals_matches_another_value"),
    pytest.param(["state", "!=", "RUNNING"], job(), False, id="not_equals_rejects_the_same_value"),
    pytest.param(["error", "!=", "boom"], job(), True,
                 id="not_equals_a_value_matches_a_null_record_value"),
    pytest.param(["error", "!=", None], job(), False, id="not_equals_null_rejects_null"),
    pytest.param(["error", "!=", None], FAILED_JOB, True, id="not_equals_null_matches_a_value"),
    # ordering
    pytest.param(["progress.percent", ">", 30], job(), True, id="greater_matches_a_larger_value"),
    pytest.param(["progress.percent", ">", 40], job(), False, id="greater_rejects_an_equal_value"),
    pytest.param(["progress.percent", ">=", 40], job(), True,
                 id="greater_or_equal_matches_an_equal_value"),
    pytest.param(["progress.percent", "<", 50], job(), True, id="less_matches_a_smaller_value"),
    pytest.param(["progress.percent", "<", 40], job(), False, id="less_rejects_an_equal_value"),
    pytest.param(["progress.percent", "<=", 39], job(), False,
                 id="less_or_equal_rejects_a_larger_value"),
    pytest.param(["progress.percent", ">", -1], FAILED_JOB, False, id="greater_never_matches_null"),
    pytest.param(["progress.percent", "<", 101], FAILED_JOB, False, id="less_never_matches_null"),
    pytest.param(["method", ">", "pool.query"], job(), True, id="strings_order_lexically"),
    pytest.param(["time_created", ">", "2026-11-23"], job(), True,
                 id="a_date_compares_as_its_midnight"),
    pytest.param(["time_created", "<", "2026-11-23T04:36:22.026Z"], job(), False,
                 id="less_rejects_the_same_instant"),
    pytest.param(["time_created", ">=", "2026-11-23T06:36:22.026+02:00"], job(), True,
                 id="an_offset_time_compares_as_utc"),
    pytest.param(["time_started", "<=", "2026-11-23T04:36:23Z"], job(), True,
                 id="a_time_without_milliseconds_equals_its_zero_millisecond_form"),
    pytest.param(["time_finished", ">", "2000-01-01"], job(), False,
                 id="a_null_time_is_never_after_anything"),
    # ~
    pytest.param(["description", "~", "Scr.b"], job(), True, id="regex_matches_at_the_start"),
    pytest.param(["description", "~", "tank"], job(), False,
                 id="regex_is_anchored_at_the_start_like_re_match"),
    pytest.param(["description", "~", ".*tank$"], job(), True,
                 id="regex_finds_later_text_with_a_leading_wildcard"),
    pytest.param(["error", "~", ""], job(), True, id="regex_treats_null_as_an_empty_string"),
    pytest.param(["error", "~", "b"], job(), False,
                 id="regex_needing_a_character_rejects_null"),
    pytest.param(["exc_info.repr", "~", r"OSError\(\d\)"], FAILED_JOB, True,
                 id="regex_reads_a_dotted_field"),
    # in / nin
    pytest.param(["state", "in", ["WAITING", "RUNNING"]], job(), True,
                 id="in_matches_a_listed_value"),
    pytest.param(["state", "in", ["SUCCESS"]], job(), False, id="in_rejects_an_unlisted_value"),
    pytest.param(["user_id", "in", [None, "u-9"]], FAILED_JOB, True,
                 id="in_matches_null_when_null_is_listed"),
    pytest.param(["user_id", "in", ["u-9"]], FAILED_JOB, False,
                 id="in_rejects_null_when_null_is_not_listed"),
    pytest.param(["progress.percent", "in", [10, 40]], job(), True,
                 id="in_matches_a_listed_integer_of_a_dotted_field"),
    pytest.param(["state", "nin", ["SUCCESS"]], job(), True, id="nin_matches_an_unlisted_value"),
    pytest.param(["state", "nin", ["RUNNING"]], job(), False, id="nin_rejects_a_listed_value"),
    pytest.param(["user_id", "nin", ["u-9"]], FAILED_JOB, False, id="nin_never_matches_null"),
    # rin / rnin
    pytest.param(["description", "rin", "tank"], job(), True, id="rin_matches_a_substring"),
    pytest.param(["description", "rin", "pool"], job(), False,
                 id="rin_rejects_a_missing_substring"),
    pytest.param(["message_ids", "rin", "m-2"], job(), True, id="rin_matches_a_list_member"),
    pytest.param(["message_ids", "rin", "m-9"], job(), False, id="rin_rejects_a_non_member"),
    pytest.param(["error", "rin", ""], job(), False, id="rin_never_matches_null"),
    pytest.param(["description", "rnin", "pool"], job(), True,
                 id="rnin_matches_a_missing_substring"),
    pytest.param(["description", "rnin", "tank"], job(), False, id="rnin_rejects_a_substring"),
    pytest.param(["message_ids", "rnin", "m-9"], job(), True, id="rnin_matches_a_non_member"),
    pytest.param(["message_ids", "rnin", "m-1"], job(), False, id="rnin_rejects_a_list_member"),
    pytest.param(["error", "rnin", "x"], job(), False, id="rnin_never_matches_null"),
    # ^ !^ $ !$
    pytest.param(["method", "^", "pool."], job(), True, id="starts_with_matches_a_prefix"),
    pytest.param(["method", "^", "disk."], job(), False, id="starts_with_rejects_another_prefix"),
    pytest.param(["error", "^", ""], job(), False, id="starts_with_never_matches_null"),
    pytest.param(["method", "!^", "disk."], job(), True,
                 id="not_starts_with_matches_another_prefix"),
    pytest.param(["method", "!^", "pool."], job(), False, id="not_starts_with_rejects_the_prefix"),
    pytest.param(["error", "!^", "x"], job(), False, id="not_starts_with_never_matches_null"),
    pytest.param(["method", "$", ".scrub"], job(), True, id="ends_with_matches_a_suffix"),
    pytest.param(["method", "$", ".query"], job(), False, id="ends_with_rejects_another_suffix"),
    pytest.param(["error", "$", ""], job(), False, id="ends_with_never_matches_null"),
    pytest.param(["method", "!$", ".query"], job(), True,
                 id="not_ends_with_matches_another_suffix"),
    pytest.param(["method", "!$", ".scrub"], job(), False, id="not_ends_with_rejects_the_suffix"),
    pytest.param(["error", "!$", "x"], job(), False, id="not_ends_with_never_matches_null"),
    pytest.param(["progress.description", "^", "scan"], job(), True,
                 id="starts_with_reads_a_dotted_field"),
    pytest.param(["time_created", "^", "2026-11"], job(), True,
                 id="a_time_prefix_selects_a_calendar_month"),
    pytest.param(["time_created", "^", "2026-12"], job(), False,
                 id="a_time_prefix_rejects_another_month"),
    pytest.param(["time_created", "!^", "2026-12-01T"], job(), True,
                 id="a_negated_time_prefix_matches_another_day"),
    pytest.param(["time_finished", "!^", "2026"], job(), False,
                 id="a_negated_time_prefix_never_matches_null"),
]


@pytest.mark.parametrize(("condition", "record", "expected"), OPERATOR_CASES)
def test_operator(condition: list[Any], record: dict[str, Any], expected: bool) -> None:
    assert matches([condition], record) is expected


def test_a_pathological_regex_runs_in_linear_time_and_does_not_match() -> None:
    record = job(description="a" * 100_000 + "b")

    assert not matches([["description", "~", "(a+)+$"]], record)


def test_a_pathological_regex_still_matches_where_it_should() -> None:
    assert matches([["description", "~", "(a+)+$"]], job(description="a" * 100_000))


def test_a_regex_is_compiled_once_when_parsed() -> None:
    condition = parse_filters([["description", "~", "Scr"]]).conditions()[0]

    assert condition.regex.match("Scrub") is not None


# ---------------------------------------------------------------- values normalised


def test_a_time_filter_value_is_normalised_to_the_stored_form() -> None:
    condition = parse_filters([["time_created", ">", "2026-11-23T06:36:22+02:00"]]).conditions()[0]

    assert condition.value == "2026-11-23T04:36:22.000Z"


def test_a_time_without_an_offset_is_taken_as_utc() -> None:
    condition = parse_filters([["time_updated", "<", "2026-11-23T04:36"]]).conditions()[0]

    assert condition.value == "2026-11-23T04:36:00.000Z"


def test_in_values_are_kept_as_a_tuple_in_their_order() -> None:
    condition = parse_filters([["state", "in", ["SUCCESS", "FAILED"]]]).conditions()[0]

    assert condition.value == ("SUCCESS", "FAILED")


# ---------------------------------------------------------------- connectives


def test_an_empty_filter_list_matches_everything() -> None:
    assert parse_filters([]).matches(job())


def test_all_top_level_filters_must_hold() -> None:
    assert not matches([["state", "=", "RUNNING"], ["method", "=", "disk.wipe"]], job())


def test_or_with_single_filter_branches_matches_when_one_branch_holds() -> None:
    filters = [["OR", [["state", "=", "SUCCESS"], ["method", "=", "pool.scrub"]]]]

    assert matches(filters, job())


def test_or_with_single_filter_branches_rejects_when_no_branch_holds() -> None:
    filters = [["OR", [["state", "=", "SUCCESS"], ["method", "=", "disk.wipe"]]]]

    assert not matches(filters, job())


def test_an_or_list_branch_needs_all_of_its_filters() -> None:
    filters = [["OR", [[["state", "=", "RUNNING"], ["method", "=", "disk.wipe"]],
                       [["state", "=", "SUCCESS"]]]]]

    assert not matches(filters, job())


def test_an_or_list_branch_matches_when_all_of_its_filters_hold() -> None:
    filters = [["OR", [[["state", "=", "RUNNING"], ["method", "=", "pool.scrub"]],
                       [["state", "=", "SUCCESS"]]]]]

    assert matches(filters, job())


def test_the_truenas_documentation_example_parses() -> None:
    filters = [["OR", [[["method", "=", "bob"]], [["method", "=", "pool.scrub"]]]]]

    assert matches(filters, job())


def test_an_or_nested_in_a_branch_is_evaluated() -> None:
    inner = ["OR", [["user_id", "=", "u-9"], ["progress.percent", ">=", 40]]]
    filters = [["OR", [["state", "=", "SUCCESS"], [["method", "^", "pool."], inner]]]]

    assert matches(filters, job())


def test_an_or_nested_as_a_branch_is_evaluated() -> None:
    filters = [["OR", [["state", "=", "SUCCESS"], ["OR", [["user_id", "=", "u-9"]]]]]]

    assert not matches(filters, job())


def test_an_or_sits_in_a_conjunction_with_top_level_filters() -> None:
    filters = [["OR", [["state", "=", "RUNNING"], ["state", "=", "WAITING"]]],
               ["user_id", "=", "u-2"]]

    assert not matches(filters, job())


def test_five_nested_ors_are_allowed() -> None:
    filters: list[Any] = ["state", "=", "RUNNING"]
    for _ in range(5):
        filters = ["OR", [filters]]

    assert matches([filters], job())


def test_conditions_lists_only_the_top_level_conditions() -> None:
    where = parse_filters([["state", "=", "RUNNING"], ["OR", [["user_id", "=", "u-1"]]]])

    assert where.conditions() == (Condition("state", "=", "RUNNING"),)


def test_fields_lists_every_field_used_including_inside_ors() -> None:
    where = parse_filters([["state", "=", "RUNNING"],
                           ["OR", [["user_id", "=", "u-1"], [["progress.percent", ">", 1]]]]])

    assert where.fields() == {"state", "user_id", "progress.percent"}


def test_the_tree_has_the_expected_shape() -> None:
    where = parse_filters([["OR", [["state", "=", "RUNNING"]]]])

    assert where == AllOf((AnyOf((AllOf((Condition("state", "=", "RUNNING"),)),)),))


def test_json_filters_are_parsed() -> None:
    where = parse_filters_json(json.dumps([["state", "=", "RUNNING"]]))

    assert where.matches(job())


# ---------------------------------------------------------------- refusals


def assert_rejected_at(filters: Any, path: str, *words: str) -> None:
    error = rejected(filters)
    assert error.message.startswith(f"{path}: ")
    assert error.details["path"] == path
    for word in words:
        assert word in error.message


def test_an_unknown_field_is_rejected_with_examples() -> None:
    assert_rejected_at([["state", "=", "RUNNING"], ["colour", "=", "red"]],
                       "filters[1][0]", "unknown field", "time_created")
    assert "colour" not in rejected([["colour", "=", "red"]]).message  # never echoed


def test_a_field_that_may_hold_secrets_cannot_be_filtered() -> None:
    assert_rejected_at([["arguments", "=", {}]], "filters[0][0]", "cannot be filtered")


def test_a_non_string_field_is_rejected() -> None:
    assert_rejected_at([[1, "=", 1]], "filters[0][0]", "unknown field")


def test_an_unknown_operator_is_rejected_with_the_known_ones() -> None:
    assert_rejected_at([["state", "==", "RUNNING"]], "filters[0][1]",
                       "unknown operator", "rnin", "!$")
    assert "==" not in rejected([["state", "==", "RUNNING"]]).message  # never echoed


def test_a_case_insensitive_operator_is_rejected_with_a_hint() -> None:
    assert_rejected_at([["state", "C=", "RUNNING"]], "filters[0][1]", "case-insensitive")


def test_regex_on_an_integer_field_is_rejected() -> None:
    assert_rejected_at([["progress.percent", "~", "4"]], "filters[0][1]", "progress.percent")


def test_ordering_a_boolean_is_rejected() -> None:
    assert_rejected_at([["transient", ">", False]], "filters[0][1]")


def test_ordering_a_list_is_rejected() -> None:
    assert_rejected_at([["message_ids", "<", ["m"]]], "filters[0][1]")


def test_rin_on_an_integer_field_is_rejected() -> None:
    assert_rejected_at([["exc_info.errno", "rin", 5]], "filters[0][1]")


def test_ends_with_on_a_time_is_rejected() -> None:
    assert_rejected_at([["time_created", "$", "Z"]], "filters[0][1]")


def test_a_string_for_an_integer_field_is_rejected() -> None:
    assert_rejected_at([["state", "=", "RUNNING"], ["progress.percent", ">", "50"]],
                       "filters[1][2]", "integer")


def test_a_boolean_for_an_integer_field_is_rejected() -> None:
    assert_rejected_at([["progress.percent", "=", True]], "filters[0][2]", "integer")


def test_a_float_for_an_integer_field_is_rejected() -> None:
    assert_rejected_at([["progress.percent", "=", 50.5]], "filters[0][2]", "integer")


def test_a_string_for_a_boolean_field_is_rejected() -> None:
    assert_rejected_at([["abortable", "=", "true"]], "filters[0][2]", "true or false")


def test_a_number_for_a_string_field_is_rejected() -> None:
    assert_rejected_at([["method", "=", 3]], "filters[0][2]", "string")


def test_null_for_a_field_that_is_never_null_is_rejected() -> None:
    assert_rejected_at([["state", "=", None]], "filters[0][2]", "never null")


def test_null_with_an_ordering_operator_is_rejected() -> None:
    assert_rejected_at([["progress.percent", ">", None]], "filters[0][2]")


def test_in_without_a_list_is_rejected() -> None:
    assert_rejected_at([["state", "in", "RUNNING"]], "filters[0][2]", "list")


def test_in_with_more_than_a_hundred_values_is_rejected() -> None:
    assert_rejected_at([["id", "in", [f"j-{i}" for i in range(101)]]], "filters[0][2]", "100")


def test_in_with_a_member_of_the_wrong_type_names_the_member() -> None:
    assert_rejected_at([["progress.percent", "in", [1, "2"]]], "filters[0][2][1]", "integer")


def test_a_list_value_for_a_list_field_must_hold_strings() -> None:
    assert_rejected_at([["message_ids", "=", ["m-1", 2]]], "filters[0][2][1]", "string")


def test_rin_with_a_non_string_value_is_rejected() -> None:
    assert_rejected_at([["message_ids", "rin", ["m-1"]]], "filters[0][2]", "string")


def test_an_unknown_state_is_rejected_naming_the_states() -> None:
    assert_rejected_at([["state", "=", "DONE"]], "filters[0][2]",
                       "WAITING, RUNNING, SUCCESS, FAILED, ABORTED")


def test_an_unknown_state_in_a_list_is_rejected() -> None:
    assert_rejected_at([["state", "in", ["SUCCESS", "DONE"]]], "filters[0][2][1]", "ABORTED")


def test_an_unparseable_time_is_rejected() -> None:
    assert_rejected_at([["time_created", ">", "yesterday"]], "filters[0][2]", "ISO 8601")


def test_an_impossible_date_is_rejected() -> None:
    assert_rejected_at([["time_created", ">", "2026-02-30"]], "filters[0][2]")


def test_a_time_with_sub_millisecond_precision_is_rejected() -> None:
    assert_rejected_at([["time_created", ">=", "2026-11-23T04:36:22.0265Z"]], "filters[0][2]",
                       "millisecond")


def test_a_time_prefix_that_is_not_the_stored_form_is_rejected() -> None:
    assert_rejected_at([["time_created", "^", "23/11/2026"]], "filters[0][2]")


def test_malformed_json_is_rejected_naming_filters() -> None:
    with pytest.raises(BadRequest) as caught:
        parse_filters_json('[["state", "=", ')

    assert caught.value.message.startswith("filters: ")


def test_json_that_is_not_a_list_is_rejected_naming_filters() -> None:
    with pytest.raises(BadRequest) as caught:
        parse_filters_json('{"state": "RUNNING"}')

    assert caught.value.details["path"] == "filters"


def test_a_non_list_is_rejected_at_the_given_path() -> None:
    with pytest.raises(BadRequest) as caught:
        parse_filters("state=RUNNING", path="query.filters")

    assert caught.value.message.startswith("query.filters: ")


def test_a_bare_filter_not_wrapped_in_a_list_is_rejected_with_a_hint() -> None:
    assert_rejected_at(["state", "=", "RUNNING"], "filters[0]", "outer list")


def test_a_filter_of_the_wrong_length_is_rejected() -> None:
    assert_rejected_at([["state", "="]], "filters[0][0]")


def test_a_filter_of_four_items_is_rejected() -> None:
    assert_rejected_at([["state", "=", "RUNNING", "x"]], "filters[0]")


def test_and_is_rejected_because_truenas_has_no_and() -> None:
    assert_rejected_at([["AND", [["state", "=", "RUNNING"]]]], "filters[0][0]", "AND")


def test_an_or_without_branches_is_rejected() -> None:
    assert_rejected_at([["OR", []]], "filters[0][1]", "non-empty")


def test_an_empty_or_branch_is_rejected() -> None:
    assert_rejected_at([["OR", [["state", "=", "RUNNING"], []]]], "filters[0][1][1]")


def test_an_error_deep_in_an_or_names_its_full_path() -> None:
    filters = [["OR", [[["state", "=", "RUNNING"], ["colour", "=", "red"]]]]]

    assert_rejected_at(filters, "filters[0][1][0][1][0]", "unknown field")


def test_more_than_fifty_conditions_are_rejected() -> None:
    filters = [["id", "=", f"j-{i}"] for i in range(51)]

    assert_rejected_at(filters, "filters[50]", "at most 50")


def test_conditions_inside_ors_count_towards_the_limit() -> None:
    branches = [["id", "=", f"j-{i}"] for i in range(30)]
    filters: list[Any] = [["OR", branches]] + [["id", "=", f"k-{i}"] for i in range(21)]

    assert_rejected_at(filters, "filters[21]", "too many conditions")


def test_fifty_conditions_are_allowed() -> None:
    filters = [["id", "!=", f"j-{i}"] for i in range(50)]

    assert matches(filters, job(id="other"))


def test_six_nested_ors_are_rejected() -> None:
    filters: list[Any] = ["state", "=", "RUNNING"]
    for _ in range(6):
        filters = ["OR", [filters]]

    assert_rejected_at([filters], "filters[0][1][0][1][0][1][0][1][0][1][0]", "nested")


def test_a_regex_longer_than_256_characters_is_rejected() -> None:
    assert_rejected_at([["description", "~", "a" * 257]], "filters[0][2]", "256")


def test_a_regex_with_a_backreference_is_rejected_saying_why() -> None:
    assert_rejected_at([["description", "~", r"(a)\1"]], "filters[0][2]", "backreferences")


def test_a_regex_with_lookahead_is_rejected_saying_why() -> None:
    assert_rejected_at([["description", "~", "a(?=b)"]], "filters[0][2]", "lookahead")


def test_an_invalid_regex_is_rejected() -> None:
    assert_rejected_at([["description", "~", "(unclosed"]], "filters[0][2]", "invalid regex")


def test_a_too_long_string_value_is_rejected() -> None:
    assert_rejected_at([["description", "=", "x" * 1025]], "filters[0][2]", "too long")


def test_a_huge_unknown_field_name_is_not_echoed_back() -> None:
    error = rejected([["x" * 10_000, "=", 1]])

    assert len(error.message) < 300


def test_a_rejected_value_is_not_echoed_back() -> None:
    error = rejected([["state", "=", "secret-token-value"]])

    assert "secret-token-value" not in error.message
