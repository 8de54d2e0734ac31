"""Creating jobs: every new record, a submit's or a child's, is built here,
its runner chosen here once, and its execution started here.

The record is written first, then the execution started (by the caller:
chalicelib.service, chalicelib.fanout): a start that fails leaves a WAITING
job that a retry or the sweeper starts, never an execution without a record.
"""

from __future__ import annotations

import logging
import random
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from chalicelib import tree
from chalicelib.basics import Basics
from chalicelib.clock import iso
from chalicelib.models import ChildPolicy, ChildSpec, Job, SubmitRequest
from chalicelib.numbering import JobNumbers
from chalicelib.redaction import reveal
from chalicelib.registry import JobMethod
from chalicelib.retention import execution_waits
from chalicelib.workflow import Runner, Workflow

log = logging.getLogger("jobapi.creation")

START_CONCURRENCY = 8
START_ATTEMPTS = 3


class JobFactory:
    def __init__(self, workflow: Workflow, basics: Basics, numbers: JobNumbers) -> None:
        self._workflow = workflow
        self._basics = basics
        self._numbers = numbers

    def new_job(self, method: JobMethod, arguments: dict[str, Any],
                shape: ChildSpec | SubmitRequest, **fields: Any) -> Job:
        """A new WAITING record, for a submit or a child: what both share."""
        now = iso(self._basics.clock())
        if "number" not in fields:
            (fields["number"],) = self._numbers.take(fields["tenant_id"])
        return Job(
            method=method.name,
            arguments=arguments,
            description=shape.description,
            abortable=method.abortable,
            time_created=now,
            time_updated=now,
            runner=self._runner(method, bool(shape.children)).value,
            on_child_failure=shape.on_child_failure or ChildPolicy(method.on_child_failure),
            children_timeout=shape.children_timeout or method.children_timeout,
            children_spec=[child.model_dump(mode="json", exclude_none=True)
                           for child in shape.children] if shape.children else None,
            secret_paths=self._basics.methods.secret_paths_of(method, arguments),
            resources=list(shape.resources or []),
            **fields,
        )

    def children(self, parent: Job, specs: list[ChildSpec]) -> list[Job]:
        """`parent`'s children, numbered from one reservation."""
        numbers = self._numbers.take(parent.tenant_id, len(specs)) if specs else []
        return [self.child(parent, spec, index, number)
                for index, (spec, number) in enumerate(zip(specs, numbers, strict=True))]

    def child(self, parent: Job, spec: ChildSpec, index: int, number: int | None = None) -> Job:
        """The `index`-th child of `parent`: its id derives from the parent's,
        so a repeated spawn creates nothing twice (nor numbers it twice: the
        record that exists keeps its number)."""
        method = self._basics.methods.submittable(spec.method)
        numbered = {} if number is None else {"number": number}
        return self.new_job(
            method, reveal(method.parse_params(spec.params)), spec,
            id=tree.child_id(parent.id, index), tenant_id=parent.tenant_id,
            user_id=parent.user_id, transient=parent.transient, parent_id=parent.id,
            root_id=parent.root_id or parent.id, weight=spec.weight, **numbered)

    def _runner(self, method: JobMethod, declares_children: bool) -> Runner:
        """Long jobs, parents and jobs with files run on Standard: only Standard
        executions outlive five minutes or wait for a task token."""
        return self._workflow.runner_for(
            method.long_running or method.spawns_children or declares_children
            or method.writes_file or method.reads_file)

    def start(self, job: Job) -> bool:
        """A few attempts at starting a job's execution. False if they all
        failed: the job stays WAITING, and the sweeper starts it once it has
        stalled (`stalled_start_seconds`)."""
        for attempt in range(START_ATTEMPTS):
            try:
                self._workflow.start(job.id, job.tenant_id, Runner(job.runner),
                                     execution_waits(job, self._basics.settings,
                                                     self._basics.clock()))
                return True
            except Exception as exc:  # any failure: the sweeper is the backstop
                log.warning("starting job %s failed (attempt %d): %s", job.id, attempt + 1, exc)
                if attempt + 1 < START_ATTEMPTS:
                    time.sleep(0.05 * 2 ** attempt * random.uniform(0.5, 1.0))
        return False

    def start_all(self, jobs: list[Job]) -> None:
        with ThreadPoolExecutor(max_workers=START_CONCURRENCY) as pool:
            list(pool.map(self.start, jobs))
