"""Fan-out and fan-in: a parent creates its children, waits for them inside
Step Functions without polling, and goes on the moment the last one ends.

The protocol (each step one conditional write, so no ordering of failures
loses a child or wakes a parent twice):

1. Spawn: the parent's counters are set once, before any child exists
   (`store.begin_children`); then the child records are written and their
   executions started. Ids and execution names derive from the parent's id,
   so a repeated spawn creates nothing twice.
2. The worker's Run task raises `WaitForChildren`; the state machine's Catch
   moves the execution to WaitChildren (`lambda:invoke.waitForTaskToken`),
   whose task parks it: stores its token on the parent and reads the
   counters back in the same write, so children that all ended before it
   are not missed.
3. Each child's terminal write counts it on the parent in one transaction;
   then it reads the parent and, if the parent is ready, wakes it. Many may
   see it ready; only the one whose `mark_woken` write succeeds sends the
   token (`SendTaskSuccess`).
4. Finish (chalicelib.worker) decides the parent's outcome from the counters;
   a parent that ends any other way than success aborts its unfinished
   children (`cascade`), which wakes those that are parents in turn.

A parent waits at most its `children_timeout` (the WaitChildren state's
TimeoutSecondsPath); a child whose start failed is started again by the
sweeper, so no parent waits on a child that never runs.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from chalicelib import tree
from chalicelib.basics import Basics
from chalicelib.clock import iso
from chalicelib.creation import JobFactory
from chalicelib.errors import InvalidParams, TransitionRejected, UnknownMethod
from chalicelib.models import ChildSpec, Job
from chalicelib.results import Results
from chalicelib.retention import retention_deadline, stop_deadline
from chalicelib.states import JobState
from chalicelib.store import JobStore
from chalicelib.worker_contract import TaskResult
from chalicelib.workflow import Workflow

log = logging.getLogger("jobapi.fanout")

READ_BATCH = 100


class WaitForChildren(Exception):
    """Raised by the Run task of a parent: the state machine catches it by
    this name and moves the execution on to WaitChildren."""


class FanOut:
    def __init__(self, store: JobStore, factory: JobFactory, workflow: Workflow,
                 results: Results, basics: Basics) -> None:
        self._store = store
        self._factory = factory
        self._workflow = workflow
        self._results = results
        self._basics = basics

    # Checking what a request declares or a handler spawns.

    def check(self, specs: list[ChildSpec], where: str = "children") -> None:
        """Every method known and every params valid, at any depth; the error
        names the child (`children[2].children[0].params`)."""
        if tree.count_nodes(specs) > tree.MAX_DECLARED:
            raise InvalidParams(f"{where}: at most {tree.MAX_DECLARED} sub-jobs may be declared")
        if tree.depth(specs) > tree.MAX_DEPTH:
            raise InvalidParams(f"{where}: sub-jobs may nest at most {tree.MAX_DEPTH} levels")
        self._check_each(specs, where)

    def _check_each(self, specs: list[ChildSpec], where: str) -> None:
        for index, spec in enumerate(specs):
            path = f"{where}[{index}]"
            try:
                method = self._basics.methods.submittable(spec.method)
                method.parse_params(spec.params)
                if method.writes_file or method.reads_file:
                    raise InvalidParams(
                        f"{method.name} works on a file its submitter uploads or "
                        "downloads, so it cannot run as a sub-job")
            except (UnknownMethod, InvalidParams) as exc:
                raise type(exc)(f"{path}: {exc.message}", details={
                    "child": path, "problems": exc.details}) from None
            self._check_each(spec.children or [], f"{path}.children")

    # Spawning.

    def spawn(self, parent: Job, specs: list[ChildSpec], handler_result: Any,
              logs: dict[str, str] | None = None) -> bool:
        """Create and start `parent`'s children. False when the parent is no
        longer RUNNING (cancelled while its handler ran): nothing is created.
        `logs` are the logs_path and logs_excerpt of its handler's run."""
        try:
            parent = self._store.begin_children(
                parent, len(specs), sum(spec.weight for spec in specs), handler_result, logs)
        except TransitionRejected:
            return False
        children = self._factory.children(parent, specs)
        self._store.put_children(children)
        self._factory.start_all(children)
        return True

    def children_timeout(self, job: Job) -> int:
        return job.children_timeout or self._basics.settings.children_timeout_seconds

    # Parking and waking.

    def park(self, job_id: str, token: str) -> TaskResult:
        """The WaitChildren task: store the token, and wake at once if there
        is nothing (left) to wait for."""
        try:
            parent = self._store.set_wait_token(job_id, token)
        except TransitionRejected as exc:
            # Cancelled or ended before it could wait: Finish sees why.
            self._workflow.resume(token)
            return TaskResult(job_id, exc.actual_state, waiting=False)
        woke = tree.ready(parent) and self.wake(parent)
        return TaskResult(job_id, parent.state.value, waiting=not woke)

    def wake(self, parent: Job) -> bool:
        token = parent.wait_token
        if not token or parent.woken_token == token:
            return False
        if not self._store.mark_woken(parent.id, token):
            return False  # someone else saw it ready first and sent it
        try:
            self._workflow.resume(token)
        except Exception:  # marked but not sent: the sweeper sends it
            log.warning("could not wake parent job %s; the sweeper will", parent.id,
                        exc_info=True)
            return False
        return True

    def child_ended(self, child: Job) -> None:
        """After a child's terminal write: wake its parent if that made it ready."""
        if not child.parent_id:
            return
        parent = self._store.get(child.parent_id)
        if parent is not None and tree.ready(parent):
            self.wake(parent)

    # Ending.

    def cascade(self, parent: Job, reason: str) -> int:
        """Abort every unfinished child of a parent that ended without them;
        children that are parents are woken, so their own Finish cascades."""
        aborted = 0
        for child in self.children_of(parent, load_results=False):
            ended = self._abort_child(child, reason)
            if ended is None:
                continue
            aborted += 1
            if ended.state is JobState.RUNNING:
                self.wake(ended)
        return aborted

    def _abort_child(self, child: Job, reason: str) -> Job | None:
        """Abort one child; the record it was aborted from, or None if it
        finished meanwhile or is running and not abortable. A child that
        parked (stored its wait token) since it was read is aborted from the
        record the refusal carries, so its wake sends that token."""
        for _ in range(2):
            if child.state.is_terminal:
                return None
            now = self._basics.clock()
            settings = self._basics.settings
            try:
                self._store.abort(child, iso(now), reason,
                                  retention_deadline(child, self._basics.methods, settings, now),
                                  stop_deadline(child, settings, now))
            except TransitionRejected as rejected:
                found = rejected.job
                if found is None or (found.state is child.state
                                     and found.wait_token == child.wait_token):
                    return None  # finished, or running and not abortable: as read
                child = found  # started or parked since it was read: try again
                continue
            return child
        return None

    def children_of(self, parent: Job, load_results: bool = True,
                    limit: int | None = None) -> Iterator[Job]:
        """The children in the order they were declared or spawned. Their ids
        are known, so this reads them by key: no index, no lag."""
        total = parent.child_total or 0
        if limit is not None:
            total = min(total, limit)
        for start in range(0, total, READ_BATCH):
            end = min(total, start + READ_BATCH)
            ids = [tree.child_id(parent.id, n) for n in range(start, end)]
            # Consistent: a parent reads its children just after they finished.
            found = self._store.get_many(ids, consistent=True)
            for child_id in ids:
                child = found.get(child_id)
                if child is None:
                    continue
                yield self._results.loaded(child) if load_results else child

