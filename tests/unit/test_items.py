from __future__ import annotations

from chalicelib import items
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
    assert item["tenant_state"] == "acme#WAITING"
    assert item["tenant_method"] == "acme#demo.echo"
    assert item["tenant_user"] == "acme#alice"
    assert item["active_shard"].startswith("active#")


def test_finished_jobs_leave_the_sparse_active_index() -> None:
    item = items.deserialize(items.to_item(make_job(state=JobState.SUCCESS)))

    assert "active_shard" not in item


def test_absent_values_are_not_stored() -> None:
    item = items.deserialize(items.to_item(make_job(user_id=None)))

    assert "user_id" not in item and "tenant_user" not in item and "result" not in item
