"""The sweeper: a scheduled Lambda (and, locally, a background thread) that
repairs what a single request cannot. Its work is bounded per run and reads
only the sparse by_active index, never the whole table.

Now: stop the executions of cancelled jobs whose handlers ignored the cancel
past their grace period, and start again the WAITING jobs whose execution
never claimed them (a start that failed: a child's, or a submit's).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

from chalicelib import keys
from chalicelib.clock import Clock, iso
from chalicelib.errors import TransitionRejected
from chalicelib.fanout import FanOut
from chalicelib.models import Job
from chalicelib.settings import Settings
from chalicelib.states import JobState
from chalicelib.store import JobStore
from chalicelib.uploads import upload_pending
from chalicelib.workflow import Runner, Workflow

BATCH = 100


@dataclass
class SweepReport:
    stopped: list[str] = field(default_factory=list)
    restarted: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, list[str]]:
        return {"stopped": self.stopped, "restarted": self.restarted}


class Sweeper:
    def __init__(self, store: JobStore, workflow: Workflow, fanout: FanOut,
                 settings: Settings, clock: Clock) -> None:
        self._store = store
        self._workflow = workflow
        self._fanout = fanout
        self._settings = settings
        self._clock = clock

    def sweep(self) -> SweepReport:
        report = SweepReport()
        report.stopped = self.stop_overdue_aborts()
        report.restarted = self.restart_stalled_starts()
        return report

    def restart_stalled_starts(self) -> list[str]:
        """Start again the WAITING jobs created more than `stalled_start_seconds`
        ago. Starting twice is harmless: a Standard execution's name is the
        job id, and of two Express ones only the first claim runs the job."""
        cutoff = keys.created_key(iso(self._clock() - self._settings.stalled_start_seconds), "")
        restarted = []
        for shard in keys.active_shards():
            for entry in self._store.active_page(shard, BATCH, created_before=cutoff):
                if entry.get("state") != JobState.WAITING.value:
                    continue
                job = self._store.get(entry["id"])
                if job is None or job.state is not JobState.WAITING or _waits_for_upload(job):
                    continue
                if self._fanout.start(job):
                    restarted.append(job.id)
        return restarted

    def stop_overdue_aborts(self) -> list[str]:
        now = iso(self._clock())
        stopped = []
        for shard in keys.stopping_shards():
            for entry in self._store.active_page(shard, BATCH):
                if entry.get("state") != JobState.ABORTED.value:
                    continue
                if entry.get("abort_deadline", "") > now:
                    continue
                self._stop(entry["id"], entry.get("runner", Runner.STANDARD.value))
                stopped.append(entry["id"])
        return stopped

    def _stop(self, job_id: str, runner: str) -> None:
        # Stop first, then release: a crash between the two leaves the job in
        # the stopping partition, and the next run stops it again (a no-op).
        # Express executions cannot be stopped; theirs ends within five minutes.
        if runner == Runner.STANDARD.value:
            self._workflow.stop(job_id, "Job.Aborted",
                                "cancelled; the handler did not stop within the grace period")
        job = self._store.get(job_id)
        if job is not None and job.has_children:
            # A stopped parent never reaches Finish, which would have done this.
            self._fanout.cascade(job, f"parent job {job_id} was aborted")
        with contextlib.suppress(TransitionRejected):
            self._store.release(job_id)


def _waits_for_upload(job: Job) -> bool:
    """WAITING by design: its execution holds a task token until the file lands."""
    return upload_pending(job) and job.wait_token is not None
