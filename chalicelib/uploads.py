"""Uploads: a job that reads a file its submitter sends.

Two ways in, one key (jobs/{id}/upload):

- small, TrueNAS style: POST /_upload (multipart `data`, then 1 to 5 `file`
  parts); the API stores the files (the first at jobs/{id}/upload, the
  others at upload-2 to upload-5), then creates and starts the job, which
  runs at once;
- any size, S3 direct: POST /jobs with "upload" answers a presigned PUT that
  S3 accepts once, for exactly the declared size (and SHA-256). The job's
  execution starts at once and waits on a task token (WaitUpload, timing
  out when the URL has expired plus a grace); the S3 event of the landed
  object marks the upload RECEIVED and wakes it. Before its handler runs,
  the worker checks the size and checksum (chalicelib.jobfiles).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

from chalicelib.blobs import (
    UPLOAD_FILES,
    Blobs,
    PresignedPut,
    upload_job_id,
    upload_key,
    upload_keys,
)
from chalicelib.errors import TransitionRejected
from chalicelib.file_waits import park_for_file
from chalicelib.models import Job, UploadInfo, UploadRequest, UploadState
from chalicelib.settings import Settings
from chalicelib.states import JobState
from chalicelib.store import JobStore
from chalicelib.worker_contract import TaskResult
from chalicelib.workflow import Workflow

log = logging.getLogger("jobapi.uploads")
UPLOAD_EXPIRED = "the upload did not arrive before its URL expired"
MAX_UPLOADED_FILES = UPLOAD_FILES  # TrueNAS's limit for one POST /_upload


@dataclass(frozen=True)
class IncomingFile:
    """A file that came with its request (POST /_upload)."""

    filename: str
    content_type: str
    body: bytes

    def received(self) -> UploadInfo.ReceivedFile:
        return UploadInfo.ReceivedFile(filename=self.filename, size=len(self.body),
                                       content_type=self.content_type,
                                       sha256=hashlib.sha256(self.body).hexdigest())


@dataclass(frozen=True)
class IncomingFiles:
    """The 1 to MAX_UPLOADED_FILES files that came with a request, in order."""

    files: tuple[IncomingFile, ...]

    def __post_init__(self) -> None:
        if not 1 <= len(self.files) <= MAX_UPLOADED_FILES:
            raise ValueError(f"1 to {MAX_UPLOADED_FILES} files, not {len(self.files)}")

    def info(self) -> UploadInfo:
        """The upload as the record keeps it: the first file, and all of them."""
        received = [incoming.received() for incoming in self.files]
        first = received[0]
        return UploadInfo(filename=first.filename, size=first.size,
                          content_type=first.content_type, sha256=first.sha256,
                          state=UploadState.RECEIVED, verified=True,
                          count=len(received), files=received)


class WaitForUpload(Exception):
    """Raised by the worker's Run while the file has not landed: the state
    machine's Catch sends the execution to WaitUpload (infra/template.yaml)."""


class Uploads:
    def __init__(self, store: JobStore, workflow: Workflow, blobs: Blobs,
                 settings: Settings) -> None:
        self._store = store
        self._workflow = workflow
        self._blobs = blobs
        self._settings = settings

    @staticmethod
    def declared(request: UploadRequest) -> UploadInfo:
        return UploadInfo(filename=request.filename, size=request.size,
                          content_type=request.content_type,
                          sha256=request.sha256.lower() if request.sha256 else None)

    def url_seconds(self, request: UploadRequest | None) -> int:
        return (request.expires_in if request and request.expires_in
                else self._settings.upload_url_seconds)

    def window(self, url_seconds: int) -> int:
        """How long the execution waits: a PUT begun just before its URL
        expired may still be on its way."""
        return url_seconds + self._settings.upload_grace_seconds

    def presign(self, job: Job, seconds: int) -> PresignedPut:
        assert job.upload is not None
        return self._blobs.presigned_put(upload_key(job.id), job.upload.size,
                                         job.upload.content_type, job.upload.sha256, seconds)

    def store_small(self, job_id: str, incoming: IncomingFiles) -> bool:
        """Store the files that came with their request, before their job
        exists, in order. False if the job has them already (a replayed
        submit): never overwrite. A put that fails deletes the files this call
        stored (the job will not exist); should that fail too, they lie under
        the job's prefix, where a retry or the bucket's lifecycle finds them."""
        fresh: list[str] = []
        try:
            for number, file in enumerate(incoming.files, start=1):
                key = upload_key(job_id, number)
                if self._blobs.put_bytes(key, file.body, file.content_type, if_absent=True):
                    fresh.append(key)
        except Exception:
            self._forget(fresh)
            raise
        return len(fresh) == len(incoming.files)

    def _forget(self, keys: list[str]) -> None:
        try:
            self._blobs.delete_many(keys)
        except Exception:
            log.warning("could not delete %d uploaded files of a job never created",
                        len(keys), exc_info=True)

    def discard(self, job_id: str) -> None:
        self._blobs.delete_many(upload_keys(job_id))

    def park(self, job_id: str, token: str) -> TaskResult:
        """The WaitUpload task (ended at once if the file has landed already)."""
        return park_for_file(self._store, self._workflow, job_id, token, "upload")

    def landed(self, bucket: str, key: str, size: int) -> str | None:
        """An object was created in the files bucket (the S3 event): if it is
        an upload a job waits for, mark it RECEIVED and wake the job."""
        job_id = upload_job_id(key) if bucket == self._blobs.bucket else None
        if job_id is None:
            return None
        try:
            job = self._store.mark_upload_received(job_id, size)
        except TransitionRejected as exc:
            return self._seen_before(job_id, exc)
        if job.wait_token:
            self._workflow.resume(job.wait_token)  # else the wait ends itself when it starts
        return job.state.value

    def _seen_before(self, job_id: str, rejected: TransitionRejected) -> str | None:
        """Stored by POST /_upload, a repeated event, or too late. A job aborted
        meanwhile will never read its file; a job still WAITING is woken again
        (EventBridge retries an event whose wake failed: this repairs it)."""
        if rejected.actual_state is JobState.ABORTED:
            self.discard(job_id)
        old = rejected.job
        if old is not None and old.state is JobState.WAITING and old.wait_token:
            self._workflow.resume(old.wait_token)
        return rejected.actual_state



def upload_pending(job: Job) -> bool:
    return job.upload is not None and job.upload.state is UploadState.PENDING
