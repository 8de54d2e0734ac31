"""Workflow: starts and stops the Step Functions execution that drives a job."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any

from chalicelib.aws_errors import JOB_RUNNER, translated

# Step Functions Standard executions run at most a year; a parent waits a day
# for its children unless the request or the method says otherwise.
DEFAULT_CHILDREN_TIMEOUT = 24 * 3600
# A task that already ended: nobody waits on its token any more.
ENDED_TASK_CODES = frozenset({"TaskTimedOut", "InvalidToken", "TaskDoesNotExist"})
# An execution that already ended and was removed, or never started.
NO_EXECUTION_CODES = frozenset({"ExecutionDoesNotExist", "ExecutionNotFound"})


class Runner(StrEnum):
    """Which state machine drives a job (see infra/template.yaml)."""

    STANDARD = "standard"
    EXPRESS = "express"


class Workflow:
    def __init__(self, client: Any, state_machine_arn: str, express_arn: str = "") -> None:
        self._client = client
        self._state_machine_arn = state_machine_arn
        self._express_arn = express_arn

    def runner_for(self, long_running: bool) -> Runner:
        if long_running or not self._express_arn:
            return Runner.STANDARD
        return Runner.EXPRESS

    def start(self, job_id: str, tenant_id: str, runner: Runner = Runner.STANDARD,
              waits: dict[str, int] | None = None) -> None:
        """Start the execution named after the job. On Standard the name makes a
        retried start idempotent; on Express (names are not unique) the worker's
        conditional write to RUNNING is what keeps a job from running twice.

        `waits` bound the Standard machine's waits, read by their
        TimeoutSecondsPath: `children_timeout` (a parent's sub-jobs),
        `upload_window` and `download_window` (chalicelib.retention)."""
        machine = self._express_arn if runner is Runner.EXPRESS else self._state_machine_arn
        payload: dict[str, Any] = {"job_id": job_id, "tenant_id": tenant_id}
        if runner is Runner.STANDARD:
            payload["children_timeout"] = DEFAULT_CHILDREN_TIMEOUT
            payload.update(waits or {})
        with translated(JOB_RUNNER, fine={"ExecutionAlreadyExists"}):
            self._client.start_execution(
                stateMachineArn=machine, name=job_id, input=json.dumps(payload))

    def resume(self, token: str) -> None:
        """Wake an execution waiting on `token` (a parent whose children are done).
        A token whose task already ended is fine: nobody waits on it any more."""
        with translated(JOB_RUNNER, fine=ENDED_TASK_CODES):
            self._client.send_task_success(taskToken=token, output="{}")

    def stop(self, job_id: str, error: str, cause: str) -> None:
        """Stop the job's execution; one that already ended or never started is fine."""
        with translated(JOB_RUNNER, fine=NO_EXECUTION_CODES):
            self._client.stop_execution(
                executionArn=self.execution_arn(job_id), error=error, cause=cause[:32000]
            )

    def status(self, job_id: str) -> str | None:
        """A Standard execution's status (RUNNING, SUCCEEDED, FAILED, TIMED_OUT,
        ABORTED), or None when there is none."""
        with translated(JOB_RUNNER, fine=NO_EXECUTION_CODES):
            answer = self._client.describe_execution(executionArn=self.execution_arn(job_id))
            return str(answer["status"])
        return None

    def execution_arn(self, job_id: str) -> str:
        """The ARN of a Standard execution (Express ones carry a run id we never see)."""
        prefix = self._state_machine_arn.replace(":stateMachine:", ":execution:")
        return f"{prefix}:{job_id}"
