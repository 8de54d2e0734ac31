"""The Python client (client/, issue 21 item 3) against `make run`'s server:
submit, wait with progress, list every page, cancel, result once, delete,
logs, children, download once, and each error as its own class."""

from __future__ import annotations

import asyncio
import hashlib
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
from jobapi_client import AsyncJobsClient, JobsClient
from jobapi_client.errors import (
    Forbidden,
    Gone,
    InvalidParams,
    NotFound,
    Unauthorized,
    UnknownMethod,
)

from tests.e2e.conftest import LocalServer


@pytest.fixture
def jobs(server: LocalServer, api_key: str) -> Any:
    with JobsClient(server.url, api_key=api_key) as client:
        yield client


def test_submit_and_wait_reports_progress_to_the_end(jobs: JobsClient) -> None:
    seen: list[int] = []
    job = jobs.submit("demo.sleep", {"seconds": 1.5, "steps": 3})

    done = jobs.wait(job["id"], on_progress=lambda j: seen.append(j["progress"]["percent"] or 0))

    assert done["state"] == "SUCCESS" and done["result"] == {"slept": 1.5, "steps": 3}
    assert seen[-1] == 100 and len(set(seen)) >= 2


def test_a_retried_submit_makes_one_job(jobs: JobsClient) -> None:
    first = jobs.submit("demo.echo", {"n": 1}, idempotency_key="client-test-key")
    again = jobs.submit("demo.echo", {"n": 1}, idempotency_key="client-test-key")

    assert first["id"] == again["id"]


def test_list_iterates_every_page(jobs: JobsClient) -> None:
    marker = "client-list"
    made = {jobs.submit("demo.echo", {}, description=marker)["id"] for _ in range(7)}

    listed = {job["id"] for job in jobs.list([["description", "=", marker]], limit=3)}

    assert listed == made


def test_cancel_result_delete_and_logs(jobs: JobsClient) -> None:
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


def test_children_of_a_fanout(jobs: JobsClient) -> None:
    parent = jobs.wait(jobs.submit("demo.fanout", {"count": 5})["id"])

    children = list(jobs.children(parent["id"], limit=2))

    assert parent["state"] == "SUCCESS" and len(children) == 5


def test_download_streams_the_file_once(jobs: JobsClient, tmp_path: Path) -> None:
    submitted = jobs.submit("demo.export", {"size": 300_000}, download={"filename": "x.bin"})

    size = jobs.download(submitted, tmp_path / "x.bin")

    assert size == 300_000 == (tmp_path / "x.bin").stat().st_size
    with pytest.raises(Gone):
        jobs.download(submitted, tmp_path / "again.bin")


def test_errors_are_typed(jobs: JobsClient, server: LocalServer) -> None:
    with pytest.raises(UnknownMethod) as unknown:
        jobs.submit("no.such.method")
    with pytest.raises(InvalidParams) as invalid:
        jobs.submit("demo.sleep", {"seconds": -1})
    with JobsClient(server.url, token="not-a-token") as stranger, \
            pytest.raises(Forbidden) as refused:
        stranger.methods()

    assert unknown.value.status == 400 and "demo.echo" in str(unknown.value.details)
    assert invalid.value.details and invalid.value.details[0]["field"] == "seconds"
    assert refused.value.status == 403 and refused.value.code == "forbidden"
    with JobsClient(server.url) as anonymous, pytest.raises(Unauthorized):
        anonymous.methods()


def test_the_client_is_usable_from_threads(jobs: JobsClient) -> None:
    ids: list[str] = []
    threads = [threading.Thread(target=lambda: ids.append(jobs.submit("demo.echo", {})["id"]))
               for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(set(ids)) == 4


def test_the_async_client_does_the_same(server: LocalServer, api_key: str) -> None:
    async def scenario() -> tuple[dict[str, Any], list[str], Any]:
        async with AsyncJobsClient(server.url, api_key=api_key) as jobs:
            percents: list[int] = []

            async def seen(job: dict[str, Any]) -> None:
                percents.append(job["progress"]["percent"] or 0)

            job = await jobs.submit("demo.sleep", {"seconds": 1, "steps": 2},
                                    description="async-client")
            done = await jobs.wait(job["id"], on_progress=seen)
            listed = [j["id"] async for j in jobs.list([["description", "=", "async-client"]],
                                                       limit=1)]
            with pytest.raises(NotFound):
                await jobs.get("no-such-job")
            return done, listed, percents

    done, listed, percents = asyncio.run(scenario())

    assert done["state"] == "SUCCESS" and listed == [done["id"]] and percents[-1] == 100


def counting_client(server: LocalServer, api_key: str, gets: list[str],
                    **options: Any) -> JobsClient:
    def count(request: httpx.Request) -> None:
        if request.method == "GET":
            gets.append(request.url.path)

    http = httpx.Client(base_url=server.url, event_hooks={"request": [count]}, timeout=60)
    return JobsClient(server.url, api_key=api_key, http=http, **options)


@pytest.mark.parametrize("use_events", [True, False, "ws://127.0.0.1:9/events"])
def test_wait_follows_events_and_falls_back_to_long_polling(
        server: LocalServer, api_key: str, use_events: bool | str) -> None:
    gets: list[str] = []
    seen: list[int] = []
    with counting_client(server, api_key, gets, use_events=use_events) as jobs:
        job = jobs.submit("demo.sleep", {"seconds": 2, "steps": 4})

        done = jobs.wait(job["id"], on_progress=lambda j: seen.append(j["revision"]))

    assert done["state"] == "SUCCESS" and seen == sorted(set(seen)) and len(seen) >= 3
    if use_events is True:
        assert gets == []  # every change pushed, none polled
    else:
        assert gets and set(gets) == {f"/jobs/{job['id']}"}


@pytest.mark.parametrize("small_limit", [4 * 1024 * 1024, 0])
def test_upload_sends_small_files_by_form_and_big_ones_straight_to_s3(
        jobs: JobsClient, tmp_path: Path, small_limit: int) -> None:
    content = bytes(range(256)) * 2000
    path = tmp_path / "config.db"
    path.write_bytes(content)

    job = jobs.upload(path, "demo.checksum", small_limit=small_limit)
    done = jobs.wait(job["id"])

    assert done["state"] == "SUCCESS", done["error"]
    assert done["result"]["sha256"] == hashlib.sha256(content).hexdigest()
    assert done["result"]["size"] == len(content) and done["result"]["filename"] == "config.db"
