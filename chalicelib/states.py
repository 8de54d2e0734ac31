"""Job states and the only transitions allowed between them.

The store builds the condition of every state-changing write from
ALLOWED_TRANSITIONS (`sources_of`), so the table and the writes cannot drift.
"""

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
ACTIVE_STATES = tuple(state for state in JobState if state.is_active)

# Nothing ever leaves a terminal state (TrueNAS); a WAITING job may be aborted
# before it starts.
ALLOWED_TRANSITIONS: dict[JobState, frozenset[JobState]] = {
    JobState.WAITING: frozenset({JobState.RUNNING, JobState.ABORTED}),
    JobState.RUNNING: frozenset({JobState.SUCCESS, JobState.FAILED, JobState.ABORTED}),
}


def sources_of(target: JobState, *only: JobState) -> list[JobState]:
    """The states from which `target` may be reached, in a stable order.

    `only` narrows them, for a write that only some of those states may make;
    each must be a source in the table, so a narrowed write cannot allow a
    transition the table forbids."""
    sources = [state for state in JobState if state.can_become(target)]
    if not only:
        return sources
    if not set(only) <= set(sources):
        raise ValueError(f"not in ALLOWED_TRANSITIONS: {sorted(set(only) - set(sources))} "
                         f"-> {target.value}")
    return [state for state in sources if state in only]
