"""Job methods that exist only for the benchmarks.

They are registered in the app's registry when `bench` imports this module
(never in a deployment). They tell the benchmark, from inside the worker,
when the handler starts and ends, so the counter can split the worker's
calls into claim (before the handler), progress (during) and finish (after).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.context import JobContext
from chalicelib.registry import job_method

HANDLER_STARTED = "started"
HANDLER_ENDING = "ending"

Listener = Callable[[str], None]
_listener: Listener | None = None


def listen(listener: Listener | None) -> None:
    """Called in the handler's thread with HANDLER_STARTED / HANDLER_ENDING."""
    global _listener
    _listener = listener


def _announce(event: str) -> None:
    if _listener is not None:
        _listener(event)


class PhasesParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reports: int = Field(3, ge=0, le=1000, description="progress reports to make")
    gap: float = Field(0.0, ge=0, le=10, description="seconds between two reports")


@job_method("bench.phases", params=PhasesParams)
def phases(ctx: JobContext, params: PhasesParams) -> dict[str, Any]:
    """Reports progress `reports` times, `gap` seconds apart, then succeeds."""
    _announce(HANDLER_STARTED)
    for n in range(1, params.reports + 1):
        if n > 1 and params.gap:
            time.sleep(params.gap)
        ctx.set_progress(100 * n // params.reports, f"report {n} of {params.reports}")
    _announce(HANDLER_ENDING)
    return {"reports": params.reports}


class StormParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reports: int = Field(10_000, ge=1, le=1_000_000)
    seconds: float = Field(3.0, ge=0, le=60, description="spread the reports over this long")


@job_method("bench.progress_storm", params=StormParams)
def progress_storm(ctx: JobContext, params: StormParams) -> dict[str, Any]:
    """Reports progress `reports` times, evenly over `seconds` (in 100 batches)."""
    _announce(HANDLER_STARTED)
    started = time.perf_counter()
    batch = max(1, math.ceil(params.reports / 100))
    for n in range(1, params.reports + 1):
        ctx.set_progress(100 * n // params.reports, f"report {n}")
        if n % batch == 0:
            # Sleep to where this report is due, so the pace stays even.
            due = started + params.seconds * n / params.reports
            time.sleep(max(0.0, due - time.perf_counter()))
    elapsed = time.perf_counter() - started
    _announce(HANDLER_ENDING)
    return {"reports": params.reports, "seconds": elapsed}
