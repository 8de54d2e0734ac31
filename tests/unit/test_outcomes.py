"""How a handler's return value, its exception or its crash becomes an outcome."""

from __future__ import annotations

import errno

from chalicelib import outcomes
from chalicelib.states import JobState


def raised(exc: BaseException) -> BaseException:
    """`exc` as it is caught: with its traceback."""
    try:
        raise exc
    except BaseException as caught:
        return caught


class WithExtra(Exception):
    def __init__(self, message: str, extra: object) -> None:
        super().__init__(message)
        self.extra = extra


def test_a_returned_value_is_the_result_of_a_success() -> None:
    outcome = outcomes.success({"uuid": "abc", "sizes": [1, 2.5]})

    assert outcome.state is JobState.SUCCESS
    assert outcome.result == {"uuid": "abc", "sizes": [1, 2.5]}
    assert outcome.result_encoding_error is None


def test_a_value_json_cannot_hold_is_still_a_success_without_a_result() -> None:
    outcome = outcomes.success({"when": object()})

    assert outcome.state is JobState.SUCCESS and outcome.result is None
    assert outcome.result_encoding_error is not None
    assert outcome.result_encoding_error.startswith("result is not JSON-serialisable: ")


def test_an_exception_is_a_failure_with_its_message_type_and_traceback() -> None:
    outcome = outcomes.failure(raised(ValueError("the last straw")))

    assert outcome.state is JobState.FAILED
    assert outcome.error == "the last straw"
    assert outcome.exception is not None
    assert outcome.exception.startswith("Traceback (most recent call last):")
    assert outcome.exception.rstrip().endswith("ValueError: the last straw")
    assert outcome.exc_info is not None
    assert (outcome.exc_info.type, outcome.exc_info.repr) == (
        "ValueError", "ValueError('the last straw')")
    assert outcome.exc_info.errno is None and outcome.exc_info.extra is None


def test_an_exception_without_a_message_is_named_by_its_type() -> None:
    assert outcomes.failure(raised(KeyboardInterrupt())).error == "KeyboardInterrupt"


def test_an_os_error_keeps_its_errno() -> None:
    outcome = outcomes.failure(raised(OSError(errno.ENOSPC, "No space left on device")))

    assert outcome.exc_info is not None and outcome.exc_info.errno == errno.ENOSPC


def test_an_exception_s_extra_is_kept_when_json_can_hold_it() -> None:
    outcome = outcomes.failure(raised(WithExtra("busy", {"retry_in": 5})))

    assert outcome.exc_info is not None and outcome.exc_info.extra == {"retry_in": 5}


def test_an_extra_json_cannot_hold_is_kept_as_its_repr() -> None:
    outcome = outcomes.failure(raised(WithExtra("busy", {1, 2})))

    assert outcome.exc_info is not None and outcome.exc_info.extra == "{1, 2}"


def test_an_abort_is_aborted_with_its_reason() -> None:
    outcome = outcomes.aborted("cancelled by ann")

    assert (outcome.state, outcome.error) == (JobState.ABORTED, "cancelled by ann")


def test_a_crash_fails_the_job_naming_what_step_functions_caught() -> None:
    outcome = outcomes.crashed({"Error": "Lambda.Unknown", "Cause": "out of memory"})

    assert outcome.state is JobState.FAILED
    assert outcome.error == "the worker stopped before finishing the job (Lambda.Unknown)"
    assert outcome.exception == "out of memory"
    assert outcome.exc_info is not None
    assert (outcome.exc_info.type, outcome.exc_info.repr) == ("Lambda.Unknown", "out of memory")


def test_a_crash_with_nothing_said_is_a_failed_task_without_a_cause() -> None:
    outcome = outcomes.crashed({})

    assert outcome.error == "the worker stopped before finishing the job (States.TaskFailed)"
    assert outcome.exception is None
    assert outcome.exc_info is not None and outcome.exc_info.repr is None


def test_a_crash_s_repr_keeps_the_first_2000_characters_of_its_cause() -> None:
    cause = "x" * 1999 + "yz"

    outcome = outcomes.crashed({"Error": "States.Timeout", "Cause": cause})

    assert outcome.exception == cause
    assert outcome.exc_info is not None and outcome.exc_info.repr == "x" * 1999 + "y"
