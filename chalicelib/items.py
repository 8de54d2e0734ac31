"""The one place where a Job becomes a DynamoDB item and back.

Free-form values (arguments, result, progress, exc_info) are stored as JSON
strings: DynamoDB maps would force floats into Decimals and cost the same.
Index keys are derived from the record here, so they can never disagree.
"""

from __future__ import annotations

import json
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from chalicelib import keys
from chalicelib.models import ExcInfo, Job, Progress
from chalicelib.states import JobState

JSON_FIELDS = ("arguments", "progress", "result", "exc_info", "children_spec", "handler_result")
# Derived when a job is shown (chalicelib.views), never stored.
NOT_STORED = {"children_summary"}

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def index_keys(job: Job) -> dict[str, Any]:
    """The attributes the listing indexes are built on (see keys.py)."""
    derived: dict[str, Any] = {
        "created_key": keys.created_key(job.time_created, job.id),
        "tenant_state": keys.tenant_state(job.tenant_id, job.state),
        "tenant_method": keys.tenant_method(job.tenant_id, job.method),
    }
    if job.user_id:
        derived["tenant_user"] = keys.tenant_user(job.tenant_id, job.user_id)
    if job.state.is_active:
        derived["active_shard"] = keys.active_shard(job.id)
    return derived


def to_item(job: Job) -> dict[str, Any]:
    plain = job.model_dump(mode="json", exclude_none=True, exclude=NOT_STORED)
    for field in JSON_FIELDS:
        if field in plain:
            plain[field] = dumps(plain[field])
    plain.update(index_keys(job))
    return serialize(plain)


def from_item(item: dict[str, Any]) -> Job:
    plain = deserialize(item)
    for field in JSON_FIELDS:
        if field in plain:
            plain[field] = json.loads(plain[field])
    return Job.model_validate(plain)


def serialize(plain: dict[str, Any]) -> dict[str, Any]:
    return {name: _serializer.serialize(value) for name, value in plain.items()}


def deserialize(item: dict[str, Any]) -> dict[str, Any]:
    plain = {name: _deserializer.deserialize(value) for name, value in item.items()}
    # DynamoDB numbers come back as Decimal; the record only holds integers.
    return {name: int(value) if _is_decimal(value) else value for name, value in plain.items()}


def _is_decimal(value: Any) -> bool:
    return type(value).__name__ == "Decimal"


def progress_value(progress: Progress) -> dict[str, Any]:
    return {"S": dumps(progress.model_dump(mode="json"))}


def exc_info_value(exc_info: ExcInfo) -> dict[str, Any]:
    return {"S": dumps(exc_info.model_dump(mode="json"))}


def state_value(state: JobState) -> dict[str, Any]:
    return {"S": state.value}
