"""What the job state machines (infra/template.yaml) and the worker say to
each other.

Every worker task of a state machine builds one `Task` (its Parameters, or
its Payload for a task that waits on a token) and the worker answers with a
`TaskResult`. No state reads a field of that answer (the waits discard it,
the other tasks end the execution with it as its output); the sweeper reads
`state`. The worker steers the state machine by raising instead: a Catch rule
routes on the exception's class name, which is how Lambda names the error
(chalicelib.worker.STEERING_ERRORS). tests/unit/test_worker_contract.py
holds the template to both lists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Action(StrEnum):
    """The step a task asks for: the `action` of its Parameters."""

    RUN = "run"  # Run: mark RUNNING, run the handler, finish (or raise to wait)
    WAIT_CHILDREN = "wait"  # WaitChildren: keep the token until the last child ends
    WAIT_UPLOAD = "wait_upload"  # WaitUpload: keep the token until the file lands
    WAIT_DOWNLOAD = "wait_download"  # WaitDownload: keep it until the file is claimed
    FINISH = "finish"  # Finish: a parent's outcome, from its children
    CRASHED = "crashed"  # RecordCrash: the Lambda died, timed out or a wait expired

    @classmethod
    def of(cls, name: str | None) -> Action:
        """An event without a known action runs the job (as Run does)."""
        try:
            return cls(name) if name is not None else cls.RUN
        except ValueError:
            return cls.RUN


# The actions whose task waits on a token, which it passes to the worker.
TOKEN_ACTIONS = frozenset({Action.WAIT_CHILDREN, Action.WAIT_UPLOAD, Action.WAIT_DOWNLOAD})

# The built-in errors (RecordCrash's `failure.Error`) of a task that ran out of time.
TIMEOUT_ERRORS = ("States.Timeout", "States.HeartbeatTimeout")


@dataclass(frozen=True)
class Task:
    """One invocation of the worker by a state machine."""

    action: Action
    job_id: str  # $$.Execution.Name: the execution is named after its job
    tenant_id: str
    token: str = ""  # $$.Task.Token, for the TOKEN_ACTIONS only
    failure: dict[str, Any] = field(default_factory=dict)  # RecordCrash: {"Error", "Cause"}

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> Task:
        """A missing key fails the invocation (a KeyError), as a bad event should."""
        action = Action.of(event.get("action"))
        job_id, tenant_id = event["job_id"], event["tenant_id"]
        return cls(action=action, job_id=job_id, tenant_id=tenant_id,
                   token=event["token"] if action in TOKEN_ACTIONS else "",
                   failure=event.get("failure") or {})


@dataclass(frozen=True)
class TaskResult:
    """The worker's answer to a task. `state` is the job's state as the worker
    left (or found) it: None when there is no such job, "missing" when it
    vanished while the worker wrote. `ran` (Run) says whether a handler ran;
    `waiting` (the waits) whether the execution now waits for its token."""

    job_id: str
    state: str | None
    ran: bool | None = None
    waiting: bool | None = None

    def as_dict(self) -> dict[str, Any]:
        """The JSON the task returns: the fields that apply, nothing more."""
        answer: dict[str, Any] = {
            "job_id": self.job_id, "state": None if self.state is None else str(self.state)}
        if self.ran is not None:
            answer["ran"] = self.ran
        if self.waiting is not None:
            answer["waiting"] = self.waiting
        return answer
