"""Once-only downloads (TrueNAS core.download): a job's output file is
fetched exactly once, through /_download/{job_id}?auth_token=T, and must be
claimed within its window or the job is aborted and the file deleted.

The clock is Step Functions': after the handler writes the file, the
execution waits on a task token (WaitDownload, TimeoutSecondsPath the
window). The claim is one conditional write (READY -> CLAIMED, RUNNING ->
SUCCESS, on the token's hash) that also wakes the execution; a window that
passes first times the wait out, and the worker aborts the job.

A small file (up to `download_inline_bytes`, 4 MiB) can be answered inline,
for clients that do not follow redirects: the record is read and the token
checked first, then the bytes, and only then the claim is written, so a
failed read leaves the download claimable and of any number of concurrent
fetches exactly one gets the bytes (the others lose the conditional write).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from chalicelib import download_links
from chalicelib.blobs import Blobs, S3Writer, content_disposition, output_key
from chalicelib.clock import Clock, from_iso, iso
from chalicelib.errors import Gone, NotFound, TransitionRejected, Unauthorized
from chalicelib.file_waits import park_for_file
from chalicelib.models import DownloadInfo, DownloadState, Job, Outcome
from chalicelib.settings import Settings
from chalicelib.states import JobState
from chalicelib.store import JobStore
from chalicelib.worker_contract import TaskResult
from chalicelib.workflow import Workflow

NO_SUCH_DOWNLOAD = "no such download"
BAD_LINK = "this download link is not valid: send the auth_token the link came with"
log = logging.getLogger("jobapi.downloads")
POLL_SECONDS = 1.0
BUFFERED_WINDOW_SECONDS = 3600


class WaitForDownload(Exception):
    """Raised by the worker's Run: the file is ready; the state machine's
    Catch sends the execution to WaitDownload (infra/template.yaml)."""


@dataclass(frozen=True)
class NotReady:
    """The file is not written yet: try again (202 + Retry-After)."""

    job: Job


@dataclass(frozen=True)
class Claimed:
    """Claimed; the file is fetched from a short-lived presigned URL (302)."""

    job: Job
    url: str


@dataclass(frozen=True)
class Inline:
    """Claimed; the file's bytes, answered as they are (200)."""

    job: Job
    body: bytes
    disposition: str  # Content-Disposition: attachment, the name made safe to show


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

    def new(self, filename: str, window: int, buffered: bool = False
            ) -> tuple[DownloadInfo, str]:
        """A job's download and its one-time token (shown once, stored hashed).
        A buffered file waits an hour after its job ends (TrueNAS's 3600 s)."""
        return DownloadInfo(filename=filename, buffered=buffered,
                            window_seconds=BUFFERED_WINDOW_SECONDS if buffered else window), \
            download_links.new_token()

    def ready_buffered(self, job: Job, writer: S3Writer) -> DownloadInfo:
        """A buffered job's file, written: offered until its window passes,
        while the job ends as if it wrote nothing special."""
        assert job.download is not None
        return job.download.model_copy(update={
            "state": DownloadState.READY, "size": writer.size, "sha256": writer.sha256,
            "available_until": iso(self._clock() + job.download.window_seconds)})

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

    def claim(self, job_id: str, token: str | None, wait_seconds: float,
              inline_bytes: int = 0) -> Claimed | Inline | NotReady:
        """Claim the download, waiting up to `wait_seconds` for the file. A
        file of at most `inline_bytes` comes back as its bytes (0: never)."""
        if not download_links.well_formed(token):
            raise Unauthorized(BAD_LINK)  # before any read (401 as TrueNAS answers)
        assert token is not None
        deadline = self._clock() + wait_seconds
        while True:
            try:
                if inline_bytes > 0:
                    return self._claim_inline(job_id, token, inline_bytes)
                return self._claim_once(job_id, token)
            except _NotReadyYet as pending:
                if self._clock() >= deadline:
                    return NotReady(pending.job)
            # Poll with reads, not writes: a failed conditional write costs a
            # write unit, a read an eighth of that. Then claim again (at the
            # deadline too: one last claim says where it stands).
            self._wait_until_ready(job_id, deadline)

    def _claim_once(self, job_id: str, token: str) -> Claimed:
        job = self._claim(job_id, token)
        assert job.download is not None
        url = self._blobs.presigned_get(output_key(job.id), job.download.filename,
                                        self._settings.download_url_seconds)
        return Claimed(job, url)

    def _claim_inline(self, job_id: str, token: str, limit: int) -> Claimed | Inline:
        """Read the record (the token is checked before any byte is read), then
        the bytes, then claim: a read that fails claims nothing."""
        job = self._store.get(job_id)
        if job is None or not _ready(job) or _buffered_expired(job, self._clock()) or \
                not download_links.token_matches(token, job.download_token_hash):
            raise self._why_not(job, token)
        assert job.download is not None
        if job.download.size is not None and job.download.size > limit:
            return self._claim_once(job_id, token)
        body = self._blobs.read_unless_over(output_key(job_id), limit)
        if body is None:  # deleted since the read: the window passed or a cancel
            raise self._why_not(self._store.get(job_id), token)
        if isinstance(body, int):
            return self._claim_once(job_id, token)
        return Inline(self._claim(job_id, token, job), body,
                      content_disposition(job.download.filename))

    def _claim(self, job_id: str, token: str, read: Job | None = None) -> Job:
        """The one conditional write; it also ends the execution's wait.
        `read`: the record as just read, if it was."""
        token_hash, now = download_links.token_hash(token), iso(self._clock())
        try:
            if _buffered_ready(read):  # the job ended already: its file alone is claimed
                return self._store.claim_buffered_download(job_id, token_hash, now)
            job = self._store.claim_download(job_id, token_hash, now)
        except TransitionRejected as exc:
            if read is not None or not _buffered_ready(exc.job):
                raise self._why_not(exc.job, token) from None
            return self._claim(job_id, token, exc.job)
        if job.wait_token:  # else the wait, when it starts, ends itself
            self._end_wait(job)
        return job

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
        if job is None or job.download is None:
            return NotFound(NO_SUCH_DOWNLOAD)
        if not download_links.token_matches(token, job.download_token_hash):
            return Unauthorized(BAD_LINK)  # the same answer for every wrong guess
        if job.download.state is DownloadState.CLAIMED:
            return Gone("this download link was used already; a file is downloaded once")
        if job.download.state is DownloadState.EXPIRED or _buffered_expired(job, self._clock()):
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


def _buffered_ready(job: Job | None) -> bool:
    return job is not None and job.state is JobState.SUCCESS and _ready(job) \
        and job.download is not None and job.download.buffered


def _buffered_expired(job: Job, now: float) -> bool:
    until = job.download.available_until if job.download else None
    return until is not None and from_iso(until) <= now
