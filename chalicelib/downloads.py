"""Once-only downloads (TrueNAS core.download): a job's output file is
fetched exactly once, through /_download/{job_id}?auth_token=T, and must be
claimed within its window or the job is aborted and the file deleted.

The clock is Step Functions': after the handler writes the file, the
execution waits on a task token (WaitDownload, TimeoutSecondsPath the
window). The claim is one conditional write (READY -> CLAIMED, RUNNING ->
SUCCESS, on the token's hash) that also wakes the execution; a window that
passes first times the wait out, and the worker aborts the job.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from chalicelib import download_links
from chalicelib.blobs import Blobs, S3Writer, output_key
from chalicelib.clock import Clock, iso
from chalicelib.errors import Gone, NotFound, TransitionRejected
from chalicelib.file_waits import park_for_file
from chalicelib.models import DownloadInfo, DownloadState, Job, Outcome
from chalicelib.settings import Settings
from chalicelib.states import JobState
from chalicelib.store import JobStore
from chalicelib.worker_contract import TaskResult
from chalicelib.workflow import Workflow

NO_SUCH_DOWNLOAD = "no such download"
log = logging.getLogger("jobapi.downloads")
POLL_SECONDS = 1.0


class WaitForDownload(Exception):
    """Raised by the worker's Run: the file is ready; the state machine's
    Catch sends the execution to WaitDownload (infra/template.yaml)."""


@dataclass(frozen=True)
class NotReady:
    """The file is not written yet: try again (202 + Retry-After)."""

    job: Job


@dataclass(frozen=True)
class Claimed:
    job: Job
    url: str


class Downloads:
    def __init__(self, store: JobStore, workflow: Workflow, blobs: Blobs, settings: Settings,
                 clock: Clock, sleep: Callable[[float], None] = time.sleep) -> None:
        self._store = store
        self._workflow = workflow
        self._blobs = blobs
        self._settings = settings
        self._clock = clock
        self._sleep = sleep

    def window(self, method_window: int | None) -> int:
        return method_window or self._settings.download_window_seconds

    def new(self, filename: str, window: int) -> tuple[DownloadInfo, str]:
        """A job's download and its one-time token (shown once, stored hashed)."""
        return DownloadInfo(filename=filename, window_seconds=window), download_links.new_token()

    # The worker's side.

    def offer(self, job: Job, outcome: Outcome, writer: S3Writer, expires_at: int) -> None:
        """Mark the written file READY with the staged outcome (the execution
        then waits: the worker raises WaitForDownload)."""
        assert job.download is not None
        ready = job.download.model_copy(update={
            "state": DownloadState.READY, "size": writer.size, "sha256": writer.sha256})
        now = self._clock()
        try:
            self._store.offer_download(job, outcome.model_copy(update={"download": ready}),
                                       expires_at, iso(now),
                                       iso(now + job.download.window_seconds))
        except TransitionRejected:
            self._blobs.delete(output_key(job.id))  # cancelled while it wrote
            raise

    def park(self, job_id: str, token: str) -> TaskResult:
        """The WaitDownload task (ended at once if the file was claimed already)."""
        return park_for_file(self._store, self._workflow, job_id, token, "download")

    def expired(self, job: Job) -> Outcome:
        assert job.download is not None
        window = job.download.window_seconds
        return Outcome(
            state=JobState.ABORTED,
            error=f"the download did not begin within {window} s; the file was deleted",
            download=job.download.model_copy(update={"state": DownloadState.EXPIRED}))

    def discard(self, job: Job) -> None:
        self._blobs.delete(output_key(job.id))

    # The client's side.

    def claim(self, job_id: str, token: str | None, wait_seconds: float) -> Claimed | NotReady:
        """Claim the download, waiting up to `wait_seconds` for the file."""
        if not download_links.well_formed(token):
            raise NotFound(NO_SUCH_DOWNLOAD)
        assert token is not None
        deadline = self._clock() + wait_seconds
        while True:
            try:
                return self._claim_once(job_id, token)
            except _NotReadyYet as pending:
                if self._clock() >= deadline:
                    return NotReady(pending.job)
            # Poll with reads, not writes: a failed conditional write costs a
            # write unit, a read an eighth of that. Then claim again (at the
            # deadline too: one last claim says where it stands).
            self._wait_until_ready(job_id, deadline)

    def _claim_once(self, job_id: str, token: str) -> Claimed:
        try:
            job = self._store.claim_download(job_id, download_links.token_hash(token),
                                             iso(self._clock()))
        except TransitionRejected as exc:
            raise self._why_not(exc.job, token) from None
        if job.wait_token:  # else the wait, when it starts, ends itself
            self._end_wait(job)
        assert job.download is not None
        url = self._blobs.presigned_get(output_key(job.id), job.download.filename,
                                        self._settings.download_url_seconds)
        return Claimed(job, url)

    def _end_wait(self, job: Job) -> None:
        """The claim is made: the client gets its file whatever happens here.
        A wake that fails leaves the execution waiting until the window's
        timeout, which then finds the job SUCCESS and changes nothing."""
        assert job.wait_token is not None
        try:
            self._workflow.resume(job.wait_token)
        except Exception:
            log.warning("could not end the download wait of job %s; its window will",
                        job.id, exc_info=True)

    def _wait_until_ready(self, job_id: str, deadline: float) -> None:
        while self._clock() < deadline:
            self._sleep(min(POLL_SECONDS, max(0.0, deadline - self._clock())))
            job = self._store.get(job_id)
            if job is None or job.state.is_terminal or _ready(job):
                return

    def _why_not(self, job: Job | None, token: str) -> Exception:
        if job is None or job.download is None or \
                not download_links.token_matches(token, job.download_token_hash):
            return NotFound(NO_SUCH_DOWNLOAD)  # the same answer for every wrong guess
        if job.download.state is DownloadState.CLAIMED:
            return Gone("this download link was used already; a file is downloaded once")
        if job.download.state is DownloadState.EXPIRED:
            return Gone(f"the download did not begin within {job.download.window_seconds} s; "
                        "the file was deleted")
        if job.state.is_terminal:
            return Gone(f"the job ended {job.state.value} without a file to download",
                        details={"state": job.state.value, "error": job.error})
        return _NotReadyYet(job)


class _NotReadyYet(Exception):
    def __init__(self, job: Job) -> None:
        super().__init__(job.id)
        self.job = job


def _ready(job: Job) -> bool:
    return job.download is not None and job.download.state is DownloadState.READY
