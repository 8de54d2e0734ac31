from __future__ import annotations

import pytest

from chalicelib.states import TERMINAL_STATES, JobState, sources_of


@pytest.mark.parametrize("terminal", sorted(TERMINAL_STATES))
def test_nothing_leaves_a_terminal_state(terminal: JobState) -> None:
    assert not any(terminal.can_become(target) for target in JobState)


def test_only_the_documented_transitions_exist() -> None:
    allowed = {(a.value, b.value) for a in JobState for b in JobState if a.can_become(b)}

    assert allowed == {
        ("WAITING", "RUNNING"), ("WAITING", "ABORTED"),
        ("RUNNING", "SUCCESS"), ("RUNNING", "FAILED"), ("RUNNING", "ABORTED"),
    }


def test_aborted_is_reachable_from_waiting_and_running() -> None:
    assert sources_of(JobState.ABORTED) == [JobState.WAITING, JobState.RUNNING]
