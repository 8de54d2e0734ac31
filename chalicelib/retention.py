"""How long a finished job is kept: its TTL attribute (DynamoDB deletes it
some time after; every read hides it from then on)."""

from __future__ import annotations

from chalicelib.models import Job
from chalicelib.registry import MethodRegistry
from chalicelib.settings import Settings


def retention_deadline(job: Job, methods: MethodRegistry, settings: Settings,
                       now: float) -> int:
    """When a finished job expires (its TTL attribute, epoch seconds)."""
    if job.transient:
        return int(now + settings.transient_retention_seconds)
    method = methods.find(job.method)
    seconds = method.retention_seconds if method and method.retention_seconds else None
    return int(now + (seconds or settings.retention_seconds))
