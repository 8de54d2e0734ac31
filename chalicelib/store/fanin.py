"""Fan-in: a parent's children, the task token its execution waits on, and
the one wake that ends the wait."""

from __future__ import annotations

from typing import Any

from chalicelib import items
from chalicelib.errors import TransitionRejected
from chalicelib.models import Job
from chalicelib.states import JobState
from chalicelib.store.table import Table, Update


class FanIn(Table):
    def begin_children(self, job: Job, total: int, weight_total: int,
                       handler_result: Any, logs: dict[str, str] | None = None) -> Job:
        """Set a RUNNING job's fan-in counters, once, before any child exists.

        From here the job is abortable whatever its method says: its own
        handler has returned, and cancelling it cancels its children.
        """
        update = Update()
        for name, value in (("child_total", total), ("child_pending", total),
                            ("child_succeeded", 0), ("child_failed", 0),
                            ("child_aborted", 0), ("child_weight_total", weight_total),
                            ("child_weight_done", 0)):
            update.set(name, {"N": str(value)})
        update.set("abortable", {"BOOL": True})
        if handler_result is not None:
            update.set("handler_result", {"S": items.dumps(handler_result)})
        for name, text in (logs or {}).items():
            update.set(name, {"S": text})
        update.remove("children_spec")
        # Once, and only while RUNNING: a repeated Run, or one after a cancel,
        # must not reset counters that children may already be moving.
        condition = update.state_in([JobState.RUNNING]) + \
            f" AND attribute_not_exists({update.name('child_total')})"
        return self._apply(job.id, update, condition)

    def put_children(self, children: list[Job]) -> None:
        """Write new child records (BatchWriteItem, 25 a call). Their ids are
        derived from the parent's, so writing them again changes nothing."""
        self._batch_write([{"PutRequest": {"Item": items.to_item(child)}}
                           for child in children])

    def set_wait_token(self, job_id: str, token: str) -> Job:
        """Store the task token the parent's execution waits on; the record
        comes back, so the caller sees whether the children are done already."""
        update = Update()
        update.set("wait_token", {"S": token})
        # A parent cancelled or ended meanwhile gets no token: its caller resumes.
        condition = update.state_in([JobState.RUNNING]) + \
            f" AND attribute_exists({update.name('child_total')})"
        return self._apply(job_id, update, condition)

    def mark_woken(self, job_id: str, token: str) -> bool:
        """Only one of the many that may see a parent ready sends its token:
        the one whose write this is. Readiness never reverts (the counters
        only move one way), so it need not be part of the condition."""
        update = Update()
        update.set("woken_token", {"S": token})
        token_value = update.value({"S": token})
        woken = update.name("woken_token")
        condition = (f"{update.name('wait_token')} = {token_value} AND "
                     f"(attribute_not_exists({woken}) OR {woken} <> {token_value})")
        try:
            self._apply(job_id, update, condition, returns=False)
        except TransitionRejected:
            return False
        return True
