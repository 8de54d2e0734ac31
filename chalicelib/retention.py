"""Deadlines of a job: how long it is kept once finished (its TTL attribute;
DynamoDB deletes it some time after, every read hides it from then on), and
how long a cancelled handler may run on before its execution is stopped."""

from __future__ import annotations

from chalicelib.clock import iso
from chalicelib.models import Job
from chalicelib.registry import MethodRegistry
from chalicelib.settings import Settings
from chalicelib.states import JobState


def retention_deadline(job: Job, methods: MethodRegistry, settings: Settings,
                       now: float) -> int:
    """When a finished job expires (its TTL attribute, epoch seconds)."""
    if job.transient:
        return int(now + settings.transient_retention_seconds)
    method = methods.find(job.method)
    seconds = method.retention_seconds if method and method.retention_seconds else None
    return int(now + (seconds or settings.retention_seconds))


def stop_deadline(job: Job, settings: Settings, now: float) -> str | None:
    """When the sweeper stops the execution of a job cancelled while RUNNING."""
    if job.state is not JobState.RUNNING:
        return None
    return iso(now + settings.abort_grace_seconds)
