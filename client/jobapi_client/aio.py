"""AsyncJobsClient: the job API from asyncio code (httpx.AsyncClient), the
same calls as JobsClient (jobapi_client.calls builds them for both)."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx

from jobapi_client import calls
from jobapi_client.calls import TERMINAL, Call, Retry
from jobapi_client.errors import JobFailed

ProgressCallback = Callable[[dict[str, Any]], Any]


class AsyncJobsClient:
    """`async with AsyncJobsClient(url, api_key=...) as jobs: ...`"""

    def __init__(self, url: str, token: str | None = None, api_key: str | None = None, *,
                 timeout: float = 30.0, retry: Retry | None = None,
                 http: httpx.AsyncClient | None = None) -> None:
        self._http = http or httpx.AsyncClient(base_url=url.rstrip("/"), timeout=timeout)
        self._headers = calls.credential_headers(token, api_key)
        self._retry = retry or Retry()

    async def __aenter__(self) -> AsyncJobsClient:
        return self

    async def __aexit__(self, *_: Any) -> None:
        await self._http.aclose()

    async def submit(self, method: str, params: dict[str, Any] | None = None, *,
                     idempotency_key: str | None = None, **fields: Any) -> dict[str, Any]:
        return await self._json(calls.submit(method, params, idempotency_key, **fields))

    async def get(self, job_id: str, *, wait: float | None = None,
                  since: str | None = None) -> dict[str, Any]:
        return await self._json(calls.get(job_id, wait, since))

    async def wait(self, job_id: str, on_progress: ProgressCallback | None = None, *,
                   timeout: float | None = None,
                   raise_on_failure: bool = False) -> dict[str, Any]:
        """As JobsClient.wait; `on_progress` may be a coroutine function."""
        deadline = None if timeout is None else time.monotonic() + timeout
        job = await self.get(job_id)
        while True:
            if on_progress is not None and asyncio.iscoroutine(reported := on_progress(job)):
                await reported
            if job["state"] in TERMINAL:
                if raise_on_failure and job["state"] != "SUCCESS":
                    raise JobFailed(job)
                return job
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"job {job_id} still {job['state']} after {timeout} s")
            job = await self._json(calls.long_poll(job_id, job.get("time_updated")))

    async def list(self, filters: list[Any] | None = None,
                   **params: Any) -> AsyncIterator[dict[str, Any]]:
        token: str | None = None
        while True:
            page = await self._json(calls.listing(filters, params, token))
            for record in page["records"]:
                yield record
            token = page.get("next_token")
            if not token:
                return

    async def cancel(self, job_id: str) -> dict[str, Any]:
        return await self._json(calls.cancel(job_id))

    async def result(self, job_id: str, *, consume: bool = False) -> Any:
        return (await self._send(calls.result(job_id, consume))).json()

    async def delete(self, job_id: str) -> dict[str, Any]:
        return await self._json(calls.delete(job_id))

    async def logs(self, job_id: str) -> str:
        return (await self._send(calls.logs(job_id))).text

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
