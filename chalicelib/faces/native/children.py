"""A parent's children in its answers: the first level in GET /jobs/{id},
and CloudSigma's nested `children` with `?children=tree&depth=N`
(GET /jobs/{id}/children, which pages through any number of them, is a
list: chalicelib.faces.native.list_params)."""

from __future__ import annotations

from typing import Any

from chalicelib.faces.native.requests import JobQuery
from chalicelib.fanout import FanOut
from chalicelib.models import Job
from chalicelib.views import Viewer, job_view

SHOWN_PER_PARENT = 50  # more are paged through GET /jobs/{id}/children
MAX_NODES = 500  # bounds the reads of one answer


def with_children(view: dict[str, Any], job: Job, query: JobQuery, viewer: Viewer,
                  fanout: FanOut) -> dict[str, Any]:
    """`children`: none; first (the first level, the default); tree (nested
    to `depth` levels). Each child is shown to `viewer` as the parent is."""
    if query.children == "none" or not job.has_children:
        return view
    levels = query.depth if query.children == "tree" else 1
    budget = [MAX_NODES]
    return _nest(view, job, levels, fanout, viewer, budget)


def _nest(view: dict[str, Any], job: Job, levels: int, fanout: FanOut, viewer: Viewer,
          budget: list[int]) -> dict[str, Any]:
    limit = min(SHOWN_PER_PARENT, budget[0])
    children = list(fanout.children_of(job, load_results=False, limit=limit))
    budget[0] -= len(children)
    shown = []
    for child in children:
        child_view = job_view(child, viewer)
        if levels > 1 and child.has_children and budget[0] > 0:
            child_view = _nest(child_view, child, levels - 1, fanout, viewer, budget)
        shown.append(child_view)
    view["children"] = shown
    # CloudSigma lists every child; here a big family is paged instead.
    view["children_truncated"] = len(shown) < (job.child_total or 0)
    return view
