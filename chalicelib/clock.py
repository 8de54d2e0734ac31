"""Wall-clock time in one place, so tests and the sweeper can inject their own."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], float]
# The last second `iso` can write (9999-12-31T23:59:59Z): a client's time past it
# is refused at the edge (chalicelib.faces).
MAX_EPOCH = 253402300799


def system_clock() -> float:
    return time.time()


def to_datetime(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC)


def iso(epoch: float) -> str:
    """ISO 8601 UTC with milliseconds; sorts lexically in time order."""
    return to_datetime(epoch).strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(epoch * 1000) % 1000:03d}Z"


def from_iso(text: str) -> float:
    """The epoch seconds of an `iso` stamp."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC).timestamp()
