"""What each client call sends, and how it is retried: shared by the sync
and the async client, which differ only in how they send (httpx.Client or
httpx.AsyncClient)."""

from __future__ import annotations

import hashlib
import json
import random
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from jobapi_client.errors import ApiError, error_of

TERMINAL = ("SUCCESS", "FAILED", "ABORTED")
MAX_WAIT = 25  # the API's long-poll limit (GET /jobs/{id}?wait=)
RETRIED_STATUSES = (502, 503, 504)


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    params: dict[str, Any] | None = None
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    # Safe to send again: reads, deletes, and a submit with an Idempotency-Key.
    idempotent: bool = True
    timeout: float | None = None


@dataclass(frozen=True)
class Retry:
    """Backoff with full jitter on 502/503/504 and connection errors, for
    idempotent calls only; a Retry-After the API sends is honoured."""

    attempts: int = 4
    base: float = 0.2
    cap: float = 5.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.cap)
        return random.uniform(0, min(self.cap, self.base * 2 ** attempt))


def next_try(call: Call, retry: Retry, attempt: int, answer: httpx.Response | None,
             failure: httpx.TransportError | None) -> float | None:
    """After one attempt at `call`: None when `answer` is its answer; else
    the seconds to wait before the next attempt; else (no attempt left, or
    not to be retried) the typed error (or the connection failure) raised."""
    if answer is not None and answer.status_code < 400:
        return None
    error: ApiError | httpx.TransportError = failure if failure is not None else error_of(
        answer.status_code, answer_json(answer), answer.headers.get("Retry-After")) \
        if answer is not None else httpx.TransportError("no answer")
    transient = isinstance(error, httpx.TransportError) or error.status in RETRIED_STATUSES
    if not (call.idempotent and transient and attempt + 1 < retry.attempts):
        raise error
    return retry.delay(attempt, getattr(error, "retry_after", None))


def answer_json(answer: httpx.Response) -> Any:
    try:
        return answer.json()
    except ValueError:
        return answer.text


def job_path(job_id: str, tail: str = "") -> str:
    return f"/jobs/{quote(str(job_id), safe='')}{tail}"


def submit(method: str, params: dict[str, Any] | None, idempotency_key: str | None,
           **fields: Any) -> Call:
    body = {"method": method, "params": params or {},
            **{name: value for name, value in fields.items() if value is not None}}
    key = idempotency_key or str(uuid.uuid4())  # so that a retried submit makes one job
    return Call("POST", "/jobs", body=body, headers={"Idempotency-Key": key})


def get(job_id: str, wait: float | None = None, since: str | None = None,
        children: str | None = None) -> Call:
    params = {"wait": wait, "since": since, "children": children}
    timeout = (wait or 0) + 30
    return Call("GET", job_path(job_id), params=_present(params), timeout=timeout)


def long_poll(job_id: str, since: str | None) -> Call:
    return get(job_id, wait=MAX_WAIT, since=since, children="none")


def listing(filters: list[Any] | None, params: dict[str, Any], next_token: str | None,
            path: str = "/jobs") -> Call:
    query = dict(params)
    if filters:
        query["filters"] = json.dumps(filters)
    for name in ("order_by", "select"):
        if isinstance(query.get(name), (list, tuple)):
            query[name] = ",".join(query[name])
    if next_token:
        query["next_token"] = next_token
    return Call("GET", path, params=_present(query))


SMALL_UPLOAD_BYTES = 4 * 1024 * 1024  # POST /_upload's limit; bigger goes straight to S3


def small_upload(method: str, params: dict[str, Any] | None, idempotency_key: str | None
                 ) -> Call:
    """POST /_upload's form: `data` (the job) before `file` (added by the sender)."""
    data = json.dumps({"method": method, "params": params or {}})
    key = idempotency_key or str(uuid.uuid4())
    return Call("POST", "/_upload", body={"data": data}, headers={"Idempotency-Key": key})


def upload_fields(file: Path) -> dict[str, Any]:
    """The submit's `upload` for a file sent straight to S3: S3 checks the
    size and the SHA-256 of what arrives."""
    return {"filename": file.name, "size": file.stat().st_size, "sha256": sha256_of(file)}


def sha256_of(file: Path) -> str:
    digest = hashlib.sha256()
    with file.open("rb") as content:
        for chunk in iter(lambda: content.read(CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


CHUNK_BYTES = 1024 * 1024


def offered_link(job: dict[str, Any]) -> str:
    """The one-time link in submit()'s answer (a job submitted with `download`)."""
    link = job.get("download_url")
    if not link:
        raise ValueError("that job was not submitted with a download (no download_url)")
    return str(link)


def check_deadline(job: dict[str, Any], deadline: float | None) -> None:
    if deadline is not None and time.monotonic() >= deadline:
        raise TimeoutError(f"job {job['id']} still {job['state']} after the timeout")


def download_link(job_id: str) -> Call:
    # A new link makes the one before stop working: never sent twice.
    return Call("POST", job_path(job_id, "/download_link"), body={}, idempotent=False)


def cancel(job_id: str) -> Call:
    # Cancelling twice is harmless (the second answers the job as it is, or a 409).
    return Call("POST", job_path(job_id, "/cancel"), body={})


def result(job_id: str, consume: bool) -> Call:
    # Consuming is once-only: a retry after a lost answer would find nothing.
    return Call("GET", job_path(job_id, "/result"), params=_present({"consume": consume or None}),
                idempotent=not consume)


def delete(job_id: str) -> Call:
    return Call("DELETE", job_path(job_id))


def logs(job_id: str) -> Call:
    return Call("GET", job_path(job_id, "/logs"))


def methods() -> Call:
    return Call("GET", "/methods")


def _present(params: dict[str, Any]) -> dict[str, Any]:
    return {name: _text(value) for name, value in params.items() if value is not None}


def _text(value: Any) -> Any:
    return ("true" if value else "false") if isinstance(value, bool) else value


def credential_headers(token: str | None, api_key: str | None) -> dict[str, str]:
    secret = token or api_key
    return {"Authorization": f"Bearer {secret}"} if secret else {}
