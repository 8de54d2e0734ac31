"""JobsClient: the job API from synchronous code (httpx underneath)."""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
from websockets.exceptions import WebSocketException
from websockets.sync.client import connect

from jobapi_client import calls, events
from jobapi_client.calls import TERMINAL, Call, Retry
from jobapi_client.errors import JobFailed, error_of
from jobapi_client.events import EventsUnavailable, Follower

ProgressCallback = Callable[[dict[str, Any]], None]
# Named here: inside the class, `list` is the method.
Records = list[dict[str, Any]]
Filters = list[Any] | None


class JobsClient:
    """`JobsClient(url, token=...)` or `api_key=...`; a context manager."""

    def __init__(self, url: str, token: str | None = None, api_key: str | None = None, *,
                 timeout: float = 30.0, retry: Retry | None = None,
                 http: httpx.Client | None = None, use_events: bool | str = True) -> None:
        self._http = http or httpx.Client(base_url=url.rstrip("/"), timeout=timeout)
        self._headers = calls.credential_headers(token, api_key)
        self._retry = retry or Retry()
        # The events WebSocket's URL (an explicit one, or /events on the API's
        # host), None to follow jobs by long polling only.
        self._events_url = use_events if isinstance(use_events, str) else \
            events.events_url(url) if use_events else None

    def __enter__(self) -> JobsClient:
        return self

    def __exit__(self, *_: Any) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- jobs ------------------------------------------------------------------------

    def submit(self, method: str, params: dict[str, Any] | None = None, *,
               idempotency_key: str | None = None, **fields: Any) -> dict[str, Any]:
        """Submit a job (`children`, `description`, `transient`, `resources`...
        as keywords); retried safely: every submit carries an Idempotency-Key."""
        return dict(self._send(calls.submit(method, params, idempotency_key, **fields)).json())

    def get(self, job_id: str, *, wait: float | None = None,
            since: str | None = None) -> dict[str, Any]:
        return dict(self._send(calls.get(job_id, wait, since)).json())

    def wait(self, job_id: str, on_progress: ProgressCallback | None = None, *,
             timeout: float | None = None, raise_on_failure: bool = False) -> dict[str, Any]:
        """Follow a job to its end: over the events WebSocket when it answers
        (a push per change), else by long polling (one request per change,
        or per 25 s); `on_progress(job)` on every change seen. Answers the job."""
        deadline = None if timeout is None else time.monotonic() + timeout
        job = None
        if self._events_url:
            try:
                job = self._follow_events(self._events_url, job_id, on_progress, deadline)
            except (EventsUnavailable, OSError, WebSocketException):
                job = None  # no events here (or they stopped): poll instead
        if job is None:
            job = self._follow_polls(job_id, on_progress, deadline)
        if raise_on_failure and job["state"] != "SUCCESS":
            raise JobFailed(job)
        return job

    def _follow_polls(self, job_id: str, on_progress: ProgressCallback | None,
                      deadline: float | None) -> dict[str, Any]:
        job = self.get(job_id)
        while True:
            if on_progress is not None:
                on_progress(job)
            if job["state"] in TERMINAL:
                return job
            calls.check_deadline(job, deadline)
            job = dict(self._send(calls.long_poll(job_id, job.get("time_updated"))).json())

    def _follow_events(self, url: str, job_id: str, on_progress: ProgressCallback | None,
                       deadline: float | None) -> dict[str, Any]:
        follower = Follower(job_id)
        with connect(url, additional_headers=self._headers,
                     open_timeout=5) as socket:
            socket.send(events.subscribe_message(job_id))
            while True:
                try:
                    moved = follower.take(socket.recv(timeout=events.SILENCE_SECONDS))
                except TimeoutError:  # silence: make sure nothing was missed
                    moved = self.get(job_id) if follower.subscribed else None
                    if moved is None:
                        raise EventsUnavailable("no answer to the subscription") from None
                    follower.job = moved
                if moved is None:
                    continue
                if on_progress is not None:
                    on_progress(moved)
                if moved["state"] in TERMINAL:
                    return moved
                calls.check_deadline(moved, deadline)

    def list(self, filters: list[Any] | None = None, **params: Any) -> Iterator[dict[str, Any]]:
        """Every matching job, page after page (`state=`, `method=`,
        `order_by=`, `select=`, `limit=` per page, ...; `filters` in the
        query-filter language)."""
        yield from self._pages(filters, params, "/jobs")

    def children(self, job_id: str, **params: Any) -> Iterator[dict[str, Any]]:
        yield from self._pages(None, params, calls.job_path(job_id, "/children"))

    def cancel(self, job_id: str) -> dict[str, Any]:
        return dict(self._send(calls.cancel(job_id)).json())

    def result(self, job_id: str, *, consume: bool = False) -> Any:
        return self._send(calls.result(job_id, consume)).json()

    def delete(self, job_id: str) -> dict[str, Any]:
        return dict(self._send(calls.delete(job_id)).json())

    def logs(self, job_id: str) -> str:
        return self._send(calls.logs(job_id)).text

    def methods(self) -> Records:
        return [dict(method) for method in self._send(calls.methods()).json()["methods"]]

    def download(self, job: dict[str, Any] | str, path: str | Path) -> int:
        """A job's file, once, streamed to `path` (waiting while it is
        written); answers its size. `job` is submit()'s answer (its one-time
        link), or a job's id: a new link is asked for (the one given before
        stops working)."""
        link = calls.offered_link(job) if isinstance(job, dict) else \
            self._send(calls.download_link(job)).json()["download_url"]
        with self._http.stream("GET", link, follow_redirects=True,
                               timeout=None) as answer:
            if answer.status_code >= 400:
                answer.read()
                raise error_of(answer.status_code, calls.answer_json(answer))
            size = 0
            with open(path, "wb") as out:
                for chunk in answer.iter_bytes():
                    out.write(chunk)
                    size += len(chunk)
        return size

    def upload(self, path: str | Path, method: str, params: dict[str, Any] | None = None, *,
               idempotency_key: str | None = None,
               small_limit: int = calls.SMALL_UPLOAD_BYTES) -> dict[str, Any]:
        """Submit `method` with the file at `path` for its handler to read:
        up to `small_limit` bytes through POST /_upload, bigger ones straight
        to S3 (submit with "upload", then the presigned PUT, its size and
        SHA-256 checked by S3). Answers the job."""
        file = Path(path)
        size = file.stat().st_size
        key = idempotency_key or str(uuid.uuid4())
        if size <= small_limit:
            call = calls.small_upload(method, params, key)
            with file.open("rb") as content:
                answer = self._http.post(
                    call.path, data=call.body, files={"file": (file.name, content)},
                    headers={**self._headers, **call.headers}, timeout=None)
            if answer.status_code >= 400:
                raise error_of(answer.status_code, calls.answer_json(answer))
            return self.get(str(answer.json()["id"]))
        job = self.submit(method, params, idempotency_key=key,
                          upload=calls.upload_fields(file))
        with file.open("rb") as content:
            put = self._http.put(job["upload_url"], content=content,
                                 headers=job.get("upload_headers") or {}, timeout=None)
        if put.status_code >= 400:
            raise error_of(put.status_code, put.text)
        return job

    # -- sending ---------------------------------------------------------------------

    def _pages(self, filters: Filters, params: dict[str, Any],
               path: str) -> Iterator[dict[str, Any]]:
        token: str | None = None
        while True:
            page = self._send(calls.listing(filters, params, token, path)).json()
            yield from page["records"]
            token = page.get("next_token")
            if not token:
                return

    def _send(self, call: Call) -> httpx.Response:
        for attempt in itertools.count():
            answer, failure = None, None
            try:
                answer = self._http.request(
                    call.method, call.path, params=call.params, json=call.body,
                    headers={**self._headers, **call.headers},
                    timeout=call.timeout if call.timeout is not None else httpx.USE_CLIENT_DEFAULT)
            except httpx.TransportError as exc:
                failure = exc
            wait = calls.next_try(call, self._retry, attempt, answer, failure)
            if wait is None and answer is not None:
                return answer
            time.sleep(wait or 0)
        raise AssertionError("unreachable")
