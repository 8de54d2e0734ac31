"""AsyncJobsClient: the job API from asyncio code (httpx.AsyncClient), the
same calls as JobsClient (jobapi_client.calls builds them for both; the
events WebSocket through websockets' asyncio client)."""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import connect
from websockets.exceptions import WebSocketException

from jobapi_client import calls, events
from jobapi_client.calls import TERMINAL, Call, Retry
from jobapi_client.errors import JobFailed, error_of
from jobapi_client.events import EventsUnavailable, Follower

# A plain function or a coroutine function: both are called with each change.
ProgressCallback = Callable[[dict[str, Any]], Awaitable[Any] | Any]
Records = list[dict[str, Any]]
Filters = list[Any] | None


class AsyncJobsClient:
    """`async with AsyncJobsClient(url, api_key=...) as jobs: ...`; every
    call of JobsClient, awaited (`list` and `children` are async iterators)."""

    def __init__(self, url: str, token: str | None = None, api_key: str | None = None, *,
                 timeout: float = 30.0, retry: Retry | None = None,
                 http: httpx.AsyncClient | None = None,
                 use_events: bool | str = True) -> None:
        self._http = http or httpx.AsyncClient(base_url=url.rstrip("/"), timeout=timeout)
        self._headers = calls.credential_headers(token, api_key)
        self._retry = retry or Retry()
        self._events_url = use_events if isinstance(use_events, str) else \
            events.events_url(url) if use_events else None

    async def __aenter__(self) -> AsyncJobsClient:
        return self

    async def __aexit__(self, *_: Any) -> None:
        await self.close()

    async def close(self) -> None:
        await self._http.aclose()

    # -- jobs ------------------------------------------------------------------------

    async def submit(self, method: str, params: dict[str, Any] | None = None, *,
                     idempotency_key: str | None = None, **fields: Any) -> dict[str, Any]:
        return await self._json(calls.submit(method, params, idempotency_key, **fields))

    async def get(self, job_id: str, *, wait: float | None = None,
                  since: str | None = None) -> dict[str, Any]:
        return await self._json(calls.get(job_id, wait, since))

    async def wait(self, job_id: str, on_progress: ProgressCallback | None = None, *,
                   timeout: float | None = None,
                   raise_on_failure: bool = False) -> dict[str, Any]:
        """As JobsClient.wait: over the events WebSocket when it answers, else
        by long polling; `on_progress` may be a coroutine function."""
        deadline = None if timeout is None else time.monotonic() + timeout
        job = None
        if self._events_url:
            try:
                job = await self._follow_events(self._events_url, job_id, on_progress, deadline)
            except (EventsUnavailable, OSError, WebSocketException):
                job = None  # no events here (or they stopped): poll instead
        if job is None:
            job = await self._follow_polls(job_id, on_progress, deadline)
        if raise_on_failure and job["state"] != "SUCCESS":
            raise JobFailed(job)
        return job

    async def _follow_polls(self, job_id: str, on_progress: ProgressCallback | None,
                            deadline: float | None) -> dict[str, Any]:
        job = await self.get(job_id)
        while True:
            await _report(on_progress, job)
            if job["state"] in TERMINAL:
                return job
            calls.check_deadline(job, deadline)
            job = await self._json(calls.long_poll(job_id, job.get("time_updated")))

    async def _follow_events(self, url: str, job_id: str, on_progress: ProgressCallback | None,
                             deadline: float | None) -> dict[str, Any]:
        follower = Follower(job_id)
        async with connect(url, additional_headers=self._headers, open_timeout=5) as socket:
            await socket.send(events.subscribe_message(job_id))
            while True:
                try:
                    message = await asyncio.wait_for(socket.recv(), events.SILENCE_SECONDS)
                    moved = follower.take(message)
                except TimeoutError:  # silence: make sure nothing was missed
                    moved = await self.get(job_id) if follower.subscribed else None
                    if moved is None:
                        raise EventsUnavailable("no answer to the subscription") from None
                    follower.job = moved
                if moved is None:
                    continue
                await _report(on_progress, moved)
                if moved["state"] in TERMINAL:
                    return moved
                calls.check_deadline(moved, deadline)

    def list(self, filters: Filters = None, **params: Any) -> AsyncIterator[dict[str, Any]]:
        """Every matching job, page after page (`async for job in jobs.list(...)`)."""
        return self._pages(filters, params, "/jobs")

    def children(self, job_id: str, **params: Any) -> AsyncIterator[dict[str, Any]]:
        return self._pages(None, params, calls.job_path(job_id, "/children"))

    async def cancel(self, job_id: str) -> dict[str, Any]:
        return await self._json(calls.cancel(job_id))

    async def result(self, job_id: str, *, consume: bool = False) -> Any:
        return (await self._send(calls.result(job_id, consume))).json()

    async def delete(self, job_id: str) -> dict[str, Any]:
        return await self._json(calls.delete(job_id))

    async def logs(self, job_id: str) -> str:
        return (await self._send(calls.logs(job_id))).text

    async def methods(self) -> Records:
        answer = await self._send(calls.methods())
        return [dict(method) for method in answer.json()["methods"]]

    async def download(self, job: dict[str, Any] | str, path: str | Path) -> int:
        """As JobsClient.download: the file once, streamed to `path`."""
        link = calls.offered_link(job) if isinstance(job, dict) else \
            (await self._json(calls.download_link(job)))["download_url"]
        async with self._http.stream("GET", link, follow_redirects=True,
                                     timeout=None) as answer:
            if answer.status_code >= 400:
                await answer.aread()
                raise error_of(answer.status_code, calls.answer_json(answer))
            size = 0
            with open(path, "wb") as out:
                async for chunk in answer.aiter_bytes():
                    out.write(chunk)
                    size += len(chunk)
        return size

    async def upload(self, path: str | Path, method: str,
                     params: dict[str, Any] | None = None, *,
                     idempotency_key: str | None = None,
                     small_limit: int = calls.SMALL_UPLOAD_BYTES) -> dict[str, Any]:
        """As JobsClient.upload: by POST /_upload up to `small_limit` bytes,
        else straight to S3. Answers the job."""
        file = Path(path)
        key = idempotency_key or str(uuid.uuid4())
        if file.stat().st_size <= small_limit:
            call = calls.small_upload(method, params, key)
            with file.open("rb") as content:
                answer = await self._http.post(
                    call.path, data=call.body, files={"file": (file.name, content)},
                    headers={**self._headers, **call.headers}, timeout=None)
            if answer.status_code >= 400:
                raise error_of(answer.status_code, calls.answer_json(answer))
            return await self.get(str(answer.json()["id"]))
        fields = await asyncio.to_thread(calls.upload_fields, file)
        job = await self.submit(method, params, idempotency_key=key, upload=fields)
        # A stream of known length: S3's presigned PUT takes no chunked body.
        put = await self._http.put(
            job["upload_url"], content=_chunks_of(file), timeout=None,
            headers={**(job.get("upload_headers") or {}), "Content-Length": str(fields["size"])})
        if put.status_code >= 400:
            raise error_of(put.status_code, put.text)
        return job

    # -- sending ---------------------------------------------------------------------

    async def _pages(self, filters: Filters, params: dict[str, Any],
                     path: str) -> AsyncIterator[dict[str, Any]]:
        token: str | None = None
        while True:
            page = await self._json(calls.listing(filters, params, token, path))
            for record in page["records"]:
                yield record
            token = page.get("next_token")
            if not token:
                return

    async def _json(self, call: Call) -> dict[str, Any]:
        return dict((await self._send(call)).json())

    async def _send(self, call: Call) -> httpx.Response:
        for attempt in itertools.count():
            answer, failure = None, None
            try:
                answer = await self._http.request(
                    call.method, call.path, params=call.params, json=call.body,
                    headers={**self._headers, **call.headers},
                    timeout=call.timeout if call.timeout is not None else httpx.USE_CLIENT_DEFAULT)
            except httpx.TransportError as exc:
                failure = exc
            wait = calls.next_try(call, self._retry, attempt, answer, failure)
            if wait is None and answer is not None:
                return answer
            await asyncio.sleep(wait or 0)
        raise AssertionError("unreachable")


async def _report(on_progress: ProgressCallback | None, job: dict[str, Any]) -> None:
    if on_progress is not None and asyncio.iscoroutine(reported := on_progress(job)):
        await reported


async def _chunks_of(file: Path) -> AsyncIterator[bytes]:
    with file.open("rb") as content:
        while chunk := await asyncio.to_thread(content.read, calls.CHUNK_BYTES):
            yield chunk
