"""Services are built once per process, however many threads ask first."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from chalicelib.settings import Settings
from chalicelib.wiring import Services, built_once


def all_at_once(ask: Callable[[], Any], threads: int = 8) -> list[Any]:
    start = threading.Barrier(threads)
    answers: list[Any] = []

    def run() -> None:
        start.wait()
        answers.append(ask())

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return answers


def test_threads_that_ask_together_get_one_instance() -> None:
    builds: list[int] = []

    class Holder:
        @built_once
        def thing(self) -> object:
            builds.append(1)
            time.sleep(0.05)  # long enough for every thread to arrive
            return object()

    holder = Holder()
    answers = all_at_once(lambda: holder.thing)

    assert len(builds) == 1 and len({id(answer) for answer in answers}) == 1
    assert holder.thing is answers[0]


def test_services_built_together_share_one_set_of_clients(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")  # clients are made, never called
    services = Services(Settings(table_name="jobs", bucket_name="files",
                                 state_machine_arn="arn:aws:states:us-east-1:1:stateMachine:j"))
    names = ["store", "workflow", "blobs"] * 3
    built = all_at_once(lambda: getattr(services, names.pop()), threads=len(names))

    for service in built:
        assert service._client.meta.service_model  # makes the deferred client
    # Hooks go on services.clients: every service's client must be one of its own.
    assert services.clients.created == ["dynamodb", "s3", "stepfunctions"]
    assert len({id(service) for service in built}) == 3
