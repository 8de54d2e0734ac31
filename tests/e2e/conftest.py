"""Starts the real local server (`python -m local.server`, what `make run`
runs) on a free port, and stops it after the module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from local.launcher import RunningServer, running_server

LocalServer = RunningServer


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    with running_server() as running:
        yield running
