"""Job states and the only transitions allowed between them."""

from __future__ import annotations

from enum import StrEnum


class JobState(StrEnum):
    WAITING = "WAITING"
    RUNNING = "RUNNING"
    SUCCESS = "SUCCESS"
    FAILED = "FAILED"
    ABORTED = "ABORTED"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATES

    @property
    def is_active(self) -> bool:
        return not self.is_terminal

    def can_become(self, target: JobState) -> bool:
        return target in ALLOWED_TRANSITIONS.get(self, frozenset())


TERMINAL_STATES = frozenset({JobState.SUCCESS, JobState.FAILED, JobState.ABORTED})

# Nothing ever leaves a terminal state (TrueNAS); a WAITING job may be aborted
# before it starts.
ALLOWED_TRANSITIONS: dict[JobState, frozenset[JobState]] = {
    JobState.WAITING: frozenset({JobState.RUNNING, JobState.ABORTED}),
    JobState.RUNNING: frozenset({JobState.SUCCESS, JobState.FAILED, JobState.ABORTED}),
}


def sources_of(target: JobState) -> list[JobState]:
    """The states from which `target` may be reached, in a stable order."""
    return [state for state in JobState if state.can_become(target)]
