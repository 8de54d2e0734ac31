"""A DynamoDB stream record of the jobs table -> one job event.

INSERT is `added`, REMOVE `removed` (deleted, consumed or expired by TTL),
MODIFY `changed` with the names of the public fields that moved. A write that
moves no public field (a wait token, a runner's bookkeeping) is no event, nor
is any write of an item that is not a job (a lock), and nothing follows a
terminal state's event but the job's removal: watchers see a job end once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib import items
from chalicelib.models import PUBLIC_FIELDS, Job
from chalicelib.states import JobState

# Fields every write moves: they tell a watcher nothing on their own.
BOOKKEEPING = frozenset({"revision", "time_updated"})


@dataclass(frozen=True)
class JobEvent:
    kind: str  # "added", "changed" or "removed"
    job: Job  # as the write left it (for `removed`: as it was)
    fields: tuple[str, ...] = ()  # for `changed`: the public fields that moved

    @property
    def revision(self) -> int:
        return self.job.revision


def event_of(record: dict[str, Any]) -> JobEvent | None:
    """The event a stream record stands for, or None (no public change)."""
    change = record.get("dynamodb", {})
    new, old = change.get("NewImage"), change.get("OldImage")
    if not is_job(new or old):  # a lock or a number block shares the table
        return None
    name = record.get("eventName")
    if name == "INSERT" and new:
        return JobEvent("added", items.from_item(new))
    if name == "REMOVE" and old:
        return JobEvent("removed", items.from_item(old))
    if name != "MODIFY" or not new or not old:
        return None
    before, after = items.from_item(old), items.from_item(new)
    if before.state in TERMINAL:
        return None
    moved = changed_fields(before, after)
    return JobEvent("changed", after, moved) if moved else None


def is_job(image: dict[str, Any] | None) -> bool:
    """Job items are the table's only items with a method (items.to_item)."""
    return bool(image) and "method" in image  # type: ignore[operator]


TERMINAL = frozenset({JobState.SUCCESS, JobState.FAILED, JobState.ABORTED})


def changed_fields(before: Job, after: Job) -> tuple[str, ...]:
    public = sorted(PUBLIC_FIELDS - BOOKKEEPING)
    old, new = before.model_dump(include=set(public)), after.model_dump(include=set(public))
    return tuple(name for name in public if old.get(name) != new.get(name))
