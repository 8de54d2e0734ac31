"""JobStore: the jobs table behind a small class. Every state change is one
conditional write, so the record in DynamoDB is always the truth.

botocore's ClientError is translated here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from botocore.exceptions import ClientError

from chalicelib import items, keys
from chalicelib.errors import ServiceUnavailable, TransitionRejected
from chalicelib.models import Job, Outcome, Progress
from chalicelib.states import JobState, sources_of

THROTTLING_CODES = frozenset({
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
})


class JobStore:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def create(self, job: Job) -> None:
        # attribute_not_exists: two creates that drew the same id (or a
        # retried create) can never overwrite a job that already exists.
        with self._translated(job.id):
            self._client.put_item(
                TableName=self._table,
                Item=items.to_item(job),
                ConditionExpression="attribute_not_exists(id)",
            )

    def get(self, job_id: str) -> Job | None:
        with self._translated(job_id):
            answer = self._client.get_item(
                TableName=self._table, Key=_key(job_id), ConsistentRead=True
            )
        item = answer.get("Item")
        return items.from_item(item) if item else None

    def claim(self, job_id: str, tenant_id: str, now: str) -> Job:
        """WAITING -> RUNNING; returns the whole record, so the worker needs no read."""
        # Condition on WAITING: a cancel that won first, or a duplicate
        # invocation of the worker, finds the job taken and runs nothing.
        return self._transition(
            job_id,
            target=JobState.RUNNING,
            sets={"time_started": {"S": now}},
            now=now,
            tenant_id=tenant_id,
        )

    def report_progress(self, job_id: str, progress: Progress, now: str) -> None:
        # Only a RUNNING job takes progress; once a cancel or a finish has
        # landed, the condition fails and the caller learns the real state.
        with self._translated(job_id):
            self._client.update_item(
                TableName=self._table,
                Key=_key(job_id),
                UpdateExpression="SET progress = :progress, time_updated = :now",
                ConditionExpression="#state = :running",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues={
                    ":progress": items.progress_value(progress),
                    ":now": {"S": now},
                    ":running": items.state_value(JobState.RUNNING),
                },
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )

    def finish(self, job: Job, outcome: Outcome, now: str) -> Job:
        """RUNNING -> a terminal state, with the outcome, in one write."""
        sets: dict[str, Any] = {"time_finished": {"S": now}}
        for field, value in _outcome_attributes(outcome).items():
            sets[field] = value
        return self._transition(
            job.id, target=outcome.state, sets=sets, now=now, tenant_id=job.tenant_id
        )

    def _transition(
        self,
        job_id: str,
        target: JobState,
        sets: dict[str, Any],
        now: str,
        tenant_id: str,
    ) -> Job:
        values: dict[str, Any] = {":target": items.state_value(target), ":now": {"S": now}}
        names = {"#state": "state"}
        assignments = ["#state = :target", "time_updated = :now"]
        # Placeholders for every name: "error" and "result" are reserved words.
        for index, (name, value) in enumerate(sorted(sets.items())):
            assignments.append(f"#n{index} = :v{index}")
            names[f"#n{index}"] = name
            values[f":v{index}"] = value
        assignments.append("tenant_state = :tenant_state")
        values[":tenant_state"] = {"S": keys.tenant_state(tenant_id, target)}
        sources = sources_of(target)
        for index, source in enumerate(sources):
            values[f":from{index}"] = items.state_value(source)
        expression = "SET " + ", ".join(assignments)
        if target.is_terminal:
            expression += " REMOVE active_shard"
        condition = "#state IN (" + ", ".join(f":from{i}" for i in range(len(sources))) + ")"
        with self._translated(job_id):
            answer = self._client.update_item(
                TableName=self._table,
                Key=_key(job_id),
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        return items.from_item(answer["Attributes"])

    @contextmanager
    def _translated(self, job_id: str) -> Iterator[None]:
        try:
            yield
        except ClientError as exc:
            raise _translate(exc, job_id) from exc


def _key(job_id: str) -> dict[str, Any]:
    return {"id": {"S": job_id}}


def _outcome_attributes(outcome: Outcome) -> dict[str, Any]:
    attributes: dict[str, Any] = {}
    if outcome.result is not None:
        attributes["result"] = {"S": items.dumps(outcome.result)}
    for field in ("result_encoding_error", "error", "exception"):
        value = getattr(outcome, field)
        if value is not None:
            attributes[field] = {"S": value}
    if outcome.exc_info is not None:
        attributes["exc_info"] = items.exc_info_value(outcome.exc_info)
    if outcome.progress is not None:
        attributes["progress"] = items.progress_value(outcome.progress)
    return attributes


def _translate(exc: ClientError, job_id: str) -> Exception:
    code = exc.response.get("Error", {}).get("Code", "")
    if code == "ConditionalCheckFailedException":
        old = exc.response.get("Item")
        state = old.get("state", {}).get("S") if old else None
        return TransitionRejected(job_id, state)
    if code in THROTTLING_CODES:
        return ServiceUnavailable(f"the job store is busy ({code}); retry shortly")
    return exc
