from __future__ import annotations

from chalicelib import items, keys
from chalicelib.models import ExcInfo, Job, Progress
from chalicelib.states import JobState


def make_job(**changes: object) -> Job:
    fields: dict[str, object] = {
        "id": "0b7e9f6a-0000-4000-8000-00000000abcd",
        "method": "demo.echo",
        "arguments": {"a": 1.5, "nested": {"b": [1, None, "x"]}},
        "time_created": "2026-11-23T04:00:00.000Z",
        "time_updated": "2026-11-23T04:00:00.000Z",
        "tenant_id": "acme",
        "user_id": "alice",
    }
    fields.update(changes)
    return Job.model_validate(fields)


def test_a_job_survives_the_round_trip_through_an_item() -> None:
    job = make_job(
        state=JobState.FAILED,
        progress=Progress(percent=40, description="copying", extra={"bytes": 10}),
        exc_info=ExcInfo(type="OSError", errno=28, repr="OSError(28)"),
        result=[1, 2.25, {"k": "v"}],
        message_ids=["m1", "m2"],
    )

    assert items.from_item(items.to_item(job)) == job


def test_index_keys_follow_the_record() -> None:
    item = items.deserialize(items.to_item(make_job()))

    assert item["created_key"] == "2026-11-23T04:00:00.000Z#0b7e9f6a-0000-4000-8000-00000000abcd"
    assert "tenant_state" not in item  # unfinished: in by_active, not by_tenant_state
    assert item["tenant_method"] == "acme#demo.echo"
    assert item["tenant_user"] == "acme#alice"
    assert item["active_shard"] == keys.active_shard("acme")
    assert item["active_key"] == "acme#" + item["created_key"]


def test_finished_jobs_leave_the_sparse_active_index() -> None:
    item = items.deserialize(items.to_item(make_job(state=JobState.SUCCESS)))

    assert "active_shard" not in item
    assert item["tenant_state"] == "acme#SUCCESS"


def test_a_tenants_unfinished_jobs_share_one_active_partition() -> None:
    one = items.deserialize(items.to_item(make_job(id="0b7e9f6a-0000-4000-8000-000000000001")))
    two = items.deserialize(items.to_item(make_job(id="0b7e9f6a-0000-4000-8000-000000000002")))

    assert one["active_shard"] == two["active_shard"]


def test_absent_values_are_not_stored() -> None:
    item = items.deserialize(items.to_item(make_job(user_id=None)))

    assert "user_id" not in item and "tenant_user" not in item and "result" not in item
