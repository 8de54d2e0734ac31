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
   whose task stores its token on the parent and reads the counters back in
   the same write: children that all ended before it are not missed.
3. Each child's terminal write counts it on the parent in one transaction;
   then it reads the parent and, if the parent is ready, wakes it. Many may
   see it ready; only the one whose `claim_wake` write succeeds sends the
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
import random
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from chalicelib import tree
from chalicelib.blobs import Blobs
from chalicelib.clock import Clock, iso
from chalicelib.errors import InvalidParams, TransitionRejected, UnknownMethod
from chalicelib.models import ChildPolicy, ChildSpec, Job, SubmitRequest
from chalicelib.redaction import reveal
from chalicelib.registry import JobMethod, MethodRegistry
from chalicelib.retention import execution_waits, retention_deadline, stop_deadline
from chalicelib.settings import Settings
from chalicelib.states import JobState
from chalicelib.store import JobStore
from chalicelib.worker_contract import TaskResult
from chalicelib.workflow import Runner, Workflow

log = logging.getLogger("jobapi.fanout")

START_CONCURRENCY = 8
START_ATTEMPTS = 3
READ_BATCH = 100


class WaitForChildren(Exception):
    """Raised by the Run task of a parent: the state machine catches it by
    this name and moves the execution on to WaitChildren."""


class FanOut:
    def __init__(self, store: JobStore, workflow: Workflow, blobs: Blobs,
                 methods: MethodRegistry, settings: Settings, clock: Clock) -> None:
        self._store = store
        self._workflow = workflow
        self._blobs = blobs
        self._methods = methods
        self._settings = settings
        self._clock = clock

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
                method = self._methods.get(spec.method)
                method.parse_params(spec.params)
                if method.writes_file or method.reads_file:
                    raise InvalidParams(
                        f"{method.name} works on a file its submitter uploads or "
                        "downloads, so it cannot run as a sub-job")
            except (UnknownMethod, InvalidParams) as exc:
                raise type(exc)(f"{path}: {exc.message}", details={
                    "child": path, "problems": exc.details}) from None
            self._check_each(spec.children or [], f"{path}.children")

    def needs_standard(self, method_name: str, declares_children: bool) -> bool:
        """Long jobs, parents and jobs with files run on Standard: only Standard
        executions outlive five minutes or wait for a task token."""
        method = self._methods.get(method_name)
        return (method.long_running or method.spawns_children or declares_children
                or method.writes_file or method.reads_file)

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
        children = [self._child(parent, spec, index) for index, spec in enumerate(specs)]
        self._store.put_children(children)
        self.start_all(children)
        return True

    def start_all(self, children: list[Job]) -> None:
        with ThreadPoolExecutor(max_workers=START_CONCURRENCY) as pool:
            list(pool.map(self.start, children))

    def start(self, job: Job) -> bool:
        """Start a job's execution; a start that keeps failing is left to the
        sweeper, which starts WAITING jobs that stalled."""
        return start_execution(self._workflow, job, self._settings, self._clock)

    def children_timeout(self, job: Job) -> int:
        return job.children_timeout or self._settings.children_timeout_seconds

    def _child(self, parent: Job, spec: ChildSpec, index: int) -> Job:
        method = self._methods.get(spec.method)
        return self.new_job(
            method, reveal(method.parse_params(spec.params)), spec,
            id=tree.child_id(parent.id, index), tenant_id=parent.tenant_id,
            user_id=parent.user_id, transient=parent.transient, parent_id=parent.id,
            root_id=parent.root_id or parent.id, weight=spec.weight)

    def new_job(self, method: JobMethod, arguments: dict[str, Any],
                shape: ChildSpec | SubmitRequest, **fields: Any) -> Job:
        """A new WAITING record, for a submit or a child: what both share."""
        now = iso(self._clock())
        fields.setdefault("runner", self._workflow.runner_for(
            self.needs_standard(method.name, bool(shape.children))).value)
        return Job(
            method=method.name,
            arguments=arguments,
            description=shape.description,
            abortable=method.abortable,
            time_created=now,
            time_updated=now,
            on_child_failure=shape.on_child_failure or ChildPolicy(method.on_child_failure),
            children_timeout=shape.children_timeout or method.children_timeout,
            children_spec=[child.model_dump(mode="json", exclude_none=True)
                           for child in shape.children] if shape.children else None,
            secret_paths=self._methods.secret_paths_of(method, arguments),
            **fields,
        )

    # Waiting and waking.

    def wait(self, job_id: str, token: str) -> TaskResult:
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
        if not self._store.claim_wake(parent.id, token):
            return False  # someone else saw it ready first and sent it
        try:
            self._workflow.resume(token)
        except Exception:  # claimed but not sent: the sweeper sends it
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
            if child.state.is_terminal:
                continue
            now = self._clock()
            try:
                self._store.abort(child, iso(now), reason,
                                  retention_deadline(child, self._methods, self._settings, now),
                                  stop_deadline(child, self._settings, now))
            except TransitionRejected:
                continue  # it finished meanwhile, or it is running and not abortable
            aborted += 1
            if child.state is JobState.RUNNING:
                self.wake(child)
        return aborted

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
                if load_results and child.result_ref:
                    child = child.model_copy(update={
                        "result": self._blobs.get_json(child.result_ref)})
                yield child


def start_execution(workflow: Workflow, job: Job, settings: Settings, clock: Clock) -> bool:
    """A few attempts at starting a job's execution. False if they all failed:
    the job stays WAITING, and the sweeper starts it once it has stalled."""
    for attempt in range(START_ATTEMPTS):
        try:
            workflow.start(job.id, job.tenant_id, Runner(job.runner),
                           execution_waits(job, settings, clock()))
            return True
        except Exception as exc:  # any failure: the sweeper is the backstop
            log.warning("starting job %s failed (attempt %d): %s", job.id, attempt + 1, exc)
            if attempt + 1 < START_ATTEMPTS:
                time.sleep(0.05 * 2 ** attempt * random.uniform(0.5, 1.0))
    return False
