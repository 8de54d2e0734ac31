"""An in-process AWS for the benchmarks, set up exactly as tests/conftest.py does:
moto with the real state machine executing, the resources made from
infra/template.yaml, and our worker behind moto's Lambda (local/seam.py).

`raw` holds clients the benchmarks use to watch (poll executions, read
items); they are separate from the app's clients, so no counter sees them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import Any

from chalicelib.authn import mint
from local.emulated import LOCAL_JWT_SECRET, emulated_aws


@cache
def bench_auth(tenant: str = "default") -> dict[str, str]:
    """The benchmarks call the API as an admin of the default tenant (or of
    `tenant`, for the listing's second population)."""
    return {"Authorization": "Bearer " + mint(LOCAL_JWT_SECRET, tenant, "bench",
                                              ["TENANT_ADMIN"], 24 * 3600)}


@dataclass
class Answer:
    status: int
    body: Any


@dataclass
class LocalAws:
    provisioned: Any  # local.provision.Provisioned
    http: Any  # chalice.test.Client
    raw: Any  # chalicelib.aws.AwsClients, never hooked

    @property
    def services(self) -> Any:
        from chalicelib.wiring import services

        return services()

    def app_clients(self) -> dict[str, Any]:
        """The clients the app itself calls AWS with (created now if not yet)."""
        clients = self.services.clients
        return {"dynamodb": clients.dynamodb, "stepfunctions": clients.stepfunctions,
                "s3": clients.s3}

    def request(self, method: str, path: str, body: Any = None,
                tenant: str = "default") -> Answer:
        payload = json.dumps(body) if body is not None else b""
        response = self.http.http.request(
            method, path, headers={"Content-Type": "application/json", **bench_auth(tenant)},
            body=payload
        )
        text = response.body.decode() if response.body else ""
        return Answer(response.status_code, json.loads(text) if text else None)

    def submit(self, method: str, params: dict[str, Any] | None = None) -> str:
        answer = self.request("POST", "/jobs", {"method": method, "params": params or {}})
        if answer.status != 202:
            raise RuntimeError(f"POST /jobs answered {answer.status}: {answer.body}")
        return str(answer.body["id"])

    def execution_arn(self, job_id: str) -> str:
        """The job's execution, on whichever machine its runner names. (moto names
        Express executions like Standard ones; AWS adds a run id.)"""
        item = self.item(job_id) or {}
        machine = self.provisioned.state_machine_arn
        if item.get("runner", {}).get("S") == "express":
            machine = self.provisioned.express_state_machine_arn
        return f"{machine.replace(':stateMachine:', ':execution:')}:{job_id}"

    def wait_for_execution(self, job_id: str, timeout: float = 120.0) -> str:
        """Wait until the job's execution has ended (so every worker call is done)."""
        return self.wait_for_end(job_id, timeout)[0]

    def wait_for_end(self, job_id: str, timeout: float = 120.0) -> tuple[str, float | None]:
        """The execution's final status and when it stopped (epoch seconds, from
        moto's stopDate), once it has ended. Polls every 5 ms at first, then
        every 2% of the time waited so far (at most POLL_MAX): a long run is
        not slowed down by its own watcher (each poll is a describe_execution
        through moto, competing for the GIL), and its time comes from the
        stopDate, not from when the poll noticed."""
        arn = self.execution_arn(job_id)
        started = time.monotonic()
        deadline = started + timeout
        while True:
            try:
                described = self.raw.stepfunctions.describe_execution(executionArn=arn)
            except self.raw.stepfunctions.exceptions.ExecutionDoesNotExist:
                described = {"status": "STARTING"}
            status = described["status"]
            if status not in ("RUNNING", "STARTING"):
                stopped = described.get("stopDate")
                return str(status), stopped.timestamp() if stopped else None
            now = time.monotonic()
            if now > deadline:
                raise TimeoutError(f"execution {arn} still {status} after {timeout}s")
            time.sleep(poll_interval(now - started))

    def item(self, job_id: str) -> dict[str, Any] | None:
        answer = self.raw.dynamodb.get_item(
            TableName=self.provisioned.table_name, Key={"id": {"S": job_id}}, ConsistentRead=True
        )
        item: dict[str, Any] | None = answer.get("Item")
        return item


POLL_MIN, POLL_MAX = 0.005, 0.25


def poll_interval(waited: float) -> float:
    """5 ms at first, then 2% of the time waited so far, at most POLL_MAX."""
    return min(POLL_MAX, max(POLL_MIN, 0.02 * waited))


@contextmanager
def local_aws(progress_interval: float = 1.0,
              events_endpoint: str | None = None) -> Iterator[LocalAws]:
    """A fresh moto account with everything provisioned; torn down on exit.
    `events_endpoint`: where the app sends to WebSockets (moto's management
    API answers there; `sockets_client` is its client)."""
    from chalice.test import Client

    import app as job_app
    import bench.methods  # noqa: F401  (registers the bench-only job methods)
    from chalicelib.aws import AwsClients
    from local.server import quiet_moto_logs

    quiet_moto_logs()
    environment = {"JOBS_PROGRESS_INTERVAL": str(progress_interval)}
    if events_endpoint:
        environment["JOBS_EVENTS_ENDPOINT"] = events_endpoint
    with emulated_aws(environment) as provisioned, \
            Client(job_app.app, stage_name="local") as http:
        yield LocalAws(provisioned, http, AwsClients())


def sockets_client(endpoint: str) -> Any:
    """The app's own client of API Gateway's management API at `endpoint`."""
    from chalicelib.wiring import services

    return services().clients.client_at("apigatewaymanagementapi", endpoint)
