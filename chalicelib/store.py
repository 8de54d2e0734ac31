"""JobStore: the jobs table behind a small class. Every state change is one
conditional write, so the record in DynamoDB is always the truth.

botocore's ClientError is translated here and nowhere else.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from chalicelib import items, keys
from chalicelib.errors import ServiceUnavailable, TransitionRejected
from chalicelib.models import DownloadInfo, DownloadState, Job, Outcome, Progress, UploadState
from chalicelib.states import JobState

THROTTLING_CODES = frozenset({
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "TransactionConflictException",
})
ACTIVE = (JobState.WAITING, JobState.RUNNING)
BATCH_GET_LIMIT = 100
BATCH_GET_ATTEMPTS = 5
BATCH_WRITE_LIMIT = 25
BATCH_WRITE_ATTEMPTS = 8
TRANSACTION_ATTEMPTS = 10
CLAIMED_TENANT_STATE = "claimed_tenant_state"


@dataclass(frozen=True)
class IndexPage:
    items: list[dict[str, Any]]
    last_key: dict[str, Any] | None
    scanned: int


class DuplicateJob(Exception):
    """A job with this id exists already (a retried idempotent submit)."""

    def __init__(self, existing: Job) -> None:
        super().__init__(existing.id)
        self.existing = existing


class LockHeld(Exception):
    """Another job holds the lock; `holder_id` names it."""

    def __init__(self, holder_id: str) -> None:
        super().__init__(holder_id)
        self.holder_id = holder_id


class JobStore:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def create(self, job: Job) -> None:
        # attribute_not_exists: a retried idempotent submit (same derived id)
        # or an id collision can never overwrite a job; the loser gets the
        # existing record back in the same call.
        with self._translated(job.id, creating=True):
            self._client.put_item(**self._new_job_put(job))

    def create_locked(self, job: Job, lock_id: str, stale_holder: str | None) -> None:
        """Create `job` holding `lock_id`, atomically. The lock must be free, or
        still name `stale_holder` (a finished job that no longer holds it)."""
        lock = _LockPut(self._table, lock_id, job.id, job.expires_at, stale_holder)
        with self._translated(job.id, creating=True):
            self._client.transact_write_items(
                TransactItems=[{"Put": lock.request()}, {"Put": self._new_job_put(job)}]
            )

    def get(self, job_id: str) -> Job | None:
        with self._translated(job_id):
            answer = self._client.get_item(
                TableName=self._table, Key=_key(job_id), ConsistentRead=True
            )
        item = answer.get("Item")
        return items.from_item(item) if item and "method" in item else None

    def join(self, job_id: str, message_id: str) -> Job:
        """Append a caller's request id to an unfinished job (TrueNAS dedup)."""
        update = _Update()
        update.set("message_ids", {"L": [{"S": message_id}]}, append=True)
        # Only an unfinished job can be joined; a finished one frees its lock.
        return self._apply(job_id, update, update.state_in(ACTIVE))

    def claim(self, job_id: str, tenant_id: str, now: str) -> Job:
        """WAITING -> RUNNING; returns the whole record, so the worker needs no read."""
        update = _state_update(JobState.RUNNING, tenant_id, now)
        update.set("time_started", {"S": now})
        # Condition on WAITING: a cancel that won first, or a duplicate
        # invocation of the worker, finds the job taken and runs nothing. A job
        # whose file has not been uploaded yet stays WAITING (the worker then waits).
        upload = update.name("upload")
        condition = update.state_in([JobState.WAITING]) + \
            f" AND (attribute_not_exists({upload}) OR " + \
            f"{upload}.{update.name('state')} = {update.value({'S': UploadState.RECEIVED})})"
        return self._apply(job_id, update, condition)

    def report_progress(self, job_id: str, progress: Progress, now: str) -> None:
        update = _Update()
        update.set("progress", items.progress_value(progress))
        update.set("time_updated", {"S": now})
        # Only a RUNNING job takes progress. Once a cancel or a finish has
        # landed the condition fails, and that failure is how the handler
        # learns it was aborted: noticing costs no extra call.
        self._apply(job_id, update, update.state_in([JobState.RUNNING]), returns=False)

    def finish(self, job: Job, outcome: Outcome, now: str) -> Job:
        """RUNNING -> a terminal state, with the outcome, in one write."""
        update = _state_update(outcome.state, job.tenant_id, now)
        update.set("time_finished", {"S": now})
        for name, value in _outcome_attributes(outcome).items():
            update.set(name, value)
        update.remove("active_shard")
        # A cancel that landed first keeps its ABORTED: terminal states stand.
        self._terminal(job, outcome.state, update, update.state_in([JobState.RUNNING]))
        return _finished_copy(job, outcome, now)

    def abort(self, job: Job, now: str, reason: str, expires_at: int | None,
              stop_deadline: str | None) -> Job:
        """WAITING -> ABORTED, or RUNNING -> ABORTED for an abortable job.

        A RUNNING job keeps its place in the active index with a deadline:
        its handler is told through its next progress write, and the sweeper
        stops the execution if it is still going after the deadline.
        """
        update = _state_update(JobState.ABORTED, job.tenant_id, now)
        update.set("time_finished", {"S": now})
        update.set("error", {"S": reason})
        if expires_at is not None:
            update.set("expires_at", {"N": str(expires_at)})
        if job.state is JobState.RUNNING and stop_deadline:
            update.set("abort_deadline", {"S": stop_deadline})
            update.set("active_shard", {"S": keys.stopping_shard(job.id)})
            condition = update.state_in([JobState.RUNNING]) + " AND abortable = " + \
                update.value({"BOOL": True}) + " AND " + _token_as_read(update, job)
        else:
            update.remove("active_shard")
            condition = update.state_in([JobState.WAITING])
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
        update = _Update()
        update.remove("active_shard")
        update.remove("abort_deadline")
        self._apply(job_id, update, update.state_in([JobState.ABORTED]), returns=False)

    def begin_children(self, job: Job, total: int, weight_total: int,
                       handler_result: Any, logs: dict[str, str] | None = None) -> Job:
        """Set a RUNNING job's fan-in counters, once, before any child exists.

        From here the job is abortable whatever its method says: its own
        handler has returned, and cancelling it cancels its children.
        """
        update = _Update()
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
        condition = update.state_in([JobState.RUNNING]) + \
            f" AND attribute_not_exists({update.name('child_total')})"
        return self._apply(job.id, update, condition)

    def put_children(self, children: list[Job]) -> None:
        """Write new child records (BatchWriteItem, 25 a call). Their ids are
        derived from the parent's, so writing them again changes nothing."""
        self._batch_write([{"PutRequest": {"Item": items.to_item(child)}}
                           for child in children])

    def _batch_write(self, requests: list[dict[str, Any]]) -> None:
        for start in range(0, len(requests), BATCH_WRITE_LIMIT):
            pending: dict[str, Any] = {self._table: requests[start:start + BATCH_WRITE_LIMIT]}
            for attempt in range(BATCH_WRITE_ATTEMPTS):
                with self._translated("batch"):
                    answer = self._client.batch_write_item(RequestItems=pending)
                pending = answer.get("UnprocessedItems") or {}
                if not pending:
                    break
                _backoff(attempt)
            if pending:
                raise ServiceUnavailable("the job store is busy; retry shortly")

    def set_wait_token(self, job_id: str, token: str) -> Job:
        """Store the task token the parent's execution waits on; the record
        comes back, so the caller sees whether the children are done already."""
        update = _Update()
        update.set("wait_token", {"S": token})
        condition = update.state_in([JobState.RUNNING]) + \
            f" AND attribute_exists({update.name('child_total')})"
        return self._apply(job_id, update, condition)

    def claim_wake(self, job_id: str, token: str) -> bool:
        """Only one of the many that may see a parent ready sends its token:
        the one whose write this is. Readiness never reverts (the counters
        only move one way), so it need not be part of the condition."""
        update = _Update()
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

    # Removal (chalicelib.removal).

    def delete(self, job_id: str) -> Job:
        """Remove a job's record; answers it as it was. Of concurrent deletes
        (or consumes) of one job exactly one gets it: the others find nothing."""
        with self._translated(job_id):
            try:
                answer = self._client.delete_item(
                    TableName=self._table, Key=_key(job_id),
                    ConditionExpression="attribute_exists(id)", ReturnValues="ALL_OLD")
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                    raise TransitionRejected(job_id, None) from exc
                raise
        return items.from_item(answer["Attributes"])

    def delete_many(self, job_ids: list[str]) -> None:
        """Remove records by id (BatchWriteItem, 25 a call); missing ones are fine."""
        self._batch_write([{"DeleteRequest": {"Key": _key(job_id)}} for job_id in job_ids])

    def terminal_ids(self, tenant_id: str, states: list[JobState], created_before: str | None,
                     limit: int, start_key: dict[str, Any] | None = None,
                     user_id: str | None = None,
                     ) -> tuple[list[str], dict[str, Any] | None]:
        """A page of ids of a tenant's jobs in terminal states, oldest first, and
        where the next page starts (None: no more). For a tenant, one state a
        query (by_tenant_state keys on it); for one user, every state in one
        query of by_tenant_user, filtered, so the user's jobs are read once."""
        values: dict[str, Any] = {}
        request: dict[str, Any] = {"TableName": self._table, "ProjectionExpression": "id",
                                   "Limit": limit}
        if user_id is None:
            (state,) = states
            request["IndexName"] = keys.BY_TENANT_STATE
            condition = "tenant_state = :key"
            values[":key"] = {"S": keys.tenant_state(tenant_id, state)}
        else:
            request["IndexName"] = keys.BY_TENANT_USER
            condition = "tenant_user = :key"
            values[":key"] = {"S": keys.tenant_user(tenant_id, user_id)}
            names = [f":state{n}" for n in range(len(states))]
            request["FilterExpression"] = f"#state IN ({', '.join(names)})"
            request["ExpressionAttributeNames"] = {"#state": "state"}
            values.update({name: items.state_value(s) for name, s in zip(names, states,
                                                                           strict=True)})
        if created_before is not None:
            condition += " AND created_key < :before"
            values[":before"] = {"S": created_before}
        request["KeyConditionExpression"] = condition
        request["ExpressionAttributeValues"] = values
        if start_key:
            request["ExclusiveStartKey"] = start_key
        with self._translated(",".join(state.value for state in states)):
            answer = self._client.query(**request)
        return [item["id"]["S"] for item in answer.get("Items", [])], \
            answer.get("LastEvaluatedKey")

    # Files (chalicelib.downloads, chalicelib.uploads).

    def offer_download(self, job: Job, outcome: Outcome, expires_at: int, now: str,
                       wait_deadline: str) -> None:
        """The handler wrote its file: stage the outcome (shown once the job
        succeeds) and mark the file READY; the job stays RUNNING until the
        download is claimed or its window passes. From here it is abortable:
        its handler has returned."""
        update = _Update()
        update.set("time_updated", {"S": now})
        for name, value in _outcome_attributes(outcome).items():
            update.set(name, value)
        update.set("expires_at", {"N": str(expires_at)})
        update.set("abortable", {"BOOL": True})
        update.set("wait_deadline", {"S": wait_deadline})  # the sweeper's backstop
        # The claim cannot know the tenant (the link carries only the job id
        # and token), yet must move the by-state index key in its one write:
        # it copies this value over tenant_state.
        update.set(CLAIMED_TENANT_STATE, {"S": keys.tenant_state(job.tenant_id, JobState.SUCCESS)})
        self._apply(job.id, update, update.state_in([JobState.RUNNING]), returns=False)

    def claim_download(self, job_id: str, token_hash: str, now: str) -> Job:
        """The one download: READY -> CLAIMED and RUNNING -> SUCCESS in one
        conditional write on the token's hash. Of any number of concurrent
        claims exactly one passes; the others learn why from the old record."""
        update = _Update()
        update.set("state", items.state_value(JobState.SUCCESS))
        update.set("time_updated", {"S": now})
        update.set("time_finished", {"S": now})
        download_state = f"{update.name('download')}.{update.name('state')}"
        update.set_path(download_state, {"S": DownloadState.CLAIMED})
        update.copy("tenant_state", CLAIMED_TENANT_STATE)
        update.remove(CLAIMED_TENANT_STATE)
        update.remove("active_shard")
        update.remove("wait_deadline")
        condition = (update.state_in([JobState.RUNNING]) + f" AND {download_state} = "
                     f"{update.value({'S': DownloadState.READY})} AND "
                     f"{update.name('download_token_hash')} = {update.value({'S': token_hash})}")
        return self._apply(job_id, update, condition)

    def rotate_download_token(self, job_id: str, token_hash: str) -> None:
        """A replayed submit gets a new link; the old one stops working. Only
        while the file has not been downloaded."""
        update = _Update()
        update.set("download_token_hash", {"S": token_hash})
        download_state = f"{update.name('download')}.{update.name('state')}"
        condition = update.state_in(ACTIVE) + f" AND {download_state} IN (" + \
            f"{update.value({'S': DownloadState.PENDING})}, " + \
            f"{update.value({'S': DownloadState.READY})})"
        self._apply(job_id, update, condition, returns=False)

    def await_file(self, job_id: str, token: str, kind: str) -> Job:
        """Store the task token of an execution waiting for an upload (the job
        WAITING, its file PENDING) or for a download (RUNNING, file READY).
        Rejected when the wait is over already: the caller then resumes."""
        update = _Update()
        update.set("wait_token", {"S": token})
        if kind == "upload":
            state, waiting = JobState.WAITING, UploadState.PENDING.value
        else:
            state, waiting = JobState.RUNNING, DownloadState.READY.value
        condition = update.state_in([state]) + \
            f" AND {update.name(kind)}.{update.name('state')} = {update.value({'S': waiting})}"
        return self._apply(job_id, update, condition)

    def mark_upload_received(self, job_id: str, size: int) -> Job:
        """The client's PUT landed (S3 event): PENDING -> RECEIVED, once."""
        update = _Update()
        upload = update.name("upload")
        received = f"{upload}.{update.name('state')}"
        update.set_path(received, {"S": UploadState.RECEIVED})
        update.set_path(f"{upload}.{update.name('received_size')}", {"N": str(size)})
        update.remove("wait_deadline")
        condition = update.state_in([JobState.WAITING]) + \
            f" AND {received} = {update.value({'S': UploadState.PENDING})}"
        return self._apply(job_id, update, condition)

    def active_entries(self, shard: str, created_before: str | None = None,
                       most: int = 1000, page: int = 100) -> Iterator[dict[str, Any]]:
        """Jobs of one partition of the sparse by_active index (see keys.py),
        oldest first, at most `most` of them; `created_before` bounds the
        created_key. Plain values of the projected attributes."""
        condition = "active_shard = :shard"
        values: dict[str, Any] = {":shard": {"S": shard}}
        if created_before is not None:
            condition += " AND created_key < :before"
            values[":before"] = {"S": created_before}
        request: dict[str, Any] = {
            "TableName": self._table, "IndexName": keys.BY_ACTIVE,
            "KeyConditionExpression": condition, "ExpressionAttributeValues": values}
        seen = 0
        while seen < most:
            request["Limit"] = min(page, most - seen)
            with self._translated(shard):
                answer = self._client.query(**request)
            for item in answer.get("Items", []):
                seen += 1
                yield items.deserialize(item)
            if "LastEvaluatedKey" not in answer:
                return
            request["ExclusiveStartKey"] = answer["LastEvaluatedKey"]

    def query_page(self, index: str, condition: tuple[str, dict[str, Any], dict[str, str]],
                   forward: bool, limit: int, start_key: dict[str, Any] | None) -> IndexPage:
        """One Query page of a listing index: projected items, plain values."""
        expression, values, names = condition
        request: dict[str, Any] = {
            "TableName": self._table, "IndexName": index, "KeyConditionExpression": expression,
            "ExpressionAttributeValues": values, "ExpressionAttributeNames": names,
            "ScanIndexForward": forward, "Limit": limit,
        }
        if start_key:
            request["ExclusiveStartKey"] = start_key
        with self._translated(index):
            answer = self._client.query(**request)
        return IndexPage(
            items=[items.deserialize(item) for item in answer.get("Items", [])],
            last_key=answer.get("LastEvaluatedKey"),
            scanned=int(answer.get("ScannedCount", 0)),
        )

    def get_many(self, job_ids: list[str], consistent: bool = False) -> dict[str, Job]:
        """Full records by id (BatchGetItem, 100 a call); missing ids are left out."""
        found: dict[str, Job] = {}
        for start in range(0, len(job_ids), BATCH_GET_LIMIT):
            pending: dict[str, Any] = {self._table: {
                "Keys": [_key(job_id) for job_id in job_ids[start:start + BATCH_GET_LIMIT]],
                "ConsistentRead": consistent}}
            for _ in range(BATCH_GET_ATTEMPTS):
                with self._translated("batch"):
                    answer = self._client.batch_get_item(RequestItems=pending)
                for item in answer.get("Responses", {}).get(self._table, []):
                    job = items.from_item(item)
                    found[job.id] = job
                pending = answer.get("UnprocessedKeys") or {}
                if not pending:
                    break
            if pending:
                raise ServiceUnavailable("the job store is busy; retry shortly")
        return found

    def _terminal(self, job: Job, target: JobState, update: _Update, condition: str) -> None:
        """A job's move to a terminal state; a child's also counts it on its
        parent, in the same transaction, so no crash can lose the count."""
        if not job.parent_id:
            self._apply(job.id, update, condition, returns=False)
            return
        child = update.request(self._table, _key(job.id), condition)
        parent = _parent_count(self._table, job, target)
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
                    _backoff(attempt)
                    continue
                if codes[:1] == ["ConditionalCheckFailed"]:
                    old = reasons[0].get("Item") or {}
                    raise TransitionRejected(job_id, old.get("state", {}).get("S")) from exc
                if len(codes) > 1 and codes[1] == "ConditionalCheckFailed":
                    raise _ParentGone(job_id) from exc
                raise _translate(exc, job_id, False) from exc

    def _new_job_put(self, job: Job) -> dict[str, Any]:
        return {
            "TableName": self._table,
            "Item": items.to_item(job),
            "ConditionExpression": "attribute_not_exists(id)",
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }

    def _apply(self, job_id: str, update: _Update, condition: str, returns: bool = True) -> Job:
        request = update.request(self._table, _key(job_id), condition)
        if returns:
            request["ReturnValues"] = "ALL_NEW"
        with self._translated(job_id):
            answer = self._client.update_item(**request)
        return items.from_item(answer["Attributes"]) if returns else None  # type: ignore[return-value]

    @contextmanager
    def _translated(self, job_id: str, creating: bool = False) -> Iterator[None]:
        try:
            yield
        except ClientError as exc:
            raise _translate(exc, job_id, creating) from exc


def _token_as_read(update: _Update, job: Job) -> str:
    """The wait token is what the abort's caller read: a parent that stored
    one since must be woken with it, so the caller reads again and retries."""
    token = update.name("wait_token")
    if job.wait_token is None:
        return f"attribute_not_exists({token})"
    return f"{token} = {update.value({'S': job.wait_token})}"


class _Update:
    """Builds an UpdateExpression with a placeholder for every name and value
    ("error", "result" and "state" are reserved words)."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}
        self.values: dict[str, Any] = {}
        self._sets: list[str] = []
        self._removes: list[str] = []

    def name(self, attribute: str) -> str:
        placeholder = f"#n{len(self.names)}"
        self.names[placeholder] = attribute
        return placeholder

    def value(self, value: dict[str, Any]) -> str:
        placeholder = f":v{len(self.values)}"
        self.values[placeholder] = value
        return placeholder

    def copy(self, attribute: str, source: str) -> None:
        """SET an attribute to another attribute's value (read before the write)."""
        self._sets.append(f"{self.name(attribute)} = {self.name(source)}")

    def set_path(self, path: str, value: dict[str, Any]) -> None:
        """SET a nested attribute given as placeholders (`#n0.#n1`)."""
        self._sets.append(f"{path} = {self.value(value)}")

    def set(self, attribute: str, value: dict[str, Any], append: bool = False) -> None:
        name, new = self.name(attribute), self.value(value)
        if append:
            empty = self.value({"L": []})
            self._sets.append(f"{name} = list_append(if_not_exists({name}, {empty}), {new})")
        else:
            self._sets.append(f"{name} = {new}")

    def remove(self, attribute: str) -> None:
        self._removes.append(self.name(attribute))

    def state_in(self, states: list[JobState] | tuple[JobState, ...]) -> str:
        options = ", ".join(self.value(items.state_value(s)) for s in states)
        return f"{self.name('state')} IN ({options})"

    def request(self, table: str, key: dict[str, Any], condition: str) -> dict[str, Any]:
        expression = ""
        if self._sets:
            expression += "SET " + ", ".join(self._sets)
        if self._removes:
            expression += " REMOVE " + ", ".join(self._removes)
        request: dict[str, Any] = {
            "TableName": table,
            "Key": key,
            "UpdateExpression": expression.strip(),
            "ConditionExpression": condition,
            "ExpressionAttributeNames": self.names,
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        if self.values:
            request["ExpressionAttributeValues"] = self.values
        return request


class _LockPut:
    def __init__(self, table: str, lock_id: str, job_id: str, expires_at: int | None,
                 stale_holder: str | None) -> None:
        self._table, self._lock_id, self._job_id = table, lock_id, job_id
        self._expires_at, self._stale_holder = expires_at, stale_holder

    def request(self) -> dict[str, Any]:
        item: dict[str, Any] = {"id": {"S": self._lock_id}, "holder": {"S": self._job_id}}
        if self._expires_at is not None:
            item["expires_at"] = {"N": str(self._expires_at)}
        request: dict[str, Any] = {
            "TableName": self._table,
            "Item": item,
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        # Free, or still held by the finished job we saw: two submitters that
        # both saw the same stale holder cannot both take the lock.
        if self._stale_holder is None:
            request["ConditionExpression"] = "attribute_not_exists(id)"
        else:
            request["ConditionExpression"] = "holder = :stale"
            request["ExpressionAttributeValues"] = {":stale": {"S": self._stale_holder}}
        return request


class _ParentGone(Exception):
    pass


TERMINAL_COUNTERS = {
    JobState.SUCCESS: "child_succeeded",
    JobState.FAILED: "child_failed",
    JobState.ABORTED: "child_aborted",
}


def _parent_count(table: str, child: Job, target: JobState) -> dict[str, Any]:
    """The parent's half of a child's terminal write: one fewer pending, one
    more in the child's final state, the child's weight done."""
    names = {"#pending": "child_pending", "#ended": TERMINAL_COUNTERS[target],
             "#weight": "child_weight_done", "#total": "child_total"}
    values: dict[str, Any] = {":minus": {"N": "-1"}, ":one": {"N": "1"},
                              ":weight": {"N": str(child.weight)}}
    expression = "ADD #pending :minus, #ended :one, #weight :weight"
    if target is not JobState.SUCCESS:
        names["#first"] = "first_failed_child"
        values[":child"] = {"S": child.id}
        expression += " SET #first = if_not_exists(#first, :child)"
    return {
        "TableName": table,
        "Key": _key(child.parent_id or ""),
        "UpdateExpression": expression,
        # A deleted parent must not come back as a stub made of counters.
        "ConditionExpression": "attribute_exists(#total)",
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
    }


def _finished_copy(job: Job, outcome: Outcome, now: str) -> Job:
    """The record as the finish left it (a transaction returns no values)."""
    fields = outcome.model_dump(exclude_none=True, exclude={"state"})
    return job.model_copy(update={**fields, "state": outcome.state, "time_finished": now,
                                  "time_updated": now})


def _backoff(attempt: int) -> None:
    time.sleep(min(1.0, 0.02 * 2 ** attempt) * random.uniform(0.5, 1.0))


def _state_update(target: JobState, tenant_id: str, now: str) -> _Update:
    update = _Update()
    update.set("state", items.state_value(target))
    update.set("time_updated", {"S": now})
    update.set("tenant_state", {"S": keys.tenant_state(tenant_id, target)})
    return update


def _key(job_id: str) -> dict[str, Any]:
    return {"id": {"S": job_id}}


def _outcome_attributes(outcome: Outcome) -> dict[str, Any]:
    attributes: dict[str, Any] = {}
    if outcome.result is not None:
        attributes["result"] = {"S": items.dumps(outcome.result)}
    for field in ("result_encoding_error", "error", "exception", "result_ref"):
        value = getattr(outcome, field)
        if value is not None:
            attributes[field] = {"S": value}
    if outcome.exc_info is not None:
        attributes["exc_info"] = items.exc_info_value(outcome.exc_info)
    if outcome.progress is not None:
        attributes["progress"] = items.progress_value(outcome.progress)
    if outcome.expires_at is not None:
        attributes["expires_at"] = {"N": str(outcome.expires_at)}
    if outcome.outcome is not None:
        attributes["outcome"] = {"S": outcome.outcome}
    for field in ("logs_path", "logs_excerpt"):
        text = getattr(outcome, field)
        if text is not None:
            attributes[field] = {"S": text}
    if outcome.download is not None:
        attributes["download"] = _download_value(outcome.download)
    return attributes


def _download_value(download: DownloadInfo) -> dict[str, Any]:
    return items.serialize({"d": download.model_dump(mode="json", exclude_none=True)})["d"]


def _translate(exc: ClientError, job_id: str, creating: bool) -> Exception:
    code = exc.response.get("Error", {}).get("Code", "")
    if code == "ConditionalCheckFailedException":
        old = exc.response.get("Item")
        if creating and old:
            return DuplicateJob(items.from_item(old))
        return TransitionRejected(job_id, old.get("state", {}).get("S") if old else None, old)
    if code == "TransactionCanceledException":
        return _cancelled_transaction(job_id, exc.response.get("CancellationReasons", []))
    if code in THROTTLING_CODES:
        return ServiceUnavailable(f"the job store is busy ({code}); retry shortly")
    return exc


def _cancelled_transaction(job_id: str, reasons: list[dict[str, Any]]) -> Exception:
    lock_reason = reasons[0] if reasons else {}
    job_reason = reasons[1] if len(reasons) > 1 else {}
    if job_reason.get("Code") == "ConditionalCheckFailed" and job_reason.get("Item"):
        return DuplicateJob(items.from_item(job_reason["Item"]))
    if lock_reason.get("Code") == "ConditionalCheckFailed":
        holder = lock_reason.get("Item", {}).get("holder", {}).get("S")
        return LockHeld(holder) if holder else TransitionRejected(job_id, None)
    return ServiceUnavailable("the job store could not complete the write; retry shortly")
