"""A population of job records for the listing tests, written through the
store exactly as the service writes them (listing reads records; it does not
need them to have run)."""

from __future__ import annotations

import random
import time
from typing import Any

from chalicelib.clock import iso
from chalicelib.models import ExcInfo, Job, Progress
from chalicelib.states import JobState
from chalicelib.store import JobStore
from chalicelib.views import job_view

METHODS = ["demo.echo", "demo.sleep", "disk.clone", "config.export"]
USERS = [None, "alice", "bob"]
BASE = time.time() - 3600


def make_jobs(store: JobStore, count: int, seed: int = 7, tenant: str = "default",
              parent_id: str | None = None, hidden: bool = True) -> list[Job]:
    """`hidden=False`: no transient and no expired jobs among them."""
    rng = random.Random(seed)
    jobs = [_job(rng, n, tenant, parent_id, hidden) for n in range(count)]
    for job in jobs:
        store.create(job)
    return jobs


def _job(rng: random.Random, n: int, tenant: str, parent_id: str | None, hidden: bool) -> Job:
    state = rng.choice(list(JobState))
    created = BASE + n * 7 + rng.random()
    finished = state.is_terminal
    return Job(
        id=f"{rng.getrandbits(128):032x}",
        method=rng.choice(METHODS),
        arguments={"n": n},
        description=rng.choice([None, "nightly", "weekly export"]),
        transient=hidden and rng.random() < 0.15,
        abortable=rng.random() < 0.5,
        state=state,
        progress=Progress(percent=rng.choice([None, 0, 10, 50, 100]),
                          description=rng.choice([None, "copying", "done"])),
        error="boom" if state is JobState.FAILED else None,
        exc_info=ExcInfo(type=rng.choice(["OSError", "ValueError"]), errno=rng.choice([None, 28]))
        if state is JobState.FAILED else None,
        message_ids=[f"m{n}"],
        time_created=iso(created),
        time_started=iso(created + 1) if state is not JobState.WAITING else None,
        time_finished=iso(created + 2) if finished else None,
        time_updated=iso(created + 2),
        tenant_id=tenant,
        user_id=rng.choice(USERS),
        parent_id=parent_id,
        expires_at=_expiry(rng, created, hidden) if finished else None,
    )


def _expiry(rng: random.Random, created: float, hidden: bool) -> int:
    # A few expired but not yet deleted (DynamoDB TTL deletes late).
    expired = hidden and rng.random() < 0.1
    return int(created - 10) if expired else int(time.time() + 86400)


def visible_views(jobs: list[Job], include_transient: bool = False) -> list[dict[str, Any]]:
    now = time.time()
    return [job_view(job) for job in jobs
            if not (job.expires_at is not None and job.expires_at <= now)
            and (include_transient or not job.transient)]
