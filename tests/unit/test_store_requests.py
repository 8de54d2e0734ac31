"""The store's request builders, pure: no client, no moto."""

from __future__ import annotations

from dataclasses import fields

import pytest
from botocore.exceptions import ClientError

from chalicelib import items, keys
from chalicelib.errors import ServiceUnavailable, TransitionRejected
from chalicelib.models import Outcome
from chalicelib.query.planner import Plan
from chalicelib.states import TERMINAL_STATES, JobState, sources_of
from chalicelib.store import DuplicateJob, IndexEntry, LockHeld
from chalicelib.store.files import DOWNLOAD_CLAIMABLE
from chalicelib.store.index import key_condition, terminal_ids_request
from chalicelib.store.records import lock_put
from chalicelib.store.table import Update, key, translate
from chalicelib.store.transitions import (
    ABORTABLE_RUNNING,
    ABORTABLE_WAITING,
    RUNNABLE,
    finishable,
    parent_count,
    state_update,
)
from tests.unit.samples import a_job


def client_error(code: str, **response: object) -> ClientError:
    return ClientError({"Error": {"Code": code}, **response}, "UpdateItem")


def test_a_key_names_the_record_by_id() -> None:
    assert key("job-1") == {"id": {"S": "job-1"}}


def test_every_name_and_value_gets_its_own_placeholder() -> None:
    update = Update()
    update.set("state", {"S": "RUNNING"})
    update.set("error", {"S": "boom"})
    update.remove("active_shard")

    request = update.request("jobs", key("j"), "attribute_exists(id)")
    again = update.request("jobs", key("j"), "attribute_exists(id)")

    # Every write also counts the record's revision (issue 17), once.
    assert request["UpdateExpression"] == "SET #n0 = :v0, #n1 = :v1 REMOVE #n2 ADD #n3 :v2"
    assert request["ExpressionAttributeNames"] == {
        "#n0": "state", "#n1": "error", "#n2": "active_shard", "#n3": "revision"}
    assert request["ExpressionAttributeValues"] == {":v0": {"S": "RUNNING"}, ":v1": {"S": "boom"},
                                                    ":v2": {"N": "1"}}
    assert again == request


def test_an_update_asks_for_the_old_record_when_its_condition_fails() -> None:
    request = Update().request("jobs", key("j"), "c")

    assert request["ReturnValuesOnConditionCheckFailure"] == "ALL_OLD"
    assert request["TableName"] == "jobs"
    assert request["ConditionExpression"] == "c"


def test_an_update_that_only_removes_still_counts_the_revision() -> None:
    update = Update()
    update.remove("abort_deadline")

    request = update.request("jobs", key("j"), "attribute_exists(id)")

    assert request["UpdateExpression"] == "REMOVE #n0 ADD #n1 :v0"
    assert request["ExpressionAttributeValues"] == {":v0": {"N": "1"}}


def test_an_appended_list_starts_empty_when_the_attribute_is_missing() -> None:
    update = Update()
    update.set("message_ids", {"L": [{"S": "m"}]}, append=True)

    request = update.request("jobs", key("j"), "c")

    assert request["UpdateExpression"] == \
        "SET #n0 = list_append(if_not_exists(#n0, :v1), :v0) ADD #n1 :v2"
    assert request["ExpressionAttributeValues"][":v1"] == {"L": []}


def test_a_copy_sets_one_attribute_from_another() -> None:
    update = Update()
    update.copy("tenant_state", "claimed_tenant_state")

    assert update.request("jobs", key("j"), "c")["UpdateExpression"] == \
        "SET #n0 = #n1 ADD #n2 :v0"


def test_a_state_condition_lists_each_state_as_a_value() -> None:
    update = Update()

    condition = update.state_in([JobState.WAITING, JobState.RUNNING])

    assert condition == "#n0 IN (:v0, :v1)"
    assert update.names == {"#n0": "state"}
    assert update.values == {":v0": {"S": "WAITING"}, ":v1": {"S": "RUNNING"}}


def test_a_terminal_transition_puts_the_job_in_the_state_index() -> None:
    update = state_update(JobState.SUCCESS, "acme", "now")

    values = update.request("jobs", key("j"), "c")["ExpressionAttributeValues"]

    assert values == {":v0": {"S": "SUCCESS"}, ":v1": {"S": "now"},
                      ":v2": {"S": keys.tenant_state("acme", JobState.SUCCESS)},
                      ":v3": {"N": "1"}}  # the revision


def test_the_claim_touches_no_index_key() -> None:
    """WAITING -> RUNNING: by_tenant_state holds finished jobs only, and
    by_active's entry (keys and projection) does not change (issue 23)."""
    update = state_update(JobState.RUNNING, "acme", "now")

    values = update.request("jobs", key("j"), "c")["ExpressionAttributeValues"]

    assert values == {":v0": {"S": "RUNNING"}, ":v1": {"S": "now"},
                      ":v2": {"N": "1"}}  # the revision


def test_marking_running_starts_from_what_the_table_allows_to_become_running() -> None:
    assert RUNNABLE == sources_of(JobState.RUNNING) == [JobState.WAITING]


@pytest.mark.parametrize("target", sorted(TERMINAL_STATES))
def test_a_finish_starts_only_from_running(target: JobState) -> None:
    assert finishable(target) == [JobState.RUNNING]
    assert set(finishable(target)) <= set(sources_of(target))


def test_an_abort_starts_from_one_of_the_sources_the_table_gives_aborted() -> None:
    assert ABORTABLE_WAITING == [JobState.WAITING]
    assert ABORTABLE_RUNNING == [JobState.RUNNING]
    assert set(ABORTABLE_WAITING + ABORTABLE_RUNNING) == set(sources_of(JobState.ABORTED))


def test_a_download_claim_starts_from_what_the_table_allows_to_succeed() -> None:
    assert DOWNLOAD_CLAIMABLE == sources_of(JobState.SUCCESS) == [JobState.RUNNING]


def test_a_narrowed_transition_outside_the_table_is_refused() -> None:
    with pytest.raises(ValueError, match="ALLOWED_TRANSITIONS"):
        sources_of(JobState.RUNNING, JobState.SUCCESS)


def test_a_free_lock_is_taken_only_if_absent() -> None:
    request = lock_put("jobs", "lock#acme#k", a_job(expires_at=99), None)

    assert request["Item"] == {"id": {"S": "lock#acme#k"},
                               "holder": {"S": a_job().id}, "expires_at": {"N": "99"}}
    assert request["ConditionExpression"] == "attribute_not_exists(id)"
    assert "ExpressionAttributeValues" not in request


def test_a_stale_lock_is_taken_only_from_the_holder_that_was_seen() -> None:
    request = lock_put("jobs", "lock#acme#k", a_job(), "old-holder")

    assert "expires_at" not in request["Item"]
    assert request["ConditionExpression"] == "holder = :stale"
    assert request["ExpressionAttributeValues"] == {":stale": {"S": "old-holder"}}


def test_a_successful_child_counts_on_its_parent_without_naming_itself() -> None:
    child = a_job(parent_id="parent-1", weight=3)

    request = parent_count("jobs", child, JobState.SUCCESS)

    assert request["Key"] == key("parent-1")
    assert request["UpdateExpression"] == \
        "ADD #pending :minus, #ended :one, #weight :weight, #revision :one"
    assert request["ExpressionAttributeNames"]["#ended"] == "child_succeeded"
    assert request["ExpressionAttributeValues"][":weight"] == {"N": "3"}
    assert request["ConditionExpression"] == "attribute_exists(#total)"


def test_a_failed_child_is_remembered_as_the_first_failure_if_none_was() -> None:
    child = a_job(parent_id="parent-1")

    request = parent_count("jobs", child, JobState.FAILED)

    assert request["UpdateExpression"].endswith(" SET #first = if_not_exists(#first, :child)")
    assert request["ExpressionAttributeNames"]["#ended"] == "child_failed"
    assert request["ExpressionAttributeValues"][":child"] == {"S": child.id}


def test_an_outcome_sets_only_the_attributes_it_has() -> None:
    values = items.outcome_values(Outcome(state=JobState.FAILED, error="boom", expires_at=7))

    assert values == {"error": {"S": "boom"}, "expires_at": {"N": "7"}}


@pytest.mark.parametrize(("lower", "upper", "expression"), [
    (None, None, "#pk = :pk"),
    ("a", None, "#pk = :pk AND #sk >= :lo"),
    (None, "b", "#pk = :pk AND #sk <= :hi"),
    ("a", "b", "#pk = :pk AND #sk BETWEEN :lo AND :hi"),
])
def test_a_listing_reads_its_partition_within_the_created_range(
        lower: str | None, upper: str | None, expression: str) -> None:
    plan = Plan(keys.BY_TENANT_STATE, "tenant_state", "acme#RUNNING", lower, upper, False, True)

    text, values, names = key_condition(plan)

    assert text == expression
    assert values[":pk"] == {"S": "acme#RUNNING"}
    assert names["#pk"] == "tenant_state"
    assert ("#sk" in names) == (lower is not None or upper is not None)


def test_a_tenants_finished_ids_are_read_one_state_a_query() -> None:
    request = terminal_ids_request("jobs", "acme", [JobState.SUCCESS], "c", 10, None)

    assert request["IndexName"] == keys.BY_TENANT_STATE
    assert request["KeyConditionExpression"] == "tenant_state = :key AND created_key < :before"
    assert request["ExpressionAttributeValues"] == {
        ":key": {"S": "acme#SUCCESS"}, ":before": {"S": "c"}}
    assert "FilterExpression" not in request


def test_a_users_finished_ids_are_read_in_one_query_of_the_users_index() -> None:
    """by_tenant_user projects no state: the states are checked on the records."""
    request = terminal_ids_request("jobs", "acme", [JobState.SUCCESS, JobState.FAILED],
                                   None, 10, "alice")

    assert request["IndexName"] == keys.BY_TENANT_USER
    assert request["KeyConditionExpression"] == "tenant_user = :key"
    assert "FilterExpression" not in request


def test_an_index_entry_has_a_field_for_every_projected_attribute() -> None:
    names = {f.name for f in fields(IndexEntry)} - {"resume_key"}

    assert names == keys.TERMINAL_PROJECTION  # the widest listing projection
    assert keys.LISTING_PROJECTION < keys.TERMINAL_PROJECTION


def test_a_lost_write_carries_the_state_and_record_it_found() -> None:
    found = a_job(state=JobState.ABORTED)
    exc = client_error("ConditionalCheckFailedException", Item=items.to_item(found))

    rejected = translate(exc, found.id, creating=False)

    assert isinstance(rejected, TransitionRejected)
    assert rejected.actual_state is JobState.ABORTED
    assert rejected.job == found


def test_a_lost_write_on_a_missing_record_carries_no_state() -> None:
    rejected = translate(client_error("ConditionalCheckFailedException"), "j", creating=False)

    assert isinstance(rejected, TransitionRejected)
    assert rejected.actual_state is None
    assert rejected.job is None


def test_a_create_that_meets_a_record_answers_it_as_a_duplicate() -> None:
    existing = a_job()
    exc = client_error("ConditionalCheckFailedException", Item=items.to_item(existing))

    duplicate = translate(exc, existing.id, creating=True)

    assert isinstance(duplicate, DuplicateJob)
    assert duplicate.existing == existing


def test_a_create_that_meets_a_held_lock_names_its_holder() -> None:
    exc = client_error("TransactionCanceledException", CancellationReasons=[
        {"Code": "ConditionalCheckFailed", "Item": {"holder": {"S": "holder-1"}}},
        {"Code": "None"}])

    held = translate(exc, "j", creating=True)

    assert isinstance(held, LockHeld)
    assert held.holder_id == "holder-1"


def test_throttling_becomes_service_unavailable() -> None:
    assert isinstance(translate(client_error("ThrottlingException"), "j", False),
                      ServiceUnavailable)


def test_any_other_error_passes_through_untouched() -> None:
    exc = client_error("AccessDeniedException")

    assert translate(exc, "j", False) is exc
