"""What every part of the store shares: the table behind its client, the
update builder, key construction, and what a refused DynamoDB write means to
the store (`meaning`); chalicelib.aws_errors maps every other ClientError.
"""

from __future__ import annotations

import random
import time
from contextlib import AbstractContextManager
from typing import Any

from botocore.exceptions import ClientError

from chalicelib import items
from chalicelib.aws_errors import JOB_STORE, error_code, translated, translation
from chalicelib.errors import ServiceUnavailable, TransitionRejected
from chalicelib.models import Job
from chalicelib.states import JobState

BATCH_WRITE_LIMIT = 25
BATCH_WRITE_ATTEMPTS = 8


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


class Table:
    """The jobs table and its client; each part of the store is one of these."""

    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def _apply(self, job_id: str, update: Update, condition: str, returns: bool = True) -> Job:
        request = update.request(self._table, key(job_id), condition)
        if returns:
            request["ReturnValues"] = "ALL_NEW"
        with self._translated(job_id):
            answer = self._client.update_item(**request)
        return items.from_item(answer["Attributes"]) if returns else None  # type: ignore[return-value]

    def _batch_write(self, requests: list[dict[str, Any]]) -> None:
        for start in range(0, len(requests), BATCH_WRITE_LIMIT):
            pending: dict[str, Any] = {self._table: requests[start:start + BATCH_WRITE_LIMIT]}
            for attempt in range(BATCH_WRITE_ATTEMPTS):
                with self._translated("batch"):
                    answer = self._client.batch_write_item(RequestItems=pending)
                pending = answer.get("UnprocessedItems") or {}
                if not pending:
                    break
                backoff(attempt)
            if pending:
                raise ServiceUnavailable("the job store is busy; retry shortly")

    def _translated(self, job_id: str, creating: bool = False) -> AbstractContextManager[None]:
        return translated(JOB_STORE, meaning=lambda exc: meaning(exc, job_id, creating))


class Update:
    """Builds an UpdateExpression with a placeholder for every name and value
    ("error", "result" and "state" are reserved words)."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}
        self.values: dict[str, Any] = {}
        self._sets: list[str] = []
        self._removes: list[str] = []
        self._revision: str | None = None

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
        # Every write of a record counts itself (models.JobView.revision), in
        # the same write: watchers drop an event older than one they have seen.
        if self._revision is None:  # once, however often the request is built
            self._revision = f" ADD {self.name('revision')} {self.value({'N': '1'})}"
        expression += self._revision
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


def key(job_id: str) -> dict[str, Any]:
    """The table's key of a record (a job's, or a lock's)."""
    return {"id": {"S": job_id}}


def backoff(attempt: int) -> None:
    time.sleep(min(1.0, 0.02 * 2 ** attempt) * random.uniform(0.5, 1.0))


def rejected(job_id: str, old: dict[str, Any] | None) -> TransitionRejected:
    """A lost conditional write, with the record as the write found it
    (DynamoDB's ALL_OLD) decoded; none when there was no job record."""
    job = items.from_item(old) if old and "method" in old else None
    return TransitionRejected(job_id, job.state if job else None, job)


def translate(exc: ClientError, job_id: str, creating: bool) -> Exception:
    return translation(exc, JOB_STORE, lambda exc: meaning(exc, job_id, creating))


def meaning(exc: ClientError, job_id: str, creating: bool) -> Exception | None:
    """What a refused write means to the store; None leaves `exc` to
    chalicelib.aws_errors (a 503 when transient, else the fault itself)."""
    code = error_code(exc)
    if code == "ConditionalCheckFailedException":
        old = exc.response.get("Item")
        if creating and old:
            return DuplicateJob(items.from_item(old))
        return rejected(job_id, old)
    if code == "TransactionCanceledException":
        return _cancelled_transaction(job_id, exc.response.get("CancellationReasons", []))
    return None


def _cancelled_transaction(job_id: str, reasons: list[dict[str, Any]]) -> Exception:
    lock_reason = reasons[0] if reasons else {}
    job_reason = reasons[1] if len(reasons) > 1 else {}
    if job_reason.get("Code") == "ConditionalCheckFailed" and job_reason.get("Item"):
        return DuplicateJob(items.from_item(job_reason["Item"]))
    if lock_reason.get("Code") == "ConditionalCheckFailed":
        holder = lock_reason.get("Item", {}).get("holder", {}).get("S")
        return LockHeld(holder) if holder else TransitionRejected(job_id, None)
    return ServiceUnavailable("the job store could not complete the write; retry shortly")
