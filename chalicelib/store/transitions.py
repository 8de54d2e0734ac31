"""Transitions: the writes that move a job between states (mark running, finish,
abort), the progress a RUNNING job reports, and the release of an aborted
one. Each condition comes from states.ALLOWED_TRANSITIONS (`sources_of`)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from chalicelib import items, keys
from chalicelib.models import Job, Outcome, Progress, UploadState
from chalicelib.states import JobState, sources_of
from chalicelib.store.table import Table, Update, backoff, key, rejected, translate

TRANSACTION_ATTEMPTS = 10
TERMINAL_COUNTERS = {
    JobState.SUCCESS: "child_succeeded",
    JobState.FAILED: "child_failed",
    JobState.ABORTED: "child_aborted",
}
RUNNABLE = sources_of(JobState.RUNNING)
# A running job is aborted only while its handler can be told (abortable, see
# `abort`); any other source is aborted before it starts.
ABORTABLE_RUNNING = sources_of(JobState.ABORTED, JobState.RUNNING)
ABORTABLE_WAITING = sources_of(JobState.ABORTED, JobState.WAITING)


def finishable(target: JobState) -> list[JobState]:
    """Only a handler that ran ends its job: a WAITING job is aborted, never
    finished, though the table lets it reach ABORTED."""
    return sources_of(target, JobState.RUNNING)


class Transitions(Table):
    def mark_running(self, job_id: str, tenant_id: str, now: str) -> Job:
        """WAITING -> RUNNING, for the one worker that runs the job; returns the
        whole record, so the worker needs no read."""
        update = state_update(JobState.RUNNING, tenant_id, now)
        update.set("time_started", {"S": now})
        # Condition on WAITING: a cancel that won first, or a duplicate
        # invocation of the worker, finds the job taken and runs nothing. A job
        # whose file has not been uploaded yet stays WAITING (the worker then waits).
        upload = update.name("upload")
        condition = update.state_in(RUNNABLE) + \
            f" AND (attribute_not_exists({upload}) OR " + \
            f"{upload}.{update.name('state')} = {update.value({'S': UploadState.RECEIVED})})"
        return self._apply(job_id, update, condition)

    def report_progress(self, job_id: str, progress: Progress, now: str) -> None:
        update = Update()
        update.set("progress", items.progress_value(progress))
        update.set("time_updated", {"S": now})
        # Only a RUNNING job takes progress (no transition: it stays RUNNING).
        # Once a cancel or a finish has landed the condition fails, and that
        # failure is how the handler learns it was aborted: noticing costs no
        # extra call.
        self._apply(job_id, update, update.state_in([JobState.RUNNING]), returns=False)

    def finish(self, job: Job, outcome: Outcome, now: str) -> Job:
        """RUNNING -> a terminal state, with the outcome, in one write."""
        update = state_update(outcome.state, job.tenant_id, now)
        update.set("time_finished", {"S": now})
        for name, value in items.outcome_values(outcome).items():
            update.set(name, value)
        update.remove("active_shard")
        # A cancel that landed first keeps its ABORTED: terminal states stand.
        self._terminal(job, outcome.state, update,
                       update.state_in(finishable(outcome.state)))
        return _finished_copy(job, outcome, now)

    def abort(self, job: Job, now: str, reason: str, expires_at: int | None,
              stop_deadline: str | None) -> Job:
        """WAITING -> ABORTED, or RUNNING -> ABORTED for an abortable job.

        A RUNNING job keeps its place in the active index with a deadline:
        its handler is told through its next progress write, and the sweeper
        stops the execution if it is still going after the deadline.
        """
        update = state_update(JobState.ABORTED, job.tenant_id, now)
        update.set("time_finished", {"S": now})
        update.set("error", {"S": reason})
        if expires_at is not None:
            update.set("expires_at", {"N": str(expires_at)})
        if job.state is JobState.RUNNING and stop_deadline:
            condition = _stopping(update, job, stop_deadline)
        else:
            update.remove("active_shard")
            # A WAITING job parks on a token too (its upload's).
            condition = update.state_in(ABORTABLE_WAITING) + " AND " + \
                _token_as_read(update, job)
        # Conditioned on the state we read: a start or a finish that raced us
        # makes this fail, and the caller decides again on the new state.
        self._terminal(job, JobState.ABORTED, update, condition)
        return job.model_copy(update={
            "state": JobState.ABORTED, "time_finished": now, "time_updated": now,
            "error": reason, "expires_at": expires_at or job.expires_at,
            "abort_deadline": stop_deadline if job.state is JobState.RUNNING else None,
        })

    def release(self, job_id: str) -> None:
        """Drop an aborted job from the active index once its execution ended."""
        update = Update()
        update.remove("active_shard")
        update.remove("abort_deadline")
        # No transition (it stays ABORTED): a job deleted meanwhile is not recreated.
        self._apply(job_id, update, update.state_in([JobState.ABORTED]), returns=False)

    def _terminal(self, job: Job, target: JobState, update: Update, condition: str) -> None:
        """A job's move to a terminal state; a child's also counts it on its
        parent, in the same transaction, so no crash can lose the count."""
        if not job.parent_id:
            self._apply(job.id, update, condition, returns=False)
            return
        child = update.request(self._table, key(job.id), condition)
        parent = parent_count(self._table, job, target)
        try:
            self._transact(job.id, [{"Update": child}, {"Update": parent}])
        except _ParentGone:
            # The parent was deleted: nobody is waiting for this count.
            self._apply(job.id, update, condition, returns=False)

    def _transact(self, job_id: str, transaction: list[dict[str, Any]]) -> None:
        # Siblings finishing together all update their parent: DynamoDB
        # cancels transactions that collide on an item, so retry those.
        for attempt in range(TRANSACTION_ATTEMPTS):
            try:
                self._client.transact_write_items(TransactItems=transaction)
                return
            except ClientError as exc:
                reasons = exc.response.get("CancellationReasons", [])
                codes = [reason.get("Code") for reason in reasons]
                if "TransactionConflict" in codes and attempt + 1 < TRANSACTION_ATTEMPTS:
                    backoff(attempt)
                    continue
                if codes[:1] == ["ConditionalCheckFailed"]:
                    raise rejected(job_id, reasons[0].get("Item")) from exc
                if len(codes) > 1 and codes[1] == "ConditionalCheckFailed":
                    raise _ParentGone(job_id) from exc
                raise translate(exc, job_id, False) from exc


class _ParentGone(Exception):
    pass


def state_update(target: JobState, tenant_id: str, now: str) -> Update:
    """The start of every transition's update: the state, and the by-state
    index key when the target is terminal."""
    update = Update()
    update.set("state", items.state_value(target))
    update.set("time_updated", {"S": now})
    # by_tenant_state holds finished jobs only: a job enters it here, once.
    if target.is_terminal:
        update.set("tenant_state", {"S": keys.tenant_state(tenant_id, target)})
    return update


def parent_count(table: str, child: Job, target: JobState) -> dict[str, Any]:
    """The parent's half of a child's terminal write: one fewer pending, one
    more in the child's final state, the child's weight done."""
    names = {"#pending": "child_pending", "#ended": TERMINAL_COUNTERS[target],
             "#weight": "child_weight_done", "#total": "child_total", "#revision": "revision"}
    values: dict[str, Any] = {":minus": {"N": "-1"}, ":one": {"N": "1"},
                              ":weight": {"N": str(child.weight)}}
    expression = "ADD #pending :minus, #ended :one, #weight :weight, #revision :one"
    if target is not JobState.SUCCESS:
        names["#first"] = "first_failed_child"
        values[":child"] = {"S": child.id}
        expression += " SET #first = if_not_exists(#first, :child)"
    return {
        "TableName": table,
        "Key": key(child.parent_id or ""),
        "UpdateExpression": expression,
        # A deleted parent must not come back as a stub made of counters.
        "ConditionExpression": "attribute_exists(#total)",
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
    }


def _stopping(update: Update, job: Job, stop_deadline: str) -> str:
    """A RUNNING job's abort moves it to the stopping partition, with the
    deadline the sweeper holds it to; only an abortable one, its token as read."""
    update.set("abort_deadline", {"S": stop_deadline})
    update.set("active_shard", {"S": keys.stopping_shard(job.id)})
    return update.state_in(ABORTABLE_RUNNING) + " AND abortable = " + \
        update.value({"BOOL": True}) + " AND " + _token_as_read(update, job)


def _token_as_read(update: Update, job: Job) -> str:
    """The wait token is what the abort's caller read: a job that parked
    since must be woken with that token, so the caller retries on the record
    the refusal carries (TransitionRejected.job)."""
    token = update.name("wait_token")
    if job.wait_token is None:
        return f"attribute_not_exists({token})"
    return f"{token} = {update.value({'S': job.wait_token})}"


def _finished_copy(job: Job, outcome: Outcome, now: str) -> Job:
    """The record as the finish left it (a transaction returns no values)."""
    fields = outcome.model_dump(exclude_none=True, exclude={"state"})
    return job.model_copy(update={**fields, "state": outcome.state, "time_finished": now,
                                  "time_updated": now, "revision": job.revision + 1})
