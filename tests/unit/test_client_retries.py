"""The Python client's retries (client/jobapi_client), with faults injected
at the transport (httpx.MockTransport stands for the network, not for the
API's logic): 503 and connection errors are retried with backoff for
idempotent calls only, Retry-After is honoured, and every submit carries one
Idempotency-Key across its attempts. Each test runs with JobsClient and
with AsyncJobsClient."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from jobapi_client import AsyncJobsClient, JobsClient, Retry
from jobapi_client.errors import Conflict, ServiceUnavailable

Handler = Callable[[httpx.Request], httpx.Response]
FAST = Retry(attempts=4, base=0.001, cap=0.01)


class Awaiting:
    """An AsyncJobsClient's calls, each run to its end by asyncio.run."""

    def __init__(self, client: AsyncJobsClient) -> None:
        self.client = client

    def __getattr__(self, name: str) -> Any:
        call = getattr(self.client, name)
        assert inspect.iscoroutinefunction(call)
        return lambda *args, **kwargs: asyncio.run(call(*args, **kwargs))


@pytest.fixture(params=["sync", "async"])
def client(request: pytest.FixtureRequest) -> Callable[[Handler], tuple[Any, list[httpx.Request]]]:
    def make(handler: Handler) -> tuple[Any, list[httpx.Request]]:
        sent: list[httpx.Request] = []

        def record(http_request: httpx.Request) -> httpx.Response:
            sent.append(http_request)
            return handler(http_request)

        transport = httpx.MockTransport(record)
        if request.param == "sync":
            http = httpx.Client(base_url="http://api", transport=transport)
            return JobsClient("http://api", token="t", retry=FAST, http=http), sent
        ahttp = httpx.AsyncClient(base_url="http://api", transport=transport)
        return Awaiting(AsyncJobsClient("http://api", token="t", retry=FAST, http=ahttp)), sent

    return make


Client = Callable[[Handler], tuple[Any, list[httpx.Request]]]


def failing(times: int, then: Answer, status: int = 503,
            headers: dict[str, str] | None = None) -> Handler:
    count = {"n": 0}

    def handle(request: httpx.Request) -> httpx.Response:
        count["n"] += 1
        if count["n"] <= times:
            if status == 0:
                raise httpx.ConnectError("refused", request=request)
            return httpx.Response(status, headers=headers, json={"error": {
                "code": "service_unavailable", "message": "busy"}})
        return then()

    return handle


# Each answer made anew: a response's body is read once, by one kind of client.
Answer = Callable[[], httpx.Response]


def job_answer() -> httpx.Response:
    return httpx.Response(202, json={"id": "j1", "state": "WAITING"})


def test_a_submit_is_retried_on_503_with_the_same_idempotency_key(client: Client) -> None:
    jobs, sent = client(failing(2, job_answer))

    assert jobs.submit("demo.echo")["id"] == "j1"
    keys = {request.headers["Idempotency-Key"] for request in sent}
    assert len(sent) == 3 and len(keys) == 1 and sent[0].headers["Authorization"] == "Bearer t"


def test_connection_errors_are_retried_for_reads(client: Client) -> None:
    jobs, sent = client(failing(2, lambda: httpx.Response(200, json={"id": "j1"}), status=0))

    assert jobs.get("j1") == {"id": "j1"} and len(sent) == 3


def test_retries_give_up_with_the_typed_error(client: Client) -> None:
    jobs, sent = client(failing(10, job_answer))

    with pytest.raises(ServiceUnavailable) as busy:
        jobs.get("j1")

    assert busy.value.status == 503 and len(sent) == FAST.attempts


def test_a_consuming_result_is_never_sent_twice(client: Client) -> None:
    jobs, sent = client(failing(1, lambda: httpx.Response(200, json={"result": 1})))

    with pytest.raises(ServiceUnavailable):
        jobs.result("j1", consume=True)

    assert len(sent) == 1


def test_retry_after_is_honoured_up_to_the_cap() -> None:
    assert FAST.delay(0, 30.0) == FAST.cap
    assert Retry().delay(0, 1.5) == 1.5
    assert 0 <= Retry(base=0.2).delay(3, None) <= 1.6


def test_a_4xx_is_not_retried(client: Client) -> None:
    jobs, sent = client(lambda request: httpx.Response(
        409, json={"error": {"code": "conflict", "message": "done"}}))

    with pytest.raises(Conflict) as refused:
        jobs.cancel("j1")

    assert refused.value.message == "done" and len(sent) == 1
