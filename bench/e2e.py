"""Local end-to-end throughput: demo.echo jobs through the real local server
(`python -m local.server`, what `make run` runs), over HTTP.

Clients POST; when a job ended is read from its Step Functions execution
(stopDate, from the server's moto on --moto-port), not by polling GET: at
8 clients polling every 20 ms, the polls took most of the server's one
GIL and the figure measured the polling. Every job is then read back once
through GET /jobs/{id} to check it is SUCCESS. Latency = the execution's
stopDate - the client's clock at POST (one machine, one clock).

Requests use a new connection each, as curl does: on a kept-alive connection
the local server (Python's http.server speaking HTTP/1.1) stalls about 40 ms
per request (Nagle's algorithm meeting delayed ACKs).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import requests

from local.launcher import running_server

ROOT = Path(__file__).resolve().parent.parent
CLIENT_THREADS = 8
SEQUENTIAL_JOBS = 5
WARM_UP_JOBS = 3
WAIT_SECONDS = 180


@dataclass
class LocalServer:
    url: str
    sfn: Any  # a Step Functions client on the server's moto (ours, not the app's)
    state_machine_arn: str
    headers: dict[str, str]  # the admin token the server printed


def end_to_end(jobs: int) -> dict[str, Any]:
    with local_server() as server:
        for n in range(WARM_UP_JOBS):  # the first requests wire things lazily
            run_alone(server, n)
        alone = [run_alone(server, n) for n in range(SEQUENTIAL_JOBS)]
        with ThreadPoolExecutor(CLIENT_THREADS) as pool:
            posted = dict(pool.map(lambda n: submit(server, n), range(jobs)))
        stopped = wait_for_executions(server, set(posted))
        states = [requests.get(f"{server.url}/jobs/{job_id}", headers=server.headers,
                               timeout=60).json()["state"] for job_id in posted]
    latencies = sorted(stopped[job_id] - posted[job_id] for job_id in posted)
    return {
        "jobs": jobs, "client_threads": CLIENT_THREADS,
        "jobs_per_second": jobs / (max(stopped.values()) - min(posted.values())),
        "latency_median_ms": statistics.median(latencies) * 1000,
        "latency_p90_ms": latencies[int(0.9 * (len(latencies) - 1))] * 1000,
        "alone_latency_median_ms": statistics.median(alone) * 1000,
        "alone_latencies_ms": [latency * 1000 for latency in alone],
        "all_succeeded": all(state == "SUCCESS" for state in states),
        "states": {state: states.count(state) for state in sorted(set(states))},
    }


def submit(server: LocalServer, n: int) -> tuple[str, float]:
    """POST one demo.echo job: (its id, the wall clock when the POST began)."""
    posted = time.time()
    answer = requests.post(f"{server.url}/jobs", headers=server.headers,
                           json={"method": "demo.echo", "params": {"n": n}}, timeout=60)
    answer.raise_for_status()
    return str(answer.json()["id"]), posted


def run_alone(server: LocalServer, n: int) -> float:
    """One job with nothing else running: seconds from POST to the end of its execution."""
    job_id, posted = submit(server, n)
    arn = server.state_machine_arn.replace(":stateMachine:", ":execution:") + f":{job_id}"
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        execution = server.sfn.describe_execution(executionArn=arn)
        if "stopDate" in execution:
            return float(execution["stopDate"].timestamp()) - posted
        time.sleep(0.01)
    raise TimeoutError(f"job {job_id} did not end within {WAIT_SECONDS} s")


def wait_for_executions(server: LocalServer, job_ids: set[str]) -> dict[str, float]:
    """{job id: wall clock when its execution stopped}, once all have."""
    paginator = server.sfn.get_paginator("list_executions")
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        stopped = {
            execution["name"]: float(execution["stopDate"].timestamp())
            for page in paginator.paginate(stateMachineArn=server.state_machine_arn)
            for execution in page["executions"]
            if execution["name"] in job_ids and execution.get("stopDate")
        }
        if len(stopped) == len(job_ids):
            return stopped
        time.sleep(0.2)
    raise TimeoutError(f"{len(job_ids) - len(stopped)} jobs did not end in {WAIT_SECONDS} s")


@contextmanager
def local_server() -> Iterator[LocalServer]:
    """`python -m local.server` on free ports (local/launcher.py), with a Step
    Functions client of our own on its moto."""
    with running_server() as running:
        sfn = boto3.session.Session().client(
            "stepfunctions", endpoint_url=f"http://127.0.0.1:{running.moto_port}",
            region_name="us-east-1", aws_access_key_id="local", aws_secret_access_key="local")
        machines = {m["name"]: m["stateMachineArn"]
                    for m in sfn.list_state_machines()["stateMachines"]}
        # demo.echo is not long-running: it runs on the Express machine.
        express = next(arn for name, arn in machines.items() if name.endswith("-express"))
        yield LocalServer(running.url, sfn, express,
                          {"Authorization": str(running.http.headers["Authorization"])})
