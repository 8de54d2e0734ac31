"""JobService: what the HTTP routes call. Knows nothing of HTTP or of boto3."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from chalicelib import download_links, items, keys
from chalicelib.basics import Basics
from chalicelib.blobs import Blobs, PresignedPut
from chalicelib.caller import Caller
from chalicelib.clock import from_iso, iso
from chalicelib.creation import JobFactory
from chalicelib.errors import (
    BadRequest,
    Conflict,
    NotFound,
    ServiceUnavailable,
    TransitionRejected,
)
from chalicelib.fanout import FanOut
from chalicelib.models import DownloadState, Job, SubmitRequest, UploadInfo
from chalicelib.redaction import reveal
from chalicelib.registry import JobMethod
from chalicelib.results import Results
from chalicelib.retention import retention_deadline, stop_deadline
from chalicelib.states import JobState
from chalicelib.store import DuplicateJob, JobStore, LockHeld
from chalicelib.transfers import Transfers
from chalicelib.uploads import IncomingFiles, upload_pending

# Idempotent submits derive the job id from (tenant, user, key): the job's
# own conditional put is then the dedup, with no extra item and no extra
# call. A key is the caller's own: another user who sends it makes a job of
# their own and can neither join nor learn of the first.
IDEMPOTENCY_NAMESPACE = uuid.UUID("6f1c1d1e-8a53-4c53-9a43-1f0d6b7f8e21")
LOCK_ATTEMPTS = 3
POLL_SECONDS = 1.0
# Lambda answers stop at 6 MB: a bigger log is fetched from S3 directly.
INLINE_LOG_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True)
class Submission:
    job: Job
    created: bool = True
    joined: bool = False
    # Shown once, in the answer to the submit: only the token's hash is kept.
    download_url: str | None = None
    upload: PresignedPut | None = None


@dataclass(frozen=True)
class JobLog:
    job: Job
    text: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class FileFields:
    """What a submit's files add to the new record, and the one-time token."""

    fields: dict[str, Any]
    token: str | None = None


class JobService:
    def __init__(
        self,
        store: JobStore,
        factory: JobFactory,
        results: Results,
        fanout: FanOut,
        transfers: Transfers,
        blobs: Blobs,
        basics: Basics,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._store = store
        self._factory = factory
        self._results = results
        self._fanout = fanout
        self._downloads = transfers.downloads
        self._uploads = transfers.uploads
        self._blobs = blobs  # a job's log
        self._methods = basics.methods
        self._settings = basics.settings
        self._clock = basics.clock
        self._sleep = sleep

    def submit(
        self, request: SubmitRequest, caller: Caller, idempotency_key: str | None = None,
        incoming: IncomingFiles | None = None, internal: bool = False,
    ) -> Submission:
        """Create and start a job. `incoming`: the files that came with the
        request (POST /_upload); they are stored before the job exists, and
        only once everything else has been checked. `internal`: a face's own
        job, of a method no client may submit (registry `internal`)."""
        method = self._methods.get(request.method) if internal else \
            self._methods.submittable(request.method)
        params = method.parse_params(request.params)
        uploaded = incoming.info() if incoming else None
        _check_files(method, request, uploaded)
        if request.children:
            self._fanout.check(request.children)
        files = self._file_fields(method, request, uploaded)
        job = self._new_job(method, params, request, caller, idempotency_key, files.fields)
        if incoming is not None:  # a record too big to store is a 413 before the file is
            items.check_fits(job)  # stored (POST /jobs writes nothing before the record)
        stored = incoming is not None and self._uploads.store_small(job.id, incoming)
        try:
            if method.lock is not None:
                return self._submit_locked(job, method.lock(params), caller, files)
            self._store.create(job)
        except DuplicateJob as duplicate:
            return self._replay(duplicate.existing, job)
        except Exception:
            if stored:
                self._uploads.discard(job.id)  # no job will ever read it
            raise
        # Record first, then start: a start that fails leaves a WAITING job
        # that a retry or the sweeper starts, never an execution without a record.
        self._start(job)
        return self._created(job, files)


    def get(self, job_id: str, caller: Caller, load_result: bool = True) -> Job:
        job = self._store.get(job_id)
        if job is None or not _visible(job, caller) or job.is_expired(self._clock()):
            raise NotFound("no such job")  # the id sent is not echoed
        # A result is published with SUCCESS (a download job stages it earlier).
        if load_result and job.state is JobState.SUCCESS:
            job = self._results.loaded(job)
        return job

    def long_poll(self, job_id: str, caller: Caller, seconds: float, since: str | None) -> Job:
        """Long poll (NetApp): return when the job's state or progress moves
        past `since` (default: what the first read saw), or after `seconds`."""
        job = self.get(job_id, caller, load_result=False)
        baseline = since or job.time_updated
        deadline = self._clock() + seconds
        while not _moved(job, baseline) and self._clock() < deadline:
            self._sleep(min(POLL_SECONDS, max(0.0, deadline - self._clock())))
            job = self.get(job_id, caller, load_result=False)
        return self.get(job_id, caller) if job.result_ref else job

    def log_of(self, job_id: str, caller: Caller) -> JobLog:
        """A job's whole log: its text, or for a log too big for a Lambda
        answer, a presigned URL that lives seconds."""
        job = self.get(job_id, caller, load_result=False)
        if not job.logs_path:
            return JobLog(job)
        body = self._blobs.read_unless_over(job.logs_path, INLINE_LOG_BYTES)
        if body is None:
            return JobLog(job)
        if isinstance(body, int):
            return JobLog(job, url=self._blobs.presigned_get(
                job.logs_path, f"{job.id}.log", self._settings.download_url_seconds))
        return JobLog(job, text=body.decode("utf-8", "replace"))

    def cancel(self, job_id: str, caller: Caller) -> Job:
        job = self.get(job_id, caller, load_result=False)
        for _ in range(2):  # once more if a start or a finish raced the write
            _check_cancellable(job)
            try:
                now = self._clock()
                aborted = self._store.abort(
                    job, iso(now), "aborted by request",
                    retention_deadline(job, self._methods, self._settings, now),
                    stop_deadline(job, self._settings, now),
                )
            except TransitionRejected as rejected:
                if rejected.job is None:
                    raise NotFound("no such job") from None
                job = rejected.job  # the record as the write found it
                continue
            # A parent waiting for its children goes on to Finish, which
            # aborts them; a child may have been the one its parent waited for.
            # A job waiting for its upload or download stops waiting.
            self._fanout.wake(job)
            self._fanout.child_ended(aborted)
            if job.download is not None and job.download.state is DownloadState.READY:
                self._downloads.discard(job)
            return aborted
        _check_cancellable(job)
        raise ServiceUnavailable("the job changed state while being cancelled; retry")

    def methods(self) -> list[dict[str, Any]]:
        return self._methods.describe()

    def method_models(self) -> list[JobMethod]:
        """The submittable methods themselves (their params models: the contract)."""
        return self._methods.public()

    def _submit_locked(self, job: Job, lock_key: str, caller: Caller,
                       files: FileFields) -> Submission:
        lock_id = keys.lock_id(job.tenant_id, lock_key)
        stale: str | None = None
        for _ in range(LOCK_ATTEMPTS):
            try:
                self._store.create_locked(job.model_copy(update={"lock_key": lock_key}),
                                          lock_id, stale)
            except LockHeld as held:
                try:
                    joined = self._store.join(held.holder_id, caller.request_id or job.id)
                    return Submission(joined, created=False, joined=True)
                except TransitionRejected:
                    stale = held.holder_id  # the holder finished: take its lock over
                continue
            self._start(job)
            return self._created(job, files)
        raise ServiceUnavailable("the lock kept changing hands; retry")

    def _replay(self, existing: Job, attempted: Job) -> Submission:
        if existing.request_hash != attempted.request_hash:
            raise Conflict(
                "this Idempotency-Key was used with a different request body",
                details={"job_id": existing.id},
            )
        if existing.state is JobState.WAITING:
            # The first request may have died between its write and its start;
            # if it did start, marking it RUNNING makes the second execution run nothing.
            self._start(existing)
        return Submission(existing, created=False, download_url=self._new_link(existing),
                          upload=self._upload_url(existing))

    def download_link(self, job_id: str, caller: Caller) -> str:
        """A new one-time link to a job's file, for whoever may see the job
        (its submitter lost the first, or another client fetches it): the
        link given before stops working. A file already fetched, expired or
        never offered has none: a 409."""
        job = self.get(job_id, caller, load_result=False)
        link = self._new_link(job)
        if link is None:
            state = job.download.state.value if job.download else None
            raise Conflict("the job has no file waiting to be downloaded",
                           details={"download_state": state})
        return link

    def _new_link(self, job: Job) -> str | None:
        """A replayed submit may be the client retrying a lost answer: it gets
        a working link, and the first one stops working."""
        if job.download is None or job.download.state not in (DownloadState.PENDING,
                                                               DownloadState.READY):
            return None
        token = download_links.new_token()
        try:
            self._store.rotate_download_token(job.id, download_links.token_hash(token))
        except TransitionRejected:
            return None
        return download_links.download_path(job.id, token)

    def _upload_url(self, job: Job) -> PresignedPut | None:
        if not upload_pending(job) or job.upload is None or not job.upload.url_expires_at:
            return None
        seconds = int(from_iso(job.upload.url_expires_at) - self._clock())
        return self._uploads.presign(job, seconds) if seconds > 0 else None

    def _created(self, job: Job, files: FileFields) -> Submission:
        link = download_links.download_path(job.id, files.token) if files.token else None
        return Submission(job, download_url=link, upload=self._upload_url(job))

    def _file_fields(self, method: JobMethod, request: SubmitRequest,
                     uploaded: UploadInfo | None) -> FileFields:
        fields: dict[str, Any] = {}
        token = None
        if request.download is not None:
            download, token = self._downloads.new(
                request.download.filename, self._downloads.window(method.download_window),
                request.download.buffered)
            fields["download"] = download
            fields["download_token_hash"] = download_links.token_hash(token)
        if uploaded is not None:
            fields["upload"] = uploaded
        elif request.upload is not None:
            seconds = self._uploads.url_seconds(request.upload)
            now = self._clock()
            fields["upload"] = self._uploads.declared(request.upload).model_copy(
                update={"url_expires_at": iso(now + seconds)})
            fields["wait_deadline"] = iso(now + self._uploads.window(seconds))
        return FileFields(fields, token)

    def _start(self, job: Job) -> None:
        """Start the job's execution (a few attempts). If AWS keeps refusing,
        the job still exists, WAITING: the answer is 202 all the same (a
        client that retried would make a second job) and the sweeper starts
        it once it is `stalled_start_seconds` old."""
        self._factory.start(job)

    def _new_job(self, method: JobMethod, params: BaseModel, request: SubmitRequest,
                 caller: Caller, idempotency_key: str | None,
                 files: dict[str, Any]) -> Job:
        arguments = reveal(params)
        return self._factory.new_job(
            method, arguments, request,
            id=idempotent_job_id(caller, idempotency_key),
            transient=request.transient,
            tenant_id=caller.tenant_id,
            user_id=caller.user_id,
            message_ids=[caller.request_id] if caller.request_id else [],
            request_hash=_request_hash(method.name, arguments, request,
                                       files.get("upload")) if idempotency_key else None,
            **files,
        )


def idempotent_job_id(caller: Caller, idempotency_key: str | None) -> str:
    if idempotency_key is None:
        return str(uuid.uuid4())
    scope = f"{caller.tenant_id}\x00{caller.user_id or ''}\x00{idempotency_key}"
    return str(uuid.uuid5(IDEMPOTENCY_NAMESPACE, scope))


def _request_hash(method: str, arguments: dict[str, Any], request: SubmitRequest,
                  uploaded: UploadInfo | None) -> str:
    canonical = json.dumps(
        {"method": method, "params": arguments, "description": request.description,
         "transient": request.transient,
         "children": request.model_dump(mode="json")["children"],
         "on_child_failure": request.on_child_failure,
         "children_timeout": request.children_timeout,
         "download": request.model_dump(mode="json")["download"],
         "upload": request.model_dump(mode="json")["upload"],
         "uploaded": uploaded.fingerprint() if uploaded else None},
        sort_keys=True, separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _check_files(method: JobMethod, request: SubmitRequest, uploaded: UploadInfo | None) -> None:
    """A method that writes a file needs a "download"; one that reads a file
    needs an upload; neither takes what it cannot use."""
    if method.writes_file and request.download is None:
        raise BadRequest(f"{method.name} writes a file: submit it with "
                         "\"download\": {\"filename\": \"...\"}")
    if not method.writes_file and request.download is not None:
        raise BadRequest(f"{method.name} writes no file to download; remove \"download\"")
    has_upload = uploaded is not None or request.upload is not None
    if method.reads_file and not has_upload:
        raise BadRequest(f"{method.name} reads a file: send it with POST /_upload, or submit "
                         "with \"upload\": {\"filename\", \"size\"} and PUT it to the "
                         "upload_url")
    if not method.reads_file and has_upload:
        raise BadRequest(f"{method.name} reads no uploaded file; remove the upload")
    if request.children and (request.download is not None or has_upload):
        raise BadRequest("a job with files cannot declare children")


def _moved(job: Job, baseline: str) -> bool:
    return job.state.is_terminal or job.time_updated > baseline


def _check_cancellable(job: Job) -> None:
    if job.state.is_terminal:
        raise Conflict(f"job {job.id} already finished: {job.state.value}",
                       details={"state": job.state.value})
    if job.state is JobState.RUNNING and not job.abortable:
        raise Conflict(f"job {job.id} is running and its method ({job.method}) is not abortable",
                       details={"state": job.state.value, "abortable": False})


def _visible(job: Job, caller: Caller) -> bool:
    return caller.may_see(job)
