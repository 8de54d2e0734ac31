"""Workflow: starts and stops the Step Functions execution that drives a job."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.errors import ServiceUnavailable

THROTTLING_CODES = frozenset({"ThrottlingException", "ServiceUnavailable", "InternalError"})


class Workflow:
    def __init__(self, client: Any, state_machine_arn: str) -> None:
        self._client = client
        self._state_machine_arn = state_machine_arn

    def start(self, job_id: str, tenant_id: str) -> None:
        """Start the execution named after the job. The name makes a retried
        start idempotent: a second StartExecution cannot run the job twice."""
        try:
            self._client.start_execution(
                stateMachineArn=self._state_machine_arn,
                name=job_id,
                input=json.dumps({"job_id": job_id, "tenant_id": tenant_id}),
            )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code == "ExecutionAlreadyExists":
                return
            if code in THROTTLING_CODES:
                raise ServiceUnavailable("the job runner is busy; retry shortly") from exc
            raise

    def stop(self, job_id: str, error: str, cause: str) -> None:
        """Stop the job's execution; one that already ended or never started is fine."""
        try:
            self._client.stop_execution(
                executionArn=self.execution_arn(job_id), error=error, cause=cause[:32000]
            )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("ExecutionDoesNotExist", "ExecutionNotFound"):
                return
            if code in THROTTLING_CODES:
                raise ServiceUnavailable("the job runner is busy; retry shortly") from exc
            raise

    def execution_arn(self, job_id: str) -> str:
        prefix = self._state_machine_arn.replace(":stateMachine:", ":execution:")
        return f"{prefix}:{job_id}"
