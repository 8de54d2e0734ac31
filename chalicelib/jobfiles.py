"""A running job's files, as its handler sees them through the context:
the one output file it writes for download (`ctx.output()`), and the files
its submitter uploaded (`ctx.upload`, the first; `ctx.uploads`, all of them
in order)."""

from __future__ import annotations

import base64
import hashlib
from typing import IO, Any

from chalicelib.blobs import Blobs, S3Writer, output_key, upload_key
from chalicelib.models import Job, UploadInfo

CHUNK_BYTES = 1024 * 1024


class UploadedFile:
    """One of the submitter's files, read straight from S3 (any size: stream it)."""

    def __init__(self, blobs: Blobs, key: str, info: UploadInfo | UploadInfo.ReceivedFile,
                 number: int = 1) -> None:
        self._blobs = blobs
        self._key = key
        self.number = number  # its place in the upload, from 1
        self.filename = info.filename
        self.size = info.size
        self.content_type = info.content_type
        self.sha256: str | None = info.sha256

    def open(self) -> IO[bytes]:
        """A binary stream of the file (read it in chunks for big files)."""
        body = self._blobs.open(self._key)
        if body is None:
            raise FileNotFoundError(f"the uploaded file {self.filename!r} is gone")
        stream: IO[bytes] = body
        return stream

    def read(self) -> bytes:
        with self.open() as stream:
            return stream.read()


class JobFiles:
    def __init__(self, blobs: Blobs, job: Job) -> None:
        self._blobs = blobs
        self._job = job
        self.written: S3Writer | None = None

    def output(self, content_type: str = "application/octet-stream") -> S3Writer:
        if self._job.download is None:
            raise RuntimeError(f"{self._job.method} has no output file: register it with "
                               "writes_file=True and submit it with \"download\"")
        if self.written is not None and not self.written.closed:
            raise RuntimeError("the output file is already open")
        if self.written is not None and self.written.completed:
            raise RuntimeError("the output file was written already; a job writes one file")
        self.written = self._blobs.writer(output_key(self._job.id), content_type)
        return self.written

    @property
    def upload(self) -> UploadedFile:
        return UploadedFile(self._blobs, upload_key(self._job.id), self._info())

    @property
    def uploads(self) -> list[UploadedFile]:
        info = self._info()
        if not info.files:  # one file (S3 direct, or a record from before several)
            return [self.upload]
        return [UploadedFile(self._blobs, upload_key(self._job.id, number), part, number)
                for number, part in enumerate(info.files, start=1)]

    def _info(self) -> UploadInfo:
        if self._job.upload is None:
            raise RuntimeError(f"{self._job.method} was submitted without a file")
        return self._job.upload

    def settle(self, succeeded: bool) -> S3Writer | None:
        """After the handler: complete the output it left open, or drop it."""
        writer = self.written
        if writer is None:
            return None
        if succeeded:
            writer.close()
        else:
            writer.abort()
            self.written = None
        return writer


def check_upload(blobs: Blobs, job: Job) -> str | None:
    """Before the handler runs: the uploaded file is there, of the declared
    size and (when declared) SHA-256. Answers what is wrong, or None."""
    info = job.upload
    if info is None:
        return None
    facts = blobs.head(upload_key(job.id))
    if facts is None:
        return f"the uploaded file {info.filename!r} is missing"
    if facts.size != info.size:
        return f"the uploaded file has {facts.size} bytes; {info.size} were declared"
    if not info.sha256 or info.verified:
        return None
    digest = base64.b64decode(facts.sha256).hex() if facts.sha256 else _sha256_of(blobs, job)
    if digest != info.sha256.lower():
        return f"the uploaded file's sha256 is {digest}; {info.sha256.lower()} was declared"
    return None


def _sha256_of(blobs: Blobs, job: Job) -> str:
    """S3 keeps no checksum when the client sent none: read the file once."""
    digest = hashlib.sha256()
    body: Any = blobs.open(upload_key(job.id))
    for chunk in iter(lambda: body.read(CHUNK_BYTES), b""):
        digest.update(chunk)
    return digest.hexdigest()
