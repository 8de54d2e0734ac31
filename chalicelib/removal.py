"""Removing jobs (ArangoDB semantics): delete one job, delete the finished
jobs of the caller's scope (all, or those created before a stamp), and
fetch a result once (the read removes the job, atomically).

A job's S3 objects go first, then its record: a crash in between leaves a
record whose retry deletes the rest, never objects nobody can find (the
bucket's lifecycle rule is the backstop for those all the same). A parent
goes with its descendants. Deleting a running job does not stop it: its
execution's later writes find no record and change nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib import keys, tree
from chalicelib.blobs import Blobs, job_keys
from chalicelib.caller import Caller
from chalicelib.clock import Clock, iso
from chalicelib.errors import NotFound, TransitionRejected
from chalicelib.models import Job
from chalicelib.service import JobService
from chalicelib.states import TERMINAL_STATES, JobState
from chalicelib.store import JobStore

# One request deletes at most this many jobs (API Gateway answers within 29 s);
# the answer says whether more are left.
MAX_PER_REQUEST = 1000
PAGE = 250
MAX_TREE = 10_000


@dataclass(frozen=True)
class Removed:
    deleted: int
    more: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"deleted": self.deleted, "more": self.more}


class Removal:
    def __init__(self, store: JobStore, blobs: Blobs, jobs: JobService, clock: Clock) -> None:
        self._store = store
        self._blobs = blobs
        self._jobs = jobs
        self._clock = clock

    def delete(self, job_id: str, caller: Caller) -> Removed:
        """DELETE /jobs/{id}: the job, its stored files and its descendants."""
        job = self._jobs.get(job_id, caller, load_result=False)  # 404 unless visible
        descendants = self._descendants(job)
        self._remove_objects([job.id, *descendants])
        try:
            self._store.delete(job.id)
        except TransitionRejected:
            raise NotFound("no such job") from None  # deleted meanwhile
        self._store.delete_many(descendants)
        return Removed(1 + len(descendants))

    def consume(self, job_id: str, caller: Caller) -> Job | None:
        """GET /jobs/{id}/result?consume=true: a finished job's outcome, and
        the job is gone. Of concurrent consumers exactly one gets it (the
        conditional delete); None while the job is unfinished (nothing removed)."""
        job = self._jobs.get(job_id, caller)  # with its result, from S3 if it is there
        if not job.state.is_terminal:
            return None
        try:
            self._store.delete(job.id)
        except TransitionRejected:
            raise NotFound("no such job") from None  # another consumer won
        descendants = self._descendants(job)
        self._remove_objects([job.id, *descendants])
        self._store.delete_many(descendants)
        return job

    def delete_finished(self, caller: Caller, created_before: float | None) -> Removed:
        """DELETE /jobs[?expired_before=UNIX]: the finished jobs of the caller's
        scope (its tenant's for an admin, its own for a user) created before
        the stamp, at most MAX_PER_REQUEST of them."""
        before = keys.created_key(iso(created_before), "") if created_before is not None \
            else None
        terminal = [JobState(state) for state in sorted(TERMINAL_STATES)]
        # A tenant's finished jobs are keyed on the state (by_tenant_state): a
        # pass each. A user's index does not key on it: one pass over the
        # user's jobs, their records checked on all three.
        passes = [[state] for state in terminal] if caller.sees_whole_tenant else [terminal]
        user_id = None if caller.sees_whole_tenant else caller.user_id
        deleted = 0
        for states in passes:
            # Paged by the index's own keys, never re-queried from the start:
            # an index lags its table, and would answer deleted jobs again.
            start: dict[str, Any] | None = None
            while True:
                budget = MAX_PER_REQUEST - deleted
                if budget <= 0:
                    return Removed(deleted, more=True)
                ids, start = self._store.terminal_ids(
                    caller.tenant_id, states, before, min(PAGE, budget), start, user_id)
                self._remove_objects(ids)
                self._store.delete_many(ids)
                deleted += len(ids)
                if start is None:
                    break
        return Removed(deleted)

    def _descendants(self, job: Job) -> list[str]:
        """Every descendant's id (child ids derive from the parent's), at most MAX_TREE."""
        found: list[str] = []
        parents = [job] if job.has_children else []
        while parents and len(found) < MAX_TREE:
            ids = [tree.child_id(p.id, n) for p in parents for n in range(p.child_total or 0)]
            children = self._store.get_many(ids[:MAX_TREE - len(found)])
            found.extend(children)
            parents = [child for child in children.values() if child.has_children]
        return found

    def _remove_objects(self, job_ids: list[str]) -> None:
        self._blobs.delete_many([key for job_id in job_ids for key in job_keys(job_id)])
