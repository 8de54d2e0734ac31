"""Calls per operation, counted exactly with botocore hooks on the app's clients.

A leaf job of the bench-only method `bench.phases` is submitted through the
Chalice app (in-process, against moto), runs under the real state machine,
and is read back once. Its calls are split into create, claim, progress,
finish and get (see bench.counting and bench.methods). Operations that do
not exist yet are rows marked n/a with the issue that will add them: adding
one is a function that returns its calls, plus an entry in OPERATIONS.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench import methods
from bench.counting import UNLABELLED, Call, CallCounter, summarize
from bench.dynamo_units import (
    TableShape,
    WriteUnits,
    call_read_units,
    item_size,
    write_units,
)
from bench.floors import progress_floor
from bench.local_aws import LocalAws, local_aws
from bench.section import Check, Section, Table
from chalicelib.wiring import services

PROGRESS_INTERVAL = 1.0  # the app's default (JOBS_PROGRESS_INTERVAL)
REPORTS = 3
SPREAD_GAP = 1.1 * PROGRESS_INTERVAL
# Offline minimum writes for the two progress cases (bench.floors).
BURST_FLOOR = progress_floor([0.0] * REPORTS, 0.0, PROGRESS_INTERVAL)
SPREAD_TIMES = [n * SPREAD_GAP for n in range(REPORTS)]
SPREAD_FLOOR = progress_floor(SPREAD_TIMES, SPREAD_TIMES[-1], PROGRESS_INTERVAL)
PHASES = ("create", "claim", "progress", "finish", "get")


@dataclass(frozen=True)
class Operation:
    key: str
    label: str
    floor: str  # the least any design could do, in words
    floor_calls: int | None
    target: str = "-"
    # Given this operation's figures, is the target met? None: no target.
    meets: Callable[[dict[str, Any]], bool] | None = None
    pending: str | None = None  # "issue N" while the operation does not exist


OPERATIONS = (
    Operation("create", "create (POST /jobs)", "1 write + 1 StartExecution", 2,
              "<= 1 write + 1 StartExecution",
              lambda f: f["dynamodb_writes"] <= 1 and f["dynamodb_reads"] == 0
              and f["stepfunctions_calls"] <= 1 and f["total_calls"] <= 2),
    Operation("get", "get (GET /jobs/{id})", "1 read", 1, "= 1 read",
              lambda f: f["dynamodb_reads"] == 1 and f["total_calls"] == 1),
    Operation("list_page", "list page (GET /jobs?state=SUCCESS)", "1 Query", 1,
              "1-2 Queries, 0 Scans",
              lambda f: 1 <= f["calls_by_name"].get("Query", 0) <= 2
              and f["calls_by_name"].get("Scan", 0) == 0),
    Operation("claim", "claim (worker: WAITING -> RUNNING)", "1 write", 1),
    Operation("progress_burst", f"progress: {REPORTS} reports at once, then finish",
              f"{BURST_FLOOR} writes (the finish carries them)", BURST_FLOOR,
              "<= 1 write per second", lambda f: f["dynamodb_writes"] <= 1),
    Operation("progress_spread",
              f"progress: {REPORTS} reports {SPREAD_GAP:g} s apart, then finish",
              f"{SPREAD_FLOOR} writes (each report seen within {PROGRESS_INTERVAL:g} s; "
              "the finish carries the last)", SPREAD_FLOOR, "<= 1 write per second",
              # Reports more than an interval apart may each be written once.
              lambda f: f["dynamodb_writes"] <= REPORTS),
    Operation("finish", "finish (worker: RUNNING -> SUCCESS)", "1 write", 1),
    Operation("cancel", "cancel a running job (POST /jobs/{id}/cancel)",
              "1 write (StopExecution only for a handler that ignores it)", 1,
              "<= 1 read + 1 write", lambda f: f["dynamodb_writes"] <= 1
              and f["dynamodb_reads"] <= 1 and f["stepfunctions_calls"] == 0),
    Operation("download_claim", "download claim (GET /_download/{id}?auth_token=T)",
              "1 conditional write (once-only needs a write; presigning makes no call)", 1,
              "1 write + 1 SendTaskSuccess, no read, no S3 call",
              lambda f: f["dynamodb_writes"] == 1 and f["dynamodb_reads"] == 0
              and f["stepfunctions_calls"] <= 1 and f["s3_calls"] == 0),
)


def run(context: Any) -> Section:
    repeats = 2 if context.quick else 3
    with local_aws(progress_interval=PROGRESS_INTERVAL) as aws:
        from local.provision import load_template

        shape = TableShape.from_template(load_template())
        counter = CallCounter(aws.app_clients(), images=aws.raw.dynamodb, key_names=shape.keys)
        with counter.attached():
            bursts = [run_leaf_job(aws, counter, gap=0.0) for _ in range(repeats)]
            spread = run_leaf_job(aws, counter, gap=SPREAD_GAP)
        with counter.attached():
            extra = {"list_page": list_page(aws, counter), "cancel": cancel(aws, counter),
                     "download_claim": download_claim(aws, counter)}
    figures = {name: operation_figures(calls, shape) for name, calls in bursts[0].items()}
    figures.update({name: operation_figures(calls, shape) for name, calls in extra.items()})
    figures["progress_burst"] = figures.pop("progress")
    figures["progress_spread"] = operation_figures(spread["progress"], shape)
    stable = all(counts_of(run_) == counts_of(bursts[0]) for run_ in bursts)
    return build_section(figures, stable, repeats)


def run_leaf_job(aws: LocalAws, counter: CallCounter, gap: float) -> dict[str, list[Call]]:
    """One bench.phases job, submitted, run and read once; its calls by phase.
    The process's block of job numbers is reserved first: one write per 100
    jobs (chalicelib.numbering) is no part of a job's own calls."""
    services().numbers.take("default")
    counter.clear()
    counter.default_label = "claim"  # the worker's first calls, in moto's thread
    handler_threads: list[int] = []

    def on_handler(event: str) -> None:
        if event == methods.HANDLER_STARTED:
            counter.default_label = "progress"  # the handler's and any timer thread's
        else:
            handler_threads.append(threading.get_ident())
            counter.label_thread(handler_threads[-1], "finish")

    methods.listen(on_handler)
    try:
        with counter.phase("create"):
            job_id = aws.submit("bench.phases", {"reports": REPORTS, "gap": gap})
        status = aws.wait_for_execution(job_id)
        with counter.phase("get"):
            aws.request("GET", f"/jobs/{job_id}")
    finally:
        methods.listen(None)
        counter.default_label = UNLABELLED
        for ident in handler_threads:
            counter.unlabel_thread(ident)
    if status != "SUCCEEDED" or counter.calls(UNLABELLED):
        raise RuntimeError(f"leaf job ended {status}; unlabelled: {counter.calls(UNLABELLED)}")
    return {phase: counter.calls(phase) for phase in PHASES}


def list_page(aws: LocalAws, counter: CallCounter) -> list[Call]:
    """One page of the jobs the leaf runs left, on the by_tenant_state index."""
    counter.clear()
    with counter.phase("list_page"):
        answer = aws.request("GET", "/jobs?state=SUCCESS&limit=50")
    if answer.status != 200 or not answer.body["records"]:
        raise RuntimeError(f"list page answered {answer.status}: {answer.body}")
    return counter.calls("list_page")


def cancel(aws: LocalAws, counter: CallCounter) -> list[Call]:
    """Cancel a RUNNING demo.sleep; only the API's own calls are the cancel's."""
    job_id = aws.submit("demo.sleep", {"seconds": 30, "steps": 300})
    deadline = time.monotonic() + 30
    while aws.request("GET", f"/jobs/{job_id}").body["state"] != "RUNNING":
        if time.monotonic() > deadline:
            raise TimeoutError("demo.sleep never started")
        time.sleep(0.01)
    counter.clear()
    with counter.phase("cancel"):
        answer = aws.request("POST", f"/jobs/{job_id}/cancel")
    calls = counter.calls("cancel")
    aws.wait_for_execution(job_id)  # the handler notices and returns
    if answer.status != 200 or answer.body["state"] != "ABORTED":
        raise RuntimeError(f"cancel answered {answer.status}: {answer.body}")
    return calls


def download_claim(aws: LocalAws, counter: CallCounter) -> list[Call]:
    """Claim a ready demo.export file: the API's calls from the link to the redirect."""
    answer = aws.request("POST", "/jobs", {"method": "demo.export", "params": {"size": 1000},
                                           "download": {"filename": "bench.bin"}})
    job_id, link = answer.body["id"], answer.body["download_url"]
    deadline = time.monotonic() + 30
    while aws.request("GET", f"/jobs/{job_id}").body["download"]["state"] != "READY":
        if time.monotonic() > deadline:
            raise TimeoutError("demo.export never made its file ready")
        time.sleep(0.01)
    counter.clear()
    with counter.phase("download_claim"):
        claimed = aws.request("GET", f"{link}&wait=0")
    calls = counter.calls("download_claim")
    aws.wait_for_execution(job_id)
    if claimed.status != 302:
        raise RuntimeError(f"the download claim answered {claimed.status}: {claimed.body}")
    return calls


def counts_of(phases: dict[str, list[Call]]) -> dict[str, tuple[str, ...]]:
    return {phase: tuple(f"{c.service}.{c.operation}" for c in calls)
            for phase, calls in phases.items()}


def operation_figures(calls: list[Call], shape: TableShape) -> dict[str, Any]:
    figures = summarize(calls)
    writes = [(call.operation, write_units(call.before, call.after, shape)) for call in calls
              if call.is_write]
    figures["writes"] = [
        {"operation": op, "item_bytes": item_size(call.after or call.before),
         "units": units.to_json(),
         "table_only_units": write_units(call.before, call.after,
                                         shape.without_indexes()).total}
        for (op, units), call in zip(writes, [c for c in calls if c.is_write], strict=True)
    ]
    figures["write_units"] = sum(units.total for _, units in writes)
    figures["write_units_table_only"] = sum(w["table_only_units"] for w in figures["writes"])
    figures["write_units_by_index"] = merge_indexes([units for _, units in writes])
    figures["read_units_by_operation"] = {
        name: sum(call_read_units(c) for c in calls if c.operation == name)
        for name in sorted({c.operation for c in calls if c.is_read})}
    figures["read_units"] = sum(figures["read_units_by_operation"].values())
    figures["query_item_bytes"] = [item_size(item) for call in calls
                                   if call.operation == "Query" for item in call.items or []]
    figures["batch_get_items"] = sum(len(call.items or []) for call in calls
                                     if call.operation == "BatchGetItem")
    figures["read_items_bytes"] = [item_size(call.item) for call in calls
                                   if call.operation == "GetItem"]
    figures["call_seconds"] = sum(call.seconds for call in calls)
    figures["calls_by_name"] = {name: [c.operation for c in calls].count(name)
                                for name in {c.operation for c in calls}}
    return figures


def merge_indexes(units: list[WriteUnits]) -> dict[str, int]:
    merged: dict[str, int] = {}
    for one in units:
        for name, cost in one.indexes.items():
            merged[name] = merged.get(name, 0) + cost
    return merged


# -- the report --------------------------------------------------------------


def build_section(figures: dict[str, dict[str, Any]], stable: bool, repeats: int) -> Section:
    rows, checks = [], []
    for operation in OPERATIONS:
        row, check = operation_row(operation, figures.get(operation.key))
        rows.append(row)
        if check is not None:
            checks.append(check)
    section = Section(
        name="calls",
        title="Calls per operation",
        how=(
            "botocore `provide-client-params`/`after-call` hooks on the app's own clients "
            "(moto's interpreter calls are not counted), a `bench.phases` leaf job through "
            "the Chalice app in-process against moto 5, split by thread into phases; "
            f"create/get/claim/finish identical in {repeats} runs: {stable}."
        ),
        tables=[
            Table(COLUMNS, rows),
            Table(UNIT_COLUMNS, unit_rows(figures), "Write units per write, with the indexes"),
        ],
        notes=[
            "List page: the floor is 1 Query when an index projects every attribute. Ours "
            "projects only attributes a job never changes after its creation (by_tenant_state, "
            "which a job enters when it ends, also what its end sets) and fetches the page's "
            "records with one BatchGetItem: one more call per page, in exchange for claims and "
            "progress writes that touch no index (issue 23).",

            "`moto capacity`: the ConsumedCapacity moto returns for ReturnConsumedCapacity=TOTAL. "
            "It is a constant per operation (1.0 for PutItem, 0.5 for GetItem and UpdateItem), "
            "blind to item size, consistency and indexes, so `request units` is modelled from "
            "the recorded item images by the rules in bench/dynamo_units.py.",
            "`request units`: RRU for reads (strongly consistent GetItem = 1 per 4 KB), WRU for "
            "writes: the table's units plus every global secondary index the write touches.",
            "progress: the first report writes at once; later reports within the interval are "
            "coalesced (a timer flushes the latest), and whatever is pending when the handler "
            "returns is folded into the finishing write for free.",
            "ratio = calls / floor calls (n/a when the floor is 0). The progress floors are "
            "offline minimums (bench/floors.py): knowing when the job will finish, a design "
            "could skip a write the finish is about to make; the app writes a report at once "
            "when the last write is an interval old, so a short job pays one write the floor "
            "does not.",
        ],
        checks=checks,
        data={"operations": figures, "stable_across_runs": stable, "repeats": repeats,
              "progress_interval": PROGRESS_INTERVAL,
              "cost_model_progress": "progress_spread"},
    )
    return section


COLUMNS = {
    "operation": "operation",
    "dynamodb": "DynamoDB reads / writes",
    "calls_made": "calls made",
    "moto_capacity": "moto capacity",
    "units": "request units (model)",
    "stepfunctions": "Step Functions",
    "s3": "S3",
    "calls": "calls",
    "floor": "floor",
    "ratio": "ratio",
    "target": "target",
    "met": "met",
}

UNIT_COLUMNS = {
    "write": "write",
    "item_bytes": "item bytes after",
    "table": "table WRU",
    "indexes": "index WRU (action)",
    "total": "total WRU",
    "table_only": "without indexes",
}


def operation_row(operation: Operation, figures: dict[str, Any] | None
                  ) -> tuple[dict[str, Any], Check | None]:
    row: dict[str, Any] = {"operation": operation.label, "floor": operation.floor,
                           "target": operation.target, "key": operation.key}
    if figures is None:
        row.update(dict.fromkeys(
            ("dynamodb", "calls_made", "moto_capacity", "units", "stepfunctions", "s3",
             "calls", "ratio", "met"), None))
        row["operation"] += f" (not yet implemented: {operation.pending})"
        check = (Check(operation.label, operation.target, "n/a", None)
                 if operation.meets else None)
        return row, check
    made = figures["dynamodb_operations"] + figures["stepfunctions_operations"]
    met = operation.meets(figures) if operation.meets else None
    row.update(
        dynamodb=f"{figures['dynamodb_reads']} / {figures['dynamodb_writes']}",
        calls_made=", ".join(made) or "none",
        moto_capacity=figures["moto_consumed_capacity"],
        units=units_text(figures),
        stepfunctions=figures["stepfunctions_calls"],
        s3=figures["s3_calls"],
        calls=figures["total_calls"],
        ratio=(figures["total_calls"] / operation.floor_calls
               if operation.floor_calls else None),
        met=met,
    )
    check = None
    if operation.meets:
        check = Check(operation.label, operation.target, f"{row['dynamodb']} R/W, "
                      f"{figures['stepfunctions_calls']} SFN, {figures['total_calls']} calls", met)
    return row, check


def units_text(figures: dict[str, Any]) -> str:
    parts = []
    if figures["read_units"]:
        parts.append(f"{figures['read_units']:g} RRU")
    if figures["write_units"]:
        indexes = figures["write_units"] - figures["write_units_table_only"]
        parts.append(f"{figures['write_units']} WRU ({figures['write_units_table_only']} table "
                     f"+ {indexes} indexes)")
    return ", ".join(parts) or "0"


def unit_rows(figures: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for key in ("create", "claim", "progress_spread", "finish"):
        for n, write in enumerate(figures[key]["writes"], start=1):
            units = write["units"]
            rows.append({
                "write": f"{key} #{n} ({write['operation']})",
                "item_bytes": write["item_bytes"],
                "table": units["table"],
                "indexes": ", ".join(f"{name} {cost} ({units['actions'][name]})"
                                     for name, cost in units["indexes"].items()) or "none",
                "total": units["total"],
                "table_only": write["table_only_units"],
            })
    return rows

