"""Sub-job trees: what a parent's counters mean. Pure functions, no AWS.

A parent keeps fan-in counters on its own record (`child_total`,
`child_pending`, one per terminal state, and the weights). Every child's
terminal write updates them in the same transaction (chalicelib.store), so
the counters are exact whatever fails between two calls; from them come the
summary, the rolled-up progress, and whether the parent can go on.
"""

from __future__ import annotations

import uuid

from chalicelib.models import ChildPolicy, ChildrenSummary, ChildSpec, Job, Progress

# Child ids derive from the parent's id and the child's position: a retried
# spawn writes the same records and names the same executions again.
CHILD_NAMESPACE = uuid.UUID("0b5e3c52-4d1a-4f0e-9a57-2a9f0d6c1b7e")
MAX_DEPTH = 8
MAX_DECLARED = 10_000


def child_id(parent_id: str, index: int) -> str:
    return str(uuid.uuid5(CHILD_NAMESPACE, f"{parent_id}/{index}"))


def summary(job: Job) -> ChildrenSummary | None:
    if not job.has_children:
        return None
    return ChildrenSummary(
        total=job.child_total or 0,
        active=job.child_pending or 0,
        SUCCESS=job.child_succeeded or 0,
        FAILED=job.child_failed or 0,
        ABORTED=job.child_aborted or 0,
    )


def failures(job: Job) -> int:
    return (job.child_failed or 0) + (job.child_aborted or 0)


def ready(job: Job) -> bool:
    """The parent can go on: every child finished, or (under the default
    policy) one failed, which fails the parent at once."""
    if not job.has_children:
        return False
    if (job.child_pending or 0) <= 0:
        return True
    return job.on_child_failure is ChildPolicy.FAIL and failures(job) > 0


def waiting_for_children(job: Job) -> bool:
    return job.has_children and not job.state.is_terminal and (job.child_pending or 0) > 0


def rolled_up(job: Job) -> Progress:
    """A parent's progress while its children run: the finished children's
    share of the declared weights. Computed when read, so it costs no write."""
    total = job.child_weight_total or 0
    done = job.child_weight_done or 0
    finished = (job.child_total or 0) - (job.child_pending or 0)
    percent = 100 * done // total if total else 0
    return Progress(percent=percent,
                    description=f"{finished} of {job.child_total} sub-jobs finished",
                    extra=job.progress.extra)


def count_nodes(specs: list[ChildSpec]) -> int:
    return sum(1 + count_nodes(spec.children or []) for spec in specs)


def depth(specs: list[ChildSpec]) -> int:
    return max((1 + depth(spec.children or []) for spec in specs), default=0)
