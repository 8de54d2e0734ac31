"""Request overhead: the Chalice app in-process against moto, as a ratio to the
bare boto3 calls the request must make, against the same moto, same run.

GET /jobs/{id} is compared with `get_item(ConsistentRead=True)` on the same
key; POST /jobs with `put_item` of the same item (built beforehand, untimed)
plus `start_execution`. The bare calls use the app's own client objects, so
configuration and connection handling are identical. Samples alternate
app/bare (ABBA order) so drift hits both. Every start_execution makes moto
run the job in a thread, for the app and for the bare path alike; after each
sample we wait, untimed, for that execution to end, so no sample competes
with a running job.
"""

from __future__ import annotations

import json
import statistics
import time
import uuid
from collections.abc import Callable
from typing import Any

from bench.local_aws import LocalAws, local_aws
from bench.section import Check, Section, Table

TARGET_RATIO = 1.5
WARM_UP = 10


def run(context: Any) -> Section:
    gets, posts = (100, 40) if context.quick else (300, 120)
    with local_aws() as aws:
        get = measure_get(aws, gets)
        post = measure_post(aws, posts)
    return build_section({"get": get, "post": post})


def measure_get(aws: LocalAws, samples: int) -> dict[str, Any]:
    job_id = aws.submit("demo.echo", {"bench": "overhead"})
    aws.wait_for_execution(job_id)
    client, table = aws.services.clients.dynamodb, aws.provisioned.table_name

    def app_get() -> None:
        answer = aws.request("GET", f"/jobs/{job_id}")
        assert answer.status == 200, answer

    def bare_get() -> None:
        client.get_item(TableName=table, Key={"id": {"S": job_id}}, ConsistentRead=True)

    return compare(lambda: app_get, lambda: bare_get, samples)


def measure_post(aws: LocalAws, samples: int) -> dict[str, Any]:
    from chalicelib import items
    from chalicelib.clock import iso
    from chalicelib.models import Job

    clients = aws.services.clients
    table, machine = aws.provisioned.table_name, aws.provisioned.state_machine_arn
    body = {"method": "demo.echo", "params": {"bench": "overhead"}}
    started: list[str] = []  # the job ids whose executions the last sample started

    def app_post() -> None:
        answer = aws.request("POST", "/jobs", body)
        assert answer.status == 202, answer
        started.append(answer.body["id"])

    def prepare_bare() -> Callable[[], None]:
        # What the app would write, built outside the timed part.
        now = iso(time.time())
        job = Job(id=str(uuid.uuid4()), method="demo.echo", arguments=body["params"],
                  time_created=now, time_updated=now, tenant_id="default",
                  message_ids=[str(uuid.uuid4())])
        item = items.to_item(job)
        start_input = json.dumps({"job_id": job.id, "tenant_id": job.tenant_id})

        def bare_post() -> None:
            clients.dynamodb.put_item(TableName=table, Item=item,
                                      ConditionExpression="attribute_not_exists(id)")
            clients.stepfunctions.start_execution(stateMachineArn=machine, name=job.id,
                                                  input=start_input)
            started.append(job.id)

        return bare_post

    def settle() -> None:
        while started:
            aws.wait_for_execution(started.pop())

    return compare(lambda: app_post, prepare_bare, samples, settle=settle)


Prepare = Callable[[], Callable[[], None]]  # builds (untimed) the call to time


def compare(prepare_app: Prepare, prepare_bare: Prepare, samples: int,
            settle: Callable[[], None] | None = None) -> dict[str, Any]:
    """Time the app's call and the bare calls alternately (ABBA); medians and ratio."""
    timings: dict[str, list[float]] = {"app": [], "bare": []}
    prepare = {"app": prepare_app, "bare": prepare_bare}
    for n in range(WARM_UP + samples):
        order = ("app", "bare") if n % 4 in (0, 3) else ("bare", "app")
        for which in order:
            call = prepare[which]()
            started = time.perf_counter()
            call()
            elapsed = time.perf_counter() - started
            if settle:
                settle()
            if n >= WARM_UP:
                timings[which].append(elapsed)
    app_ms = statistics.median(timings["app"]) * 1000
    bare_ms = statistics.median(timings["bare"]) * 1000
    return {"samples": samples, "app_median_ms": app_ms, "bare_median_ms": bare_ms,
            "ratio": app_ms / bare_ms, "app_p90_ms": percentile(timings["app"], 90) * 1000,
            "bare_p90_ms": percentile(timings["bare"], 90) * 1000}


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def build_section(results: dict[str, dict[str, Any]]) -> Section:
    labels = {"get": ("GET /jobs/{id}", "get_item (consistent)"),
              "post": ("POST /jobs", "put_item + start_execution")}
    rows, checks = [], []
    for key, (request, bare) in labels.items():
        result = results[key]
        met = result["ratio"] <= TARGET_RATIO
        rows.append({"request": request, "bare": bare, "samples": result["samples"],
                     "app_ms": result["app_median_ms"], "bare_ms": result["bare_median_ms"],
                     "ratio": result["ratio"], "app_p90_ms": result["app_p90_ms"],
                     "bare_p90_ms": result["bare_p90_ms"], "target": f"<= {TARGET_RATIO}",
                     "met": met})
        checks.append(Check(f"in-process overhead of {request}", f"<= {TARGET_RATIO}x",
                            f"{result['ratio']:.2f}x", met))
    return Section(
        name="overhead",
        title="Request overhead (in-process)",
        how=("chalice.test.Client against moto in-process vs the bare boto3 calls on the app's "
             "own clients, same moto, same run, alternating ABBA, medians after "
             f"{WARM_UP} warm-up pairs; each POST's execution settles (untimed) before the next."),
        tables=[Table({"request": "request", "bare": "bare boto3 calls", "samples": "samples",
                       "app_ms": "app median (ms)", "bare_ms": "bare median (ms)",
                       "ratio": "ratio", "app_p90_ms": "app p90 (ms)",
                       "bare_p90_ms": "bare p90 (ms)", "target": "target", "met": "met"}, rows)],
        notes=["The bare calls against in-process moto take milliseconds, not the tens of "
               "milliseconds of a real network round trip, so these ratios overstate the "
               "app's share of a real request."],
        checks=checks,
        data=results,
    )
