"""Records: a job's record as a whole (create, read, join, resources, delete) and the
lock items that share its table."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from chalicelib import items, keys
from chalicelib.errors import ServiceUnavailable, TransitionRejected
from chalicelib.models import Job, ResourceRef
from chalicelib.states import ACTIVE_STATES, JobState
from chalicelib.store.table import Table, Update, key

BATCH_GET_LIMIT = 100
BATCH_GET_ATTEMPTS = 5


class Records(Table):
    def create(self, job: Job) -> None:
        # attribute_not_exists: a retried idempotent submit (same derived id)
        # or an id collision can never overwrite a job; the loser gets the
        # existing record back in the same call.
        with self._translated(job.id, creating=True):
            self._client.put_item(**self._new_job_put(job))

    def create_locked(self, job: Job, lock_id: str, stale_holder: str | None) -> None:
        """Create `job` holding `lock_id`, atomically. The lock must be free, or
        still name `stale_holder` (a finished job that no longer holds it)."""
        lock = lock_put(self._table, lock_id, job, stale_holder)
        with self._translated(job.id, creating=True):
            self._client.transact_write_items(
                TransactItems=[{"Put": lock}, {"Put": self._new_job_put(job)}]
            )

    def get(self, job_id: str) -> Job | None:
        with self._translated(job_id):
            answer = self._client.get_item(
                TableName=self._table, Key=key(job_id), ConsistentRead=True
            )
        item = answer.get("Item")
        return items.from_item(item) if item and "method" in item else None

    def get_many(self, job_ids: list[str], consistent: bool = False) -> dict[str, Job]:
        """Full records by id (BatchGetItem, 100 a call); missing ids are left out."""
        found: dict[str, Job] = {}
        for start in range(0, len(job_ids), BATCH_GET_LIMIT):
            pending: dict[str, Any] = {self._table: {
                "Keys": [key(job_id) for job_id in job_ids[start:start + BATCH_GET_LIMIT]],
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

    def join(self, job_id: str, message_id: str) -> Job:
        """Append a caller's request id to an unfinished job (TrueNAS dedup)."""
        update = Update()
        update.set("message_ids", {"L": [{"S": message_id}]}, append=True)
        # Only an unfinished job can be joined; a finished one frees its lock.
        return self._apply(job_id, update, update.state_in(ACTIVE_STATES))

    def set_resources(self, job: Job, resources: list[ResourceRef], now: str) -> Job:
        """A running job's resources (its handler named more): the list, and
        the anchor its first makes (the by_tenant_resource key), in one write."""
        update = Update()
        update.set("resources", items.resources_value(resources))
        update.set("time_updated", {"S": now})
        if resources:
            first = resources[0].key
            update.set("resource", {"S": first})
            update.set("tenant_resource", {"S": keys.tenant_resource(job.tenant_id, first)})
        return self._apply(job.id, update, update.state_in([JobState.RUNNING]))

    def delete(self, job_id: str) -> Job:
        """Remove a job's record; answers it as it was. Of concurrent deletes
        (or consumes) of one job exactly one gets it: the others find nothing."""
        with self._translated(job_id):
            try:
                answer = self._client.delete_item(
                    TableName=self._table, Key=key(job_id),
                    ConditionExpression="attribute_exists(id)", ReturnValues="ALL_OLD")
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                    raise TransitionRejected(job_id, None) from exc
                raise
        return items.from_item(answer["Attributes"])

    def delete_many(self, job_ids: list[str]) -> None:
        """Remove records by id (BatchWriteItem, 25 a call); missing ones are fine."""
        self._batch_write([{"DeleteRequest": {"Key": key(job_id)}} for job_id in job_ids])

    def _new_job_put(self, job: Job) -> dict[str, Any]:
        return {
            "TableName": self._table,
            "Item": items.to_item(job),
            "ConditionExpression": "attribute_not_exists(id)",
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }


def lock_put(table: str, lock_id: str, holder: Job, stale_holder: str | None) -> dict[str, Any]:
    """The Put of a lock item naming `holder`, inside the holder's creation."""
    item: dict[str, Any] = {"id": {"S": lock_id}, "holder": {"S": holder.id}}
    if holder.expires_at is not None:
        item["expires_at"] = {"N": str(holder.expires_at)}
    request: dict[str, Any] = {
        "TableName": table,
        "Item": item,
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }
    # Free, or still held by the finished job we saw: two submitters that
    # both saw the same stale holder cannot both take the lock.
    if stale_holder is None:
        request["ConditionExpression"] = "attribute_not_exists(id)"
    else:
        request["ConditionExpression"] = "holder = :stale"
        request["ExpressionAttributeValues"] = {":stale": {"S": stale_holder}}
    return request
