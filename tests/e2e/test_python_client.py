"""The Python client (client/, issue 21 item 3) against `make run`'s server:
submit, wait with progress, list every page, cancel, result once, delete,
logs, methods, children, download once, upload, and each error as its own
class. Every test runs twice: with JobsClient, and with AsyncJobsClient
driven call by call on an event loop of its own (`Awaited`)."""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from jobapi_client import AsyncJobsClient, JobsClient
from jobapi_client.errors import (
    Conflict,
    Forbidden,
    Gone,
    InvalidParams,
    NotFound,
    Unauthorized,
    UnknownMethod,
)

from tests.e2e.conftest import LocalServer

Jobs = Any  # a JobsClient, or an AsyncJobsClient behind Awaited: the same calls


class Awaited:
    """An AsyncJobsClient whose every call is awaited to its end on a loop in
    a thread of its own, so one test body checks both clients; `list` and
    `children` (async iterators) are read to their end."""

    def __init__(self, client: AsyncJobsClient) -> None:
        self.client = client
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()

    def __getattr__(self, name: str) -> Any:
        call = getattr(self.client, name)
        if inspect.iscoroutinefunction(call):
            return lambda *args, **kwargs: self._run(call(*args, **kwargs))
        if name in ("list", "children"):
            return lambda *args, **kwargs: iter(self._run(_every(call(*args, **kwargs))))
        return call

    def close(self) -> None:
        self._run(self.client.close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    def _run(self, awaitable: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(awaitable, self._loop).result()


async def _every(records: Any) -> list[dict[str, Any]]:
    return [record async for record in records]


MakeClient = Callable[..., Jobs]


@pytest.fixture(params=["sync", "async"])
def make_client(request: pytest.FixtureRequest, server: LocalServer) -> Iterator[MakeClient]:
    """`make_client(api_key=..., gets=[...], use_events=...)`: a client of the
    kind under test; `gets` collects the path of every GET it sends."""
    made: list[Jobs] = []

    def make(*, gets: list[str] | None = None, **options: Any) -> Jobs:
        def count(http_request: httpx.Request) -> None:
            if gets is not None and http_request.method == "GET":
                gets.append(http_request.url.path)

        async def count_async(http_request: httpx.Request) -> None:
            count(http_request)

        if request.param == "sync":
            http = httpx.Client(base_url=server.url, event_hooks={"request": [count]},
                                timeout=60)
            client: Jobs = JobsClient(server.url, http=http, **options)
        else:
            ahttp = httpx.AsyncClient(base_url=server.url, timeout=60,
                                      event_hooks={"request": [count_async]})
            client = Awaited(AsyncJobsClient(server.url, http=ahttp, **options))
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def jobs(make_client: MakeClient, api_key: str) -> Jobs:
    return make_client(api_key=api_key)


def test_submit_and_wait_reports_progress_to_the_end(jobs: Jobs) -> None:
    seen: list[int] = []
    job = jobs.submit("demo.sleep", {"seconds": 1.5, "steps": 3})

    done = jobs.wait(job["id"], on_progress=lambda j: seen.append(j["progress"]["percent"] or 0))

    assert done["state"] == "SUCCESS" and done["result"] == {"slept": 1.5, "steps": 3}
    assert seen[-1] == 100 and len(set(seen)) >= 2


def test_a_retried_submit_makes_one_job(jobs: Jobs) -> None:
    key = str(uuid.uuid4())
    first = jobs.submit("demo.echo", {"n": 1}, idempotency_key=key)
    again = jobs.submit("demo.echo", {"n": 1}, idempotency_key=key)

    assert first["id"] == again["id"]


def test_list_iterates_every_page(jobs: Jobs) -> None:
    marker = f"client-list-{uuid.uuid4()}"  # the server outlives this test
    made = {jobs.submit("demo.echo", {}, description=marker)["id"] for _ in range(7)}

    listed = {job["id"] for job in jobs.list([["description", "=", marker]], limit=3)}

    assert listed == made


def test_cancel_result_delete_and_logs(jobs: Jobs) -> None:
    sleeping = jobs.submit("demo.sleep", {"seconds": 60, "steps": 600})
    cancelled = jobs.cancel(sleeping["id"])
    echo = jobs.wait(jobs.submit("demo.echo", {"x": 1})["id"])

    assert cancelled["state"] in ("ABORTED", "RUNNING", "WAITING")
    assert jobs.wait(sleeping["id"])["state"] == "ABORTED"
    assert jobs.result(echo["id"], consume=True)["result"] == {"x": 1}
    with pytest.raises(NotFound) as gone:
        jobs.get(echo["id"])
    assert gone.value.status == 404 and gone.value.code == "not_found"
    assert isinstance(jobs.logs(sleeping["id"]), str)
    assert jobs.delete(sleeping["id"])["deleted"] == 1


def test_children_of_a_fanout(jobs: Jobs) -> None:
    parent = jobs.wait(jobs.submit("demo.fanout", {"count": 5})["id"])

    children = list(jobs.children(parent["id"], limit=2))

    assert parent["state"] == "SUCCESS" and len(children) == 5


def test_download_streams_the_file_once(jobs: Jobs, tmp_path: Path) -> None:
    submitted = jobs.submit("demo.export", {"size": 300_000}, download={"filename": "x.bin"})

    size = jobs.download(submitted, tmp_path / "x.bin")

    assert size == 300_000 == (tmp_path / "x.bin").stat().st_size
    with pytest.raises(Gone):
        jobs.download(submitted, tmp_path / "again.bin")


def test_download_by_id_asks_for_a_new_link(jobs: Jobs, tmp_path: Path) -> None:
    submitted = jobs.submit("demo.export", {"size": 70_000}, download={"filename": "y.bin"})
    echo = jobs.wait(jobs.submit("demo.echo", {})["id"])

    size = jobs.download(submitted["id"], tmp_path / "y.bin")

    assert size == 70_000 == (tmp_path / "y.bin").stat().st_size
    with pytest.raises(Unauthorized):  # the link given at submit stopped working
        jobs.download(submitted, tmp_path / "old.bin")
    with pytest.raises(Conflict):  # no file waits for this one
        jobs.download(echo["id"], tmp_path / "none.bin")


def test_methods_lists_each_registered_method_and_its_params(jobs: Jobs) -> None:
    methods = {method["name"]: method for method in jobs.methods()}

    assert {"demo.sleep", "demo.echo", "demo.fanout", "demo.checksum"} <= set(methods)
    assert "seconds" in methods["demo.sleep"]["params_schema"]["properties"]


def test_errors_are_typed(jobs: Jobs, make_client: MakeClient) -> None:
    with pytest.raises(UnknownMethod) as unknown:
        jobs.submit("no.such.method")
    with pytest.raises(InvalidParams) as invalid:
        jobs.submit("demo.sleep", {"seconds": -1})
    with pytest.raises(Forbidden) as refused:
        make_client(token="not-a-token").methods()

    assert unknown.value.status == 400 and "demo.echo" in str(unknown.value.details)
    assert invalid.value.details and invalid.value.details[0]["field"] == "seconds"
    assert refused.value.status == 403 and refused.value.code == "forbidden"
    with pytest.raises(Unauthorized):
        make_client().methods()


def test_the_client_is_usable_from_threads(jobs: Jobs) -> None:
    ids: list[str] = []
    threads = [threading.Thread(target=lambda: ids.append(jobs.submit("demo.echo", {})["id"]))
               for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(set(ids)) == 4


def test_the_async_client_awaits_a_coroutine_callback(server: LocalServer,
                                                      api_key: str) -> None:
    async def scenario() -> tuple[dict[str, Any], list[int]]:
        async with AsyncJobsClient(server.url, api_key=api_key) as jobs:
            percents: list[int] = []

            async def seen(job: dict[str, Any]) -> None:
                await asyncio.sleep(0)
                percents.append(job["progress"]["percent"] or 0)

            job = await jobs.submit("demo.sleep", {"seconds": 1, "steps": 2})
            return await jobs.wait(job["id"], on_progress=seen), percents

    done, percents = asyncio.run(scenario())

    assert done["state"] == "SUCCESS" and percents[-1] == 100 and len(percents) >= 2


@pytest.mark.parametrize("use_events", [True, False, "ws://127.0.0.1:9/events"])
def test_wait_follows_events_and_falls_back_to_long_polling(
        make_client: MakeClient, api_key: str, use_events: bool | str) -> None:
    gets: list[str] = []
    seen: list[int] = []
    jobs = make_client(api_key=api_key, gets=gets, use_events=use_events)
    job = jobs.submit("demo.sleep", {"seconds": 2, "steps": 4})

    done = jobs.wait(job["id"], on_progress=lambda j: seen.append(j["revision"]))

    assert done["state"] == "SUCCESS" and seen == sorted(set(seen)) and len(seen) >= 3
    if use_events is True:
        assert gets == []  # every change pushed, none polled
    else:
        assert gets and set(gets) == {f"/jobs/{job['id']}"}


@pytest.mark.parametrize("small_limit", [4 * 1024 * 1024, 0])
def test_upload_sends_small_files_by_form_and_big_ones_straight_to_s3(
        jobs: Jobs, tmp_path: Path, small_limit: int) -> None:
    content = bytes(range(256)) * 2000
    path = tmp_path / "config.db"
    path.write_bytes(content)

    job = jobs.upload(path, "demo.checksum", small_limit=small_limit)
    done = jobs.wait(job["id"])

    assert done["state"] == "SUCCESS", done["error"]
    assert done["result"]["sha256"] == hashlib.sha256(content).hexdigest()
    assert done["result"]["size"] == len(content) and done["result"]["filename"] == "config.db"
