"""A stream record of the jobs table -> one job event (chalicelib.events.changes)."""

from __future__ import annotations

from typing import Any

from chalicelib.events.changes import event_of
from chalicelib.items import to_item
from chalicelib.models import Job, Progress
from chalicelib.states import JobState
from tests.unit.samples import a_job


def record(name: str, old: Job | None = None, new: Job | None = None) -> dict[str, Any]:
    images: dict[str, Any] = {}
    if old is not None:
        images["OldImage"] = to_item(old)
    if new is not None:
        images["NewImage"] = to_item(new)
    return {"eventName": name, "dynamodb": images}


def test_an_insert_is_added_and_a_remove_is_removed() -> None:
    job = a_job()

    added, removed = event_of(record("INSERT", new=job)), event_of(record("REMOVE", old=job))

    assert added is not None and (added.kind, added.job.id, added.fields) == ("added", job.id, ())
    assert removed is not None and removed.kind == "removed" and removed.revision == 1


def test_a_modify_names_the_public_fields_that_moved() -> None:
    before = a_job(state=JobState.RUNNING)
    after = before.model_copy(update={"progress": Progress(percent=40), "revision": 2,
                                      "time_updated": "2026-11-23T04:00:01.000Z"})

    changed = event_of(record("MODIFY", before, after))

    assert changed is not None and changed.kind == "changed"
    assert changed.fields == ("progress",) and changed.revision == 2


def test_a_write_that_moves_nothing_public_is_no_event() -> None:
    before = a_job(state=JobState.RUNNING)
    after = before.model_copy(update={"wait_token": "t", "revision": 2,
                                      "time_updated": "2026-11-23T04:00:01.000Z"})

    assert event_of(record("MODIFY", before, after)) is None


def test_nothing_follows_a_terminal_state_but_the_removal() -> None:
    finished = a_job(state=JobState.SUCCESS)
    later = finished.model_copy(update={"description": "touched", "revision": 9})

    assert event_of(record("MODIFY", finished, later)) is None
    end = event_of(record("MODIFY", a_job(state=JobState.RUNNING), finished))
    assert end is not None and "state" in end.fields
    removal = event_of(record("REMOVE", old=later))
    assert removal is not None and removal.kind == "removed"


def test_a_record_without_its_images_is_no_event() -> None:
    assert event_of({"eventName": "MODIFY", "dynamodb": {}}) is None
    assert event_of({"eventName": "INSERT", "dynamodb": {}}) is None
