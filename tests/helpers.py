"""Small helpers the tests share: a JSON client over the Chalice test client
and waiting for a job to reach a state (bounded; never a timing assertion)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import boto3
from chalice.test import Client
from requests.structures import CaseInsensitiveDict

from chalicelib.authn import mint
from chalicelib.sweeper import MAX_ENTRIES, Sweeper
from chalicelib.wiring import services
from local import seam
from local.emulated import LOCAL_JWT_SECRET
from local.provision import Provisioned, load_template

TERMINAL = {"SUCCESS", "FAILED", "ABORTED"}


@dataclass
class Answer:
    status: int
    headers: Mapping[str, str]
    body: Any


def token_for(tenant: str = "default", user: str = "tester",
              roles: tuple[str, ...] = ("TENANT_ADMIN",), seconds: int = 3600,
              secret: str = LOCAL_JWT_SECRET) -> str:
    """A bearer token, signed by default with the local secret (what the tests' stage uses)."""
    return mint(secret, tenant, user, list(roles), seconds)


class JobsClient:
    """Calls the API as one principal: by default a TENANT_ADMIN of the
    default tenant (what every caller was before authentication)."""

    def __init__(self, client: Client, token: str | None = "") -> None:
        """`token`: "" for the default caller, None for no Authorization at all."""
        self._client = client
        self._auth = {} if token is None else {"Authorization": f"Bearer {token or token_for()}"}

    def as_caller(self, token: str | None) -> JobsClient:
        """The same API, called with `token` (None: with no Authorization)."""
        return JobsClient(self._client, token)

    def request(self, method: str, path: str, body: Any = None, raw: str | None = None,
                headers: dict[str, str] | None = None) -> Answer:
        payload = raw if raw is not None else (json.dumps(body) if body is not None else None)
        sent = {"Content-Type": "application/json", **self._auth, **(headers or {})}
        response = self._client.http.request(method, path, headers=sent, body=payload or b"")
        text = response.body.decode() if response.body else ""
        headers = CaseInsensitiveDict(response.headers)
        is_json = headers.get("content-type", "").startswith("application/json")
        body = (json.loads(text) if text else None) if is_json else text
        return Answer(response.status_code, headers, body)

    def submit(self, method: str, params: dict[str, Any] | None = None, **extra: Any) -> Answer:
        return self.request("POST", "/jobs", {"method": method, "params": params or {}, **extra})

    def get(self, job_id: str) -> Answer:
        return self.request("GET", f"/jobs/{job_id}")

    def wait_for(self, job_id: str, done: Callable[[dict[str, Any]], bool] | None = None,
                 timeout: float = 30.0) -> dict[str, Any]:
        return wait_until(lambda: self.get(job_id).body, done or is_finished, timeout)


def is_finished(job: dict[str, Any]) -> bool:
    return job.get("state") in TERMINAL


def wait_until(read: Callable[[], Any], done: Callable[[Any], bool], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting after {timeout}s; last value: {value!r}")
        time.sleep(0.02)


class CallRecorder:
    """Records every AWS call the app's own clients make (botocore event hooks;
    moto's interpreter uses clients of its own, which are not counted)."""

    def __init__(self, *clients: Any, api_only: bool = False) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.threads: list[str] = []
        self.jobs: list[str | None] = []  # the job whose worker task made the call
        # The test client's requests run in the main thread; a worker of this
        # test or of an earlier one runs in moto's threads, whenever it likes.
        self.api_only = api_only
        for client in clients:
            client.meta.events.register("provide-client-params.*.*", self._record)

    def _record(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        if self.api_only and threading.current_thread() is not threading.main_thread():
            return
        self.threads.append(threading.current_thread().name)
        self.jobs.append(seam.invoked_for())
        self.calls.append((model.name, dict(params)))

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]

    def outside_main_thread(self, since: int = 0) -> list[tuple[str, dict[str, Any]]]:
        """The calls made by the worker (moto runs executions in threads of its own)."""
        main = threading.main_thread().name
        return [call for call, thread in zip(self.calls, self.threads, strict=True)
                if thread != main][since:]

    def by_worker_of(self, job_id: str, since: int = 0) -> list[tuple[str, dict[str, Any]]]:
        """Every call the worker made while handling a task of `job_id` (a
        claim, a finish, a crash's record...), whatever it reads or writes,
        and the writes to its record from threads of its own (the progress
        timer's); a worker running another job (of an earlier test, say) is
        not counted."""
        main = threading.main_thread().name
        return [call for call, thread, job in zip(self.calls, self.threads, self.jobs,
                                                  strict=True)
                if job == job_id or (job is None and thread != main
                                     and call[1].get("Key", {}).get("id", {}).get("S") == job_id)
                ][since:]

    def about(self, job_id: str, calls: list[tuple[str, dict[str, Any]]]) -> list[str]:
        """The names of those `calls` that read or write the record of `job_id`
        (a job left running by an earlier test may still be calling)."""
        return [name for name, params in calls
                if params.get("Key", {}).get("id", {}).get("S") == job_id]

    def in_main_thread(self, since: int = 0) -> list[str]:
        main = threading.main_thread().name
        return [name for (name, _), thread in
                list(zip(self.calls, self.threads, strict=True))[since:] if thread == main]

    def count(self, *names: str) -> int:
        return sum(1 for name, _ in self.calls if name in names)

    def clear(self) -> None:
        self.calls.clear()
        self.threads.clear()
        self.jobs.clear()


def sweeper_at(clock: Callable[[], float], entries_per_run: int = MAX_ENTRIES) -> Sweeper:
    """The app's sweeper, seeing the time `clock` tells (reading at most
    `entries_per_run` of each by_active partition a run)."""
    wired = services()
    return Sweeper(wired.store, wired.workflow, wired.factory, wired.fanout, wired.settings, clock,
                   wired.worker, entries_per_run)


def state_machine_with_run_timeout(aws: Provisioned, seconds: int) -> str:
    machine = load_template()["Resources"]["JobsStateMachine"]["Properties"]
    definition = machine["Definition"]
    definition["States"]["Run"]["TimeoutSeconds"] = seconds
    worker_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{aws.worker_function}"
    sfn = boto3.client("stepfunctions")
    role = sfn.describe_state_machine(stateMachineArn=aws.state_machine_arn)["roleArn"]
    created = sfn.create_state_machine(
        name="jobs-short-timeout", roleArn=role,
        definition=json.dumps(definition).replace("${WorkerArn}", worker_arn),
    )
    return str(created["stateMachineArn"])


def job_records(dynamodb: Any, table_name: str) -> int:
    """How many job records the jobs table holds: items with a method (a
    lock or a tenant's counter of job numbers shares the table)."""
    return int(dynamodb.scan(TableName=table_name, Select="COUNT",
                             FilterExpression="attribute_exists(#m)",
                             ExpressionAttributeNames={"#m": "method"})["Count"])
