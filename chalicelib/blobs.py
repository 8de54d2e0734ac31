"""Blobs: the files bucket behind a small class. Every object of a job lives
under jobs/{job_id}/, so the job's objects go with it (and the bucket's
lifecycle rule is a backstop for all of them).

    jobs/{id}/result.json           a result too big for the record
    jobs/{id}/handler-result.json   a parent's own result, kept for its finish
    jobs/{id}/output                the file a job writes for download
    jobs/{id}/upload                the file a job reads
    jobs/{id}/upload-2 .. upload-5  the other files of a POST /_upload, in order
    jobs/{id}/log.txt               what its handler logged

Bytes never pass through this service for long: downloads and direct
uploads go through presigned URLs, and a job's output streams to S3 in parts.
"""

from __future__ import annotations

import base64
import hashlib
import json
import unicodedata
from dataclasses import dataclass
from typing import IO, Any
from urllib.parse import quote

from chalicelib.aws_errors import FILE_STORE, failed_items, translated

PREFIX = "jobs/"
MISSING_CODES = frozenset({"NoSuchKey", "404", "NotFound"})
# A conditional PutObject (If-None-Match: *) that found an object there.
EXISTING_CODES = frozenset({"PreconditionFailed", "412"})
# S3 multipart parts must be at least 5 MiB (but the last); 10,000 parts of
# 8 MiB make files of up to 78 GiB.
PART_BYTES = 8 * 1024 * 1024
DELETE_BATCH = 1000
# A POST /_upload brings at most this many files (TrueNAS's MAX_UPLOADED_FILES).
UPLOAD_FILES = 5


def job_keys(job_id: str) -> list[str]:
    """Every object a job may have (deleting one that does not exist is fine)."""
    return [key(job_id) for key in (result_key, handler_result_key, output_key, log_key)] + \
        upload_keys(job_id)


def result_key(job_id: str) -> str:
    return f"{PREFIX}{job_id}/result.json"


def handler_result_key(job_id: str) -> str:
    """A parent's own result, kept while its children run."""
    return f"{PREFIX}{job_id}/handler-result.json"


def output_key(job_id: str) -> str:
    return f"{PREFIX}{job_id}/output"


def upload_key(job_id: str, number: int = 1) -> str:
    """The `number`th uploaded file (from 1); the first keeps its plain key."""
    return f"{PREFIX}{job_id}/upload" + (f"-{number}" if number > 1 else "")


def upload_keys(job_id: str) -> list[str]:
    return [upload_key(job_id, number) for number in range(1, UPLOAD_FILES + 1)]


def log_key(job_id: str) -> str:
    return f"{PREFIX}{job_id}/log.txt"


def upload_job_id(key: str) -> str | None:
    """The job an uploaded object belongs to, if `key` is an upload's key."""
    parts = key.split("/")
    if len(parts) == 3 and parts[0] + "/" == PREFIX and parts[2] == "upload" and parts[1]:
        return parts[1]
    return None


@dataclass(frozen=True)
class ObjectFacts:
    size: int
    # base64 SHA-256 that S3 verified at upload, when the client sent one.
    sha256: str | None = None


@dataclass(frozen=True)
class PresignedPut:
    url: str
    # Headers the client must send as they are: S3 checks them against the signature.
    headers: dict[str, str]


class Blobs:
    def __init__(self, client: Any, bucket: str) -> None:
        self._client = client
        self._bucket = bucket

    @property
    def bucket(self) -> str:
        return self._bucket

    def put_json(self, key: str, body: bytes) -> None:
        self.put_bytes(key, body, "application/json")

    def get_json(self, key: str) -> Any:
        body = self.get_bytes(key)
        return None if body is None else json.loads(body)

    def put_bytes(self, key: str, body: bytes | IO[bytes], content_type: str,
                  if_absent: bool = False) -> bool:
        """Store an object; with `if_absent`, only if there is none (False then)."""
        extra = {"IfNoneMatch": "*"} if if_absent else {}
        with translated(FILE_STORE, fine=EXISTING_CODES if if_absent else ()):
            self._client.put_object(Bucket=self._bucket, Key=key, Body=body,
                                    ContentType=content_type, **extra)
            return True
        return False

    def get_bytes(self, key: str) -> bytes | None:
        stream = self.open(key)
        return None if stream is None else bytes(stream.read())

    def read_unless_over(self, key: str, limit: int) -> bytes | int | None:
        """The object's bytes when it has at most `limit` of them; otherwise
        its size, its body left unread. None when missing. One GetObject."""
        answer = self._get(key)
        if answer is None:
            return None
        size = int(answer["ContentLength"])
        if size > limit:
            answer["Body"].close()
            return size
        return bytes(answer["Body"].read())

    def open(self, key: str) -> Any:
        """The object's body as a stream (botocore StreamingBody), or None."""
        answer = self._get(key)
        return None if answer is None else answer["Body"]

    def _get(self, key: str) -> dict[str, Any] | None:
        """GetObject's answer, or None when the object is missing."""
        with translated(FILE_STORE, fine=MISSING_CODES):
            answer: dict[str, Any] = self._client.get_object(Bucket=self._bucket, Key=key)
            return answer
        return None

    def head(self, key: str) -> ObjectFacts | None:
        with translated(FILE_STORE, fine=MISSING_CODES):
            answer = self._client.head_object(Bucket=self._bucket, Key=key,
                                              ChecksumMode="ENABLED")
            return ObjectFacts(int(answer["ContentLength"]), answer.get("ChecksumSHA256"))
        return None

    def delete(self, key: str) -> None:
        """Remove an object; one that is already gone is fine."""
        with translated(FILE_STORE):
            self._client.delete_object(Bucket=self._bucket, Key=key)

    def delete_many(self, keys: list[str]) -> None:
        """Remove objects, missing ones included (DeleteObjects, 1,000 a call)."""
        for start in range(0, len(keys), DELETE_BATCH):
            batch = [{"Key": key} for key in keys[start:start + DELETE_BATCH]]
            with translated(FILE_STORE):
                answer = self._client.delete_objects(
                    Bucket=self._bucket, Delete={"Objects": batch, "Quiet": True})
            failure = failed_items("DeleteObjects", answer.get("Errors") or [],
                                   "the file store could not delete every file; retry")
            if failure is not None:
                raise failure

    def writer(self, key: str, content_type: str = "application/octet-stream") -> S3Writer:
        return S3Writer(self._client, self._bucket, key, content_type)

    def presigned_get(self, key: str, filename: str, seconds: int) -> str:
        """A GET URL for `seconds` that saves the object as `filename` (signed
        locally: no call to S3)."""
        return str(self._client.generate_presigned_url(
            "get_object", ExpiresIn=seconds, Params={
                "Bucket": self._bucket, "Key": key,
                "ResponseContentDisposition": content_disposition(filename),
                "ResponseCacheControl": "no-store",
            }))

    def presigned_put(self, key: str, size: int, content_type: str, sha256_hex: str | None,
                      seconds: int) -> PresignedPut:
        """A PUT URL that S3 accepts once, for exactly `size` bytes (and, when
        given, exactly that SHA-256): If-None-Match, Content-Length and the
        checksum are signed headers, so S3 itself refuses anything else."""
        params: dict[str, Any] = {"Bucket": self._bucket, "Key": key, "ContentLength": size,
                                  "ContentType": content_type, "IfNoneMatch": "*"}
        headers = {"Content-Type": content_type, "If-None-Match": "*"}
        if sha256_hex:
            checksum = base64.b64encode(bytes.fromhex(sha256_hex)).decode()
            params["ChecksumSHA256"] = checksum
            headers["x-amz-checksum-sha256"] = checksum
        url = self._client.generate_presigned_url("put_object", Params=params,
                                                  ExpiresIn=seconds)
        return PresignedPut(str(url), headers)


class S3Writer:
    """A file-like writer that streams to S3: parts of PART_BYTES go up as
    they fill (multipart upload); a small file is one PutObject. Nothing is
    visible under the key until `close`; `abort` leaves nothing behind."""

    def __init__(self, client: Any, bucket: str, key: str, content_type: str) -> None:
        self._client, self._bucket, self._key = client, bucket, key
        self._content_type = content_type
        self._buffer = bytearray()
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []
        self._digest = hashlib.sha256()
        self.size = 0
        self.closed = False
        self.completed = False

    def write(self, data: bytes | bytearray | memoryview) -> int:
        if self.closed:
            raise ValueError("write to a closed output file")
        self._buffer += data
        self._digest.update(data)
        self.size += len(data)
        while len(self._buffer) >= PART_BYTES:
            self._send_part(bytes(self._buffer[:PART_BYTES]))
            del self._buffer[:PART_BYTES]
        return len(data)

    @property
    def sha256(self) -> str:
        return self._digest.hexdigest()

    def close(self) -> None:
        """Complete the file (idempotent)."""
        if self.closed:
            return
        self.closed = True
        with translated(FILE_STORE):
            if self._upload_id is None:
                self._client.put_object(Bucket=self._bucket, Key=self._key,
                                        Body=bytes(self._buffer),
                                        ContentType=self._content_type)
            else:
                if self._buffer or not self._parts:
                    self._send_part(bytes(self._buffer))
                self._client.complete_multipart_upload(
                    Bucket=self._bucket, Key=self._key, UploadId=self._upload_id,
                    MultipartUpload={"Parts": self._parts})
        self._buffer.clear()
        self.completed = True

    def abort(self) -> None:
        """Drop what was written (idempotent); a failed job leaves no file."""
        self.closed = True
        self._buffer.clear()
        if self._upload_id is not None and not self.completed:
            upload_id, self._upload_id = self._upload_id, None
            with translated(FILE_STORE):
                self._client.abort_multipart_upload(Bucket=self._bucket, Key=self._key,
                                                    UploadId=upload_id)

    def __enter__(self) -> S3Writer:
        return self

    def __exit__(self, kind: Any, error: Any, trace: Any) -> None:
        if kind is None:
            self.close()
        else:
            self.abort()

    def _send_part(self, body: bytes) -> None:
        with translated(FILE_STORE):
            if self._upload_id is None:
                self._upload_id = self._client.create_multipart_upload(
                    Bucket=self._bucket, Key=self._key,
                    ContentType=self._content_type)["UploadId"]
            number = len(self._parts) + 1
            answer = self._client.upload_part(Bucket=self._bucket, Key=self._key,
                                              UploadId=self._upload_id, PartNumber=number,
                                              Body=body)
        self._parts.append({"PartNumber": number, "ETag": answer["ETag"]})


# Characters a file name shown to a user must not hold: controls (Cc),
# invisible formatting (Cf: the bidi overrides and isolates, which let
# "invoice<U+202E>fdp.exe" show as "invoiceexe.pdf", zero-width characters),
# line and paragraph separators (Zl, Zp) and lone surrogates (Cs).
UNSHOWN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
DEFAULT_FILENAME = "download"


def shown_filename(filename: str) -> str:
    """`filename` without the characters that would hide or disguise part of it."""
    shown = "".join(c for c in filename if unicodedata.category(c) not in UNSHOWN_CATEGORIES)
    return shown if shown.strip() not in ("", ".", "..") else DEFAULT_FILENAME


def content_disposition(filename: str) -> str:
    """attachment; with an ASCII fallback and the name as shown (RFC 6266)."""
    name = shown_filename(filename)
    fallback = name.encode("ascii", "replace").decode().replace("?", "_")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name)}"

