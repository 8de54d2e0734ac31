"""How a handler's return value or exception becomes the job's outcome."""

from __future__ import annotations

import json
import traceback
from typing import Any

from chalicelib.models import ExcInfo, Outcome
from chalicelib.states import JobState


def success(value: Any) -> Outcome:
    try:
        json.dumps(value)
    except (TypeError, ValueError) as exc:
        # The job still succeeded; only its result could not be kept.
        return Outcome(
            state=JobState.SUCCESS,
            result_encoding_error=f"result is not JSON-serialisable: {exc}",
        )
    return Outcome(state=JobState.SUCCESS, result=value)


def failure(exc: BaseException) -> Outcome:
    return Outcome(
        state=JobState.FAILED,
        error=str(exc) or type(exc).__name__,
        exception="".join(traceback.format_exception(exc)),
        exc_info=ExcInfo(
            repr=repr(exc),
            type=type(exc).__name__,
            errno=exc.errno if isinstance(exc, OSError) else None,
            extra=_jsonable(getattr(exc, "extra", None)),
        ),
    )


def aborted(reason: str) -> Outcome:
    return Outcome(state=JobState.ABORTED, error=reason)


def crashed(failure: dict[str, Any]) -> Outcome:
    """The Lambda died or timed out; Step Functions caught it and told us why."""
    error = str(failure.get("Error", "States.TaskFailed"))
    cause = str(failure.get("Cause", ""))
    return Outcome(
        state=JobState.FAILED,
        error=f"the worker stopped before finishing the job ({error})",
        exception=cause or None,
        exc_info=ExcInfo(type=error, repr=cause[:2000] or None),
    )


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)
    return value
