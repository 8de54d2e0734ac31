"""The sweeper: a scheduled Lambda (and, locally, a background thread) that
repairs what a single request cannot. It reads only the sparse by_active
index (unfinished jobs, and aborted ones whose execution may still run),
never the whole table, and at most MAX_ENTRIES of it per partition a run.

Fair and bounded: a partition's entries are ordered by tenant, so a run that
always began at the start would never get past a tenant with more than
MAX_ENTRIES unfinished jobs. Each run resumes where the last one stopped (a
cursor per partition, kept in one small item) and starts over once it has
read the partition to its end: every entry is looked at within
ceil(entries / MAX_ENTRIES) + 1 runs, whoever its neighbours are. Each
partition is read once a run, and every repair looks at that window.

It repairs:
- a cancelled job whose handler ignored the cancel past its grace: its
  execution is stopped;
- a WAITING job whose execution never ran it (a start that failed):
  started again;
- a RUNNING job whose execution ended or vanished without recording an
  outcome (a Lambda that died twice, a lost Catch): FAILED with the reason;
  an Express execution lasts at most 5 minutes, so one RUNNING for longer is
  gone;
- a parent whose last child's wake was lost: woken;
- a job still waiting for its upload or download after its window (the
  state machine's timeout was lost): ABORTED, the file deleted.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

from chalicelib import keys, tree
from chalicelib.clock import Clock, iso
from chalicelib.creation import JobFactory
from chalicelib.errors import TransitionRejected
from chalicelib.fanout import FanOut
from chalicelib.models import Job
from chalicelib.settings import Settings
from chalicelib.states import JobState
from chalicelib.store import ActiveEntry, JobStore
from chalicelib.uploads import upload_pending
from chalicelib.worker import Worker
from chalicelib.workflow import Runner, Workflow

MAX_ENTRIES = 1000
# A wait's own timeout ends it; the sweeper steps in only once it is this late.
WAIT_MARGIN_SECONDS = 60


@dataclass
class SweepReport:
    stopped: list[str] = field(default_factory=list)
    restarted: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    woken: list[str] = field(default_factory=list)
    expired: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, list[str]]:
        return {"stopped": self.stopped, "restarted": self.restarted, "failed": self.failed,
                "woken": self.woken, "expired": self.expired}


class Sweeper:
    def __init__(self, store: JobStore, workflow: Workflow, factory: JobFactory,
                 fanout: FanOut, settings: Settings, clock: Clock, worker: Worker,
                 entries_per_run: int = MAX_ENTRIES) -> None:
        self._store = store
        self._entries_per_run = entries_per_run  # per partition
        self._workflow = workflow
        self._factory = factory
        self._fanout = fanout
        self._settings = settings
        self._clock = clock
        self._worker = worker

    def sweep(self) -> SweepReport:
        stopping, active = self._read_windows()
        report = SweepReport()
        report.stopped = self.stop_overdue_aborts(stopping)
        report.restarted = self.restart_stalled_starts(active)
        report.failed, report.woken = self.repair_lost_runs(active)
        report.expired = self.expire_file_waits(active)
        return report

    def _read_windows(self) -> tuple[list[ActiveEntry], list[ActiveEntry]]:
        """This run's window of every partition (the stopping ones, the active
        ones), each from where the last run stopped. The cursors are saved
        before any repair: an entry whose repair fails is looked at again once
        the cursor comes round, and cannot hold the others back."""
        cursors = self._store.sweep_cursors()
        before = dict(cursors)
        windows: dict[str, list[ActiveEntry]] = {}
        for shard in keys.stopping_shards() + keys.active_shards():
            window = self._store.active_window(shard, cursors.get(shard), self._entries_per_run)
            windows[shard] = window.entries
            if window.next_key is None:
                cursors.pop(shard, None)
            else:
                cursors[shard] = window.next_key
        if cursors != before:
            self._store.save_sweep_cursors(cursors)
        return ([entry for shard in keys.stopping_shards() for entry in windows[shard]],
                [entry for shard in keys.active_shards() for entry in windows[shard]])

    def repair_lost_runs(self, entries: list[ActiveEntry]) -> tuple[list[str], list[str]]:
        """RUNNING jobs started more than `lost_run_seconds` ago: fail those
        whose execution is gone, wake parents whose children are all done."""
        now = self._clock()
        started_before = iso(now - self._settings.lost_run_seconds)
        failed, woken = [], []
        for entry in entries:
            if entry.state is not JobState.RUNNING or entry.created_key >= started_before or \
                    (entry.time_started or "") >= started_before:
                continue
            runner = entry.runner or Runner.STANDARD.value
            status = self._workflow.status(entry.id) if runner == Runner.STANDARD.value \
                else "ENDED (an Express execution lasts at most 5 minutes)"
            if status == "RUNNING":
                if self._wake_if_ready(entry.id):
                    woken.append(entry.id)
                continue
            ended = self._worker.record_crash(entry.id, entry.tenant_id, {
                "Error": "ExecutionLost",
                "Cause": f"its execution ended ({status or 'missing'}) without recording "
                         "an outcome"})
            if ended.state == JobState.FAILED.value:
                failed.append(entry.id)
        return failed, woken

    def expire_file_waits(self, entries: list[ActiveEntry]) -> list[str]:
        """Jobs still waiting for an upload or a download well past the window."""
        late = iso(self._clock() - WAIT_MARGIN_SECONDS)
        expired = []
        for entry in entries:
            if entry.wait_deadline and entry.wait_deadline < late and \
                    self._worker.expire_file_wait(entry.id):
                expired.append(entry.id)
        return expired

    def _wake_if_ready(self, job_id: str) -> bool:
        """A parent whose children are all done, still waiting: the wake was
        claimed but never sent (a crash between the two), so send it. Its
        `woken_token` says it was sent; sending twice is harmless."""
        job = self._store.get(job_id)
        if job is None or job.state is not JobState.RUNNING or not tree.ready(job) or \
                not job.wait_token:
            return False
        self._workflow.resume(job.wait_token)
        return True

    def restart_stalled_starts(self, entries: list[ActiveEntry]) -> list[str]:
        """Start again the WAITING jobs created more than `stalled_start_seconds`
        ago. Starting twice is harmless: a Standard execution's name is the
        job id, and of two Express ones only the first to mark it RUNNING runs it."""
        cutoff = keys.created_key(iso(self._clock() - self._settings.stalled_start_seconds), "")
        restarted = []
        for entry in entries:
            if entry.state is not JobState.WAITING or entry.created_key >= cutoff:
                continue
            job = self._store.get(entry.id)
            if job is None or job.state is not JobState.WAITING or _waits_for_upload(job):
                continue
            if self._restart(job):
                restarted.append(job.id)
        return restarted

    def _restart(self, job: Job) -> bool:
        """Start a stalled job, unless its Standard execution exists: one still
        running will run it, and one that ended without running it (its name
        cannot be used again) fails it with the reason."""
        if job.runner == Runner.STANDARD.value:
            status = self._workflow.status(job.id)
            if status == "RUNNING":
                return False
            if status is not None:
                self._worker.record_crash(job.id, job.tenant_id, {
                    "Error": "ExecutionLost",
                    "Cause": f"its execution ended ({status}) before running the job"})
                return False
        return self._factory.start(job)

    def stop_overdue_aborts(self, entries: list[ActiveEntry]) -> list[str]:
        now = iso(self._clock())
        stopped = []
        for entry in entries:
            if entry.state is not JobState.ABORTED or (entry.abort_deadline or "") > now:
                continue
            self._stop(entry.id, entry.runner or Runner.STANDARD.value)
            stopped.append(entry.id)
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
