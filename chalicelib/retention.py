"""Deadlines of a job: how long it is kept once finished (its TTL attribute;
DynamoDB deletes it some time after, every read hides it from then on), how
long a cancelled handler may run on before its execution is stopped, and how
long its execution waits for children, an upload or a download."""

from __future__ import annotations

from chalicelib.clock import from_iso, iso
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


def execution_waits(job: Job, settings: Settings, now: float) -> dict[str, int]:
    """The limits of the Standard machine's waits, passed in the execution's
    input (each wait state's TimeoutSecondsPath reads one)."""
    waits = {"children_timeout": job.children_timeout or settings.children_timeout_seconds}
    if job.download is not None:
        waits["download_window"] = job.download.window_seconds
    if job.upload is not None and job.upload.url_expires_at:
        # A PUT begun just before its URL expired may land a little later.
        left = from_iso(job.upload.url_expires_at) - now
        waits["upload_window"] = max(1, int(left) + settings.upload_grace_seconds)
    return waits
