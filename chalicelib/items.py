"""The one place where a Job becomes a DynamoDB item and back.

Free-form values (arguments, result, progress, exc_info) are stored as JSON
strings: DynamoDB maps would force floats into Decimals and cost the same.
Their text is kept as UTF-8, not as \\u escapes (which take up to 6 bytes a
character); records written with escapes read the same.
Index keys are derived from the record here, so they can never disagree.

DynamoDB refuses an item over 400 KB, counting every attribute's name and
value as it stores them (UTF-8). A new record may take at most
MAX_NEW_ITEM_BYTES of that, which leaves room for what its job writes later
(an inline result, a parent's own result, the error, the traceback, the log
excerpt): `to_item` refuses a bigger one with a 413 naming what is too big.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from chalicelib import keys
from chalicelib.errors import PayloadTooLarge
from chalicelib.models import DownloadInfo, ExcInfo, Job, Outcome, Progress, ResourceRef
from chalicelib.states import JobState

# DynamoDB's limit is 400 KB (409,600 bytes); moto's is 405,000: stay under both.
ITEM_LIMIT_BYTES = 400_000
# For a finished job's inline result and parent's result (16 KiB each by
# default), error, traceback, exc_info, progress, log excerpt, message ids.
RESERVED_BYTES = 64 * 1024
MAX_NEW_ITEM_BYTES = ITEM_LIMIT_BYTES - RESERVED_BYTES
# What a client calls the attributes that can make a record big.
CLIENT_NAMES = {"arguments": "params", "children_spec": "children"}

JSON_FIELDS = ("arguments", "progress", "result", "exc_info", "children_spec", "handler_result")
# Derived when a job is shown (chalicelib.views), never stored.
NOT_STORED = {"children_summary"}

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def dumps(value: Any) -> str:
    text = json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    if not text.isascii():
        try:
            text.encode()
        except UnicodeEncodeError:  # a lone surrogate ("\\ud800") is no UTF-8: escape it
            return json.dumps(value, separators=(",", ":"), sort_keys=True)
    return text


def index_keys(job: Job) -> dict[str, Any]:
    """The attributes the listing indexes are built on (see keys.py)."""
    created = keys.created_key(job.time_created, job.id)
    derived: dict[str, Any] = {
        "created_key": created,
        "tenant_method": keys.tenant_method(job.tenant_id, job.method),
    }
    # Sparse: only a finished job is in by_tenant_state (an unfinished one is
    # in by_active), so a job enters it once, at its terminal transition.
    if job.state.is_terminal:
        derived["tenant_state"] = keys.tenant_state(job.tenant_id, job.state)
    if job.user_id:
        derived["tenant_user"] = keys.tenant_user(job.tenant_id, job.user_id)
    if job.resource:
        derived["tenant_resource"] = keys.tenant_resource(job.tenant_id, job.resource)
    if job.number is not None:
        derived["tenant_number"] = keys.tenant_number(job.tenant_id, job.number)
    # by_active's sort key is set on every job (it never changes), its
    # partition only while the job is unfinished: that makes the index sparse.
    derived["active_key"] = keys.active_key(job.tenant_id, created)
    if job.state.is_active:
        derived["active_shard"] = keys.active_shard(job.tenant_id)
    return derived


def to_item(job: Job) -> dict[str, Any]:
    plain = job.model_dump(mode="json", exclude_none=True, exclude=NOT_STORED)
    for field in JSON_FIELDS:
        if field in plain:
            plain[field] = dumps(plain[field])
    plain.update(index_keys(job))
    item = serialize(plain)
    check_new_item(item)
    return item


def check_fits(job: Job) -> None:
    """413 if the record of the new `job` would be too big to store."""
    to_item(job)


def check_new_item(item: dict[str, Any]) -> None:
    """A 413 unless `item` fits as a new record (MAX_NEW_ITEM_BYTES)."""
    sizes = {name: len(name.encode()) + value_size(value) for name, value in item.items()}
    total = sum(sizes.values())
    if total <= MAX_NEW_ITEM_BYTES:
        return
    biggest = max(sizes, key=lambda name: sizes[name])
    part = CLIENT_NAMES.get(biggest, biggest)
    raise PayloadTooLarge(
        f"the job is too big to store: its record would take {total} bytes in DynamoDB "
        f"(text as UTF-8), over the {MAX_NEW_ITEM_BYTES} a new job may take; the biggest "
        f"part is {part} ({sizes[biggest]} bytes): send big inputs as a file "
        "(POST /_upload, or \"upload\" and a PUT)",
        details={"field": part, "bytes": sizes[biggest], "record_bytes": total,
                 "max_record_bytes": MAX_NEW_ITEM_BYTES})


def value_size(value: dict[str, Any]) -> int:
    """The bytes DynamoDB counts for one attribute value (its documented
    item-size rules: UTF-8 text, about one byte per two digits of a number,
    3 bytes and one a member for a list or map, names included)."""
    (kind, inner), = value.items()
    if kind == "S":
        return len(inner.encode("utf-8", "surrogatepass"))
    if kind == "B":
        return len(inner)
    if kind == "N":
        digits = len(Decimal(inner).normalize().as_tuple().digits)  # zeros trimmed
        return min(21, (digits + 1) // 2 + 1)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in ("SS", "NS", "BS"):
        return sum(value_size({kind[0]: member}) for member in inner)
    if kind == "L":
        return 3 + sum(1 + value_size(member) for member in inner)
    if kind == "M":
        return 3 + sum(1 + len(name.encode()) + value_size(member)
                       for name, member in inner.items())
    raise ValueError(f"unknown DynamoDB type {kind}")


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


def outcome_values(outcome: Outcome) -> dict[str, Any]:
    """The attributes an outcome sets on its job's record, by name."""
    attributes: dict[str, Any] = {}
    if outcome.result is not None:
        attributes["result"] = {"S": dumps(outcome.result)}
    for field in ("result_encoding_error", "error", "exception", "result_ref"):
        value = getattr(outcome, field)
        if value is not None:
            attributes[field] = {"S": value}
    if outcome.exc_info is not None:
        attributes["exc_info"] = exc_info_value(outcome.exc_info)
    if outcome.progress is not None:
        attributes["progress"] = progress_value(outcome.progress)
    if outcome.expires_at is not None:
        attributes["expires_at"] = {"N": str(outcome.expires_at)}
    if outcome.outcome is not None:
        attributes["outcome"] = {"S": outcome.outcome}
    for field in ("logs_path", "logs_excerpt"):
        text = getattr(outcome, field)
        if text is not None:
            attributes[field] = {"S": text}
    if outcome.download is not None:
        attributes["download"] = download_value(outcome.download)
    return attributes


def resources_value(resources: list[ResourceRef]) -> dict[str, Any]:
    plain = [resource.model_dump(mode="json", exclude_none=True) for resource in resources]
    return serialize({"r": plain})["r"]


def download_value(download: DownloadInfo) -> dict[str, Any]:
    return serialize({"d": download.model_dump(mode="json", exclude_none=True)})["d"]
