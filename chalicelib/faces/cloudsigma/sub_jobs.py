"""`children`: a job's sub-jobs, each with its own `children`, recursively
(CloudSigma: "a sub-job could have sub-jobs, too").

Bounded, since each child is a read: one answer (one job, or a whole list)
reads at most MAX_NESTED children, at most PER_PARENT of any one parent and
MAX_DEPTH levels down. A parent whose children did not all fit says so in
its `data`: `"children_total": N, "children_truncated": true` (its sub-jobs
are jobs too: a list shows them, and each is read by its uuid)."""

from __future__ import annotations

from typing import Any

from chalicelib.faces.cloudsigma.job_shape import cloudsigma_job
from chalicelib.fanout import FanOut
from chalicelib.models import Job
from chalicelib.views import Viewer

MAX_NESTED = 500
PER_PARENT = 100
MAX_DEPTH = 10


class Nesting:
    """The read budget of one answer."""

    def __init__(self, fanout: FanOut, viewer: Viewer) -> None:
        self._fanout = fanout
        self._viewer = viewer
        self.left = MAX_NESTED

    def shown(self, job: Job, depth: int = 1) -> dict[str, Any]:
        """The job in CloudSigma's shape, its children nested."""
        shape = cloudsigma_job(job, self._viewer)
        if not job.has_children:
            return shape
        total = job.child_total or 0
        room = min(PER_PARENT, self.left) if depth <= MAX_DEPTH else 0
        children = list(self._fanout.children_of(job, load_results=False, limit=room)) \
            if room > 0 else []
        self.left -= len(children)
        shape["children"] = [self.shown(child, depth + 1) for child in children]
        if room < total:  # cut by the budget, not still being spawned
            shape["data"]["children_total"] = total
            shape["data"]["children_truncated"] = True
        return shape
