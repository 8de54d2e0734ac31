"""The cascade of a cancel (issue 14): a parent with 1,000 running children
is cancelled through `POST /jobs/{id}/cancel`; how long until the parent
answers ABORTED, until every child's record is ABORTED, and until every
child's execution has ended, and every AWS call that followed the cancel.

The children are `demo.sleep` (abortable, long_running: Standard executions)
sleeping 900 s in 90 steps, so a child reports progress every 10 s and
learns of the cancel at its next report. The cancel comes once every child
is RUNNING (the demanding case: each abort keeps the child in the active
index until its handler has stopped).

What happens, and what is timed (from just before the POST):
  - the cancel writes the parent ABORTED and sends the token it waits on
    (the POST's latency; its body must say ABORTED);
  - the parent's Finish task (in moto's interpreter) reads the children and
    aborts each one not yet finished, one transaction a child (the child,
    and its count on the parent): `every record ABORTED` is the latest
    `time_finished` of the children (the app's clock, milliseconds), and
    `cascade ended` the stopDate of the parent's execution;
  - each child's handler learns of it through its next progress write (which
    is refused), returns, and its worker drops it from the active index:
    `every execution ended` is the latest stopDate of the children's.
`still not terminal at the answer` counts the children whose record turned
ABORTED after the POST answered (from their `time_finished`, so reading them
does not shift it), and, as a check, those a read right after the answer saw
unfinished. The Finish task's CPU time (its thread's) is taken too: the wall
time depends on whatever else the machine runs, the CPU time much less.

Calls are counted by hooks on the app's clients (bench/counting.py), from
the cancel on; each worker invocation is labelled with its job and task
(the worker is wrapped at local/seam.py's one seam), so the API's, the
cascade's and each child's calls are told apart. A child's progress writes
before the refused one are its ordinary work, not the cancel's: reported
apart.

Request units for the cost model (bench/cost.py) come from a second, small
cancel (PRICE_CHILDREN children) whose writes are recorded with the item
before and after (transactions by counting.MultiItemImages): units per call,
times the counts of the 1,000-child cancel.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from bench.counting import Call, CallCounter, Images, MultiItemImages
from bench.dynamo_units import TableShape, multi_write_units, read_units, write_units
from bench.local_aws import LocalAws, local_aws
from bench.section import Check, Section, Table
from chalicelib import tree
from chalicelib.clock import from_iso

CHILDREN = 1_000
QUICK_CHILDREN = 200
SLEEP = {"seconds": 900, "steps": 90}  # a progress write every 10 s
REPORT_SECONDS = SLEEP["seconds"] / SLEEP["steps"]
PRICE_CHILDREN = 3
PRICE_SLEEP = {"seconds": 300, "steps": 150}  # learns within 2 s (the handler writes itself)
PRICE_TIMEOUT = 60.0
START_TIMEOUT = 300.0  # every child RUNNING
END_TIMEOUT = 300.0  # the cascade, then every child's execution
BATCH = 100  # BatchGetItem's limit
TERMINAL = frozenset({"SUCCESS", "FAILED", "ABORTED"})

# Who made the calls that followed the cancel.
API = "cancel request (API)"
CASCADE = "cascade (parent's Finish task)"
PARENT_OTHER = "parent, other tasks"
LEARNS = "child learns of it (refused progress write)"
AFTER = "child after it learnt (worker)"
CAUSED = (API, CASCADE, PARENT_OTHER, LEARNS, AFTER)
ORDINARY = "child progress before it learnt (not the cancel's)"
OTHER = "other threads"
BENCH = "the bench's own GET"
KINDS = (*CAUSED, ORDINARY, OTHER)


def run(context: Any) -> Section:
    children = QUICK_CHILDREN if context.quick else CHILDREN
    with local_aws() as aws:
        counter = CallCounter(aws.app_clients())
        cpu: dict[str, float] = {}
        with labelled_worker(aws, counter, cpu), counter.attached():
            figures = cancel_cascade(aws, counter, cpu, children)
        figures["pricing"] = pricing_run(aws, figures["calls"])
    return build_section(figures)


# -- labelling the worker's invocations ---------------------------------------


@contextmanager
def labelled_worker(aws: LocalAws, counter: CallCounter,
                    cpu: dict[str, float] | None = None) -> Iterator[None]:
    """Route the state machine's worker invocations through a wrapper that
    labels the invoking thread `task:job_id` for the counter (the handler runs
    in that thread) and notes the CPU time of each Finish task in `cpu`; the
    plain worker is put back afterwards."""
    import app as job_app
    from local import seam

    worker = job_app.worker

    def labelled(event: dict[str, Any], lambda_context: Any) -> Any:
        ident = threading.get_ident()
        label = f"{event.get('action', 'run')}:{event.get('job_id', '')}"
        counter.label_thread(ident, label)
        started = time.thread_time()
        try:
            return worker(event, lambda_context)
        finally:
            counter.unlabel_thread(ident)
            if cpu is not None and label.startswith("finish:"):
                cpu[label] = cpu.get(label, 0.0) + time.thread_time() - started

    seam.install({aws.provisioned.worker_function: labelled})
    try:
        yield
    finally:
        seam.install({aws.provisioned.worker_function: worker})


# -- the run --------------------------------------------------------------------


def submit_parent(aws: LocalAws, children: int, sleep: dict[str, Any]) -> tuple[str, list[str]]:
    leaf = {"method": "demo.sleep", "params": sleep}
    answer = aws.request("POST", "/jobs", {"method": "demo.group", "params": {},
                                           "children": [leaf] * children})
    if answer.status != 202:
        raise RuntimeError(f"POST /jobs answered {answer.status}: {answer.body}")
    parent_id = str(answer.body["id"])
    return parent_id, [tree.child_id(parent_id, n) for n in range(children)]


def cancel_cascade(aws: LocalAws, counter: CallCounter, cpu: dict[str, float],
                   children: int) -> dict[str, Any]:
    spawn_started = time.time()
    parent_id, child_ids = submit_parent(aws, children, SLEEP)
    wait_until_waiting(aws, parent_id, child_ids, START_TIMEOUT)
    spawn_seconds = time.time() - spawn_started

    counter.clear()
    counter.default_label = OTHER
    load_before = os.getloadavg()
    with counter.phase(API):
        started = time.time()
        cancel = aws.request("POST", f"/jobs/{parent_id}/cancel")
        answered = time.time()
    snapshot = states_of(aws, child_ids)  # right after the answer
    snapshot_taken = time.time()
    if cancel.status != 200 or cancel.body.get("state") != "ABORTED":
        raise RuntimeError(f"cancel answered {cancel.status}: {cancel.body}")
    with counter.phase(BENCH):
        seen = aws.request("GET", f"/jobs/{parent_id}?children=none").body["state"]

    parent_status, parent_stopped = aws.wait_for_end(parent_id, timeout=END_TIMEOUT)
    load_after = os.getloadavg()
    deadline = time.monotonic() + END_TIMEOUT
    child_ends = [aws.wait_for_end(child, timeout=max(1.0, deadline - time.monotonic()))
                  for child in child_ids]
    calls = counter.calls()
    counter.default_label = OTHER
    records = states_of(aws, child_ids)
    parent = aws.request("GET", f"/jobs/{parent_id}?children=none").body

    not_aborted = Counter(r["state"] for r in records.values() if r["state"] != "ABORTED")
    if not_aborted or len(records) != children:
        raise RuntimeError(f"after the cascade: {dict(not_aborted)} of {len(records)} children "
                           "not ABORTED")
    finished = sorted(from_iso(r["time_finished"]) for r in records.values())
    stops = sorted(stopped for _, stopped in child_ends if stopped is not None)
    finish_cpu = cpu.get(f"finish:{parent_id}")
    return {
        "children": children,
        "child_method": f"demo.sleep {SLEEP}",
        "spawn_seconds": spawn_seconds,
        "answer_seconds": answered - started,
        "answer_state": cancel.body["state"],
        "state_read_after": seen,
        "first_abort_seconds": finished[0] - started,
        "all_aborted_seconds": finished[-1] - started,
        "abort_span_seconds": finished[-1] - finished[0],
        "cascade_ended_seconds": (parent_stopped or time.time()) - started,
        "cascade_cpu_seconds": finish_cpu,
        "parent_execution": parent_status,
        "all_executions_ended_seconds": (stops[-1] - started) if stops else None,
        "child_executions": dict(Counter(status for status, _ in child_ends)),
        "active_at_answer": sum(t > answered for t in finished),
        "active_in_read_after": sum(r["state"] not in TERMINAL for r in snapshot.values()),
        "read_after_seconds": snapshot_taken - answered,
        "parent_summary": parent.get("children_summary"),
        "parent_error": parent.get("error"),
        "load_average": {"before": [round(x, 2) for x in load_before],
                         "after_cascade": [round(x, 2) for x in load_after]},
        "calls": call_counts(split(calls, parent_id), children),
    }


def wait_until_waiting(aws: LocalAws, parent_id: str, child_ids: list[str],
                       timeout: float) -> None:
    """Every child RUNNING and the parent waiting for them (its token stored):
    the state a cancel of a busy parent meets."""
    deadline = time.monotonic() + timeout
    wait_for_states(aws, child_ids, {"RUNNING"}, timeout)
    while "wait_token" not in (aws.item(parent_id) or {}):
        if time.monotonic() > deadline:
            raise TimeoutError(f"parent {parent_id} not waiting after {timeout:.0f} s")
        time.sleep(0.05)


def wait_for_states(aws: LocalAws, job_ids: list[str], wanted: set[str],
                    timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        states = Counter(r["state"] for r in states_of(aws, job_ids).values())
        if sum(states[s] for s in wanted) == len(job_ids):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"children still {dict(states)} after {timeout:.0f} s")
        time.sleep(1.0 if len(job_ids) > 10 else 0.05)


def states_of(aws: LocalAws, job_ids: list[str]) -> dict[str, dict[str, str]]:
    """{id: {state, time_finished}}, read through the bench's own (uncounted) client."""
    found: dict[str, dict[str, str]] = {}
    table = aws.provisioned.table_name
    for start in range(0, len(job_ids), BATCH):
        pending: dict[str, Any] = {table: {
            "Keys": [{"id": {"S": i}} for i in job_ids[start:start + BATCH]],
            "ConsistentRead": True,
            "ProjectionExpression": "id, #s, time_finished",
            "ExpressionAttributeNames": {"#s": "state"}}}
        while pending:
            answer = aws.raw.dynamodb.batch_get_item(RequestItems=pending)
            for item in answer["Responses"].get(table, []):
                found[item["id"]["S"]] = {
                    "state": item["state"]["S"],
                    "time_finished": item.get("time_finished", {}).get("S", "")}
            pending = answer.get("UnprocessedKeys") or {}
    return found


# -- what the calls were ----------------------------------------------------------


def split(calls: list[Call], parent_id: str) -> dict[str, list[Call]]:
    """The calls after the cancel by who made them (KINDS). A child's calls,
    in order: its ordinary progress writes, then the first refused call (how
    it learns), then what its worker does after."""
    kinds: dict[str, list[Call]] = {kind: [] for kind in KINDS}
    by_child: dict[str, list[Call]] = {}
    for call in calls:
        if call.label == BENCH:
            continue
        if call.label == API:
            kinds[API].append(call)
        elif ":" not in call.label:
            kinds[OTHER].append(call)
        else:
            task, job_id = call.label.split(":", 1)
            if job_id == parent_id:
                kinds[CASCADE if task == "finish" else PARENT_OTHER].append(call)
            else:
                by_child.setdefault(job_id, []).append(call)
    for own in by_child.values():
        learnt = False
        for call in sorted(own, key=lambda c: c.started):
            if not learnt and call.status >= 400:
                learnt = True
                kinds[LEARNS].append(call)
            else:
                kinds[AFTER if learnt else ORDINARY].append(call)
    return kinds


def call_counts(kinds: dict[str, list[Call]], children: int) -> dict[str, Any]:
    """{kind: {service:operation: count}}, and the caused ones in all and per child."""
    counts = {kind: dict(sorted(Counter(name_of(c) for c in calls).items()))
              for kind, calls in kinds.items()}
    caused: Counter[str] = Counter()
    for kind in CAUSED:
        caused.update(counts[kind])
    return {
        "by_kind": counts,
        "caused": dict(sorted(caused.items())),
        "caused_total": sum(caused.values()),
        "caused_per_child": sum(caused.values()) / children,
        "children_that_learnt": len(kinds[LEARNS]),
    }


def name_of(call: Call) -> str:
    return f"{call.service}:{call.operation}"


# -- request units, from a small cancel whose writes are recorded with their items ----


def pricing_run(aws: LocalAws, counts: dict[str, Any]) -> dict[str, Any]:
    """Request units per call of each kind, from a cancel of PRICE_CHILDREN
    running children whose writes are recorded with their items; then the
    units of the measured cancel: these per call x its call counts."""
    from local.provision import load_template

    shape = TableShape.from_template(load_template())
    counter = CallCounter(aws.app_clients(), images=aws.raw.dynamodb, key_names=shape.keys)
    transactions = MultiItemImages(aws.services.clients.dynamodb, aws.raw.dynamodb,
                                   shape.keys)
    with labelled_worker(aws, counter), counter.attached(), transactions.attached():
        parent_id, child_ids = submit_parent(aws, PRICE_CHILDREN, PRICE_SLEEP)
        wait_until_waiting(aws, parent_id, child_ids, START_TIMEOUT)
        counter.clear()
        transactions.clear()
        counter.default_label = OTHER
        with counter.phase(API):
            cancel = aws.request("POST", f"/jobs/{parent_id}/cancel")
        if cancel.status != 200 or cancel.body.get("state") != "ABORTED":
            raise RuntimeError(f"pricing: cancel answered {cancel.status}: {cancel.body}")
        aws.wait_for_end(parent_id, timeout=PRICE_TIMEOUT)
        for child in child_ids:
            aws.wait_for_end(child, timeout=PRICE_TIMEOUT)
        kinds = split(counter.calls(), parent_id)
        child_items = [aws.item(child) for child in child_ids]
    if len(kinds[LEARNS]) != PRICE_CHILDREN:
        learnt = {kind: [name_of(c) for c in calls] for kind, calls in kinds.items() if calls}
        raise RuntimeError(f"pricing: not every child learnt of the cancel: {learnt}")
    return price_kinds(kinds, transactions.transactions, child_items, shape, counts)


def price_kinds(kinds: dict[str, list[Call]], transactions: list[Images],
                child_items: list[dict[str, Any] | None], shape: TableShape,
                counts: dict[str, Any]) -> dict[str, Any]:
    """Write and read units per call of each kind and operation, from the
    recorded items. A transaction's table writes cost double (AWS: two write
    units per KB written in a transaction); the index writes that follow it
    cost as any other. A BatchGetItem is priced per item it reads (each
    child once, consistently), not per call."""
    per_call: dict[str, dict[str, dict[str, float]]] = {}
    for kind in CAUSED:
        totals: dict[str, list[float]] = {}  # operation: [calls, wru, rru]
        for call in kinds[kind]:
            if call.operation in ("TransactWriteItems", "BatchGetItem"):
                continue  # below
            wru = float(write_units(call.before, call.after, shape).total) if call.is_write \
                else 0.0
            rru = read_units(call.item, call.consistent_read) \
                if call.operation == "GetItem" else 0.0
            entry = totals.setdefault(name_of(call), [0, 0.0, 0.0])
            entry[0] += 1
            entry[1] += wru
            entry[2] += rru
        per_call[kind] = {op: {"wru": wru / n, "rru": rru / n}
                          for op, (n, wru, rru) in totals.items()}
    if transactions:
        units = [multi_write_units("TransactWriteItems", tx, shape) for tx in transactions]
        per_call[CASCADE]["dynamodb:TransactWriteItems"] = {"wru": sum(units) / len(units),
                                                            "rru": 0.0}
    items = [item for item in child_items if item is not None]
    per_child_read = sum(read_units(item, True) for item in items) / max(1, len(items))
    return units_of(per_call, per_child_read, counts)


def units_of(per_call: dict[str, dict[str, dict[str, float]]], per_child_read: float,
             counts: dict[str, Any]) -> dict[str, Any]:
    """Units per call x the calls the measured cancel made, by kind and operation;
    its BatchGetItems read every child once."""
    children = round(counts["caused_total"] / counts["caused_per_child"]) \
        if counts["caused_per_child"] else 0
    rows = []
    for kind in CAUSED:
        for op, n in counts["by_kind"].get(kind, {}).items():
            if op == "dynamodb:BatchGetItem":
                unit: dict[str, float] | None = {"wru": 0.0, "rru": per_child_read * children / n}
            else:
                unit = per_call.get(kind, {}).get(op)
            if op.startswith("stepfunctions:"):
                unit = {"wru": 0.0, "rru": 0.0}  # Step Functions bills transitions, not calls
            rows.append({"kind": kind, "operation": op, "calls": n,
                         "wru_per_call": unit["wru"] if unit else None,
                         "rru_per_call": unit["rru"] if unit else None,
                         "wru": n * unit["wru"] if unit else None,
                         "rru": n * unit["rru"] if unit else None})
    priced = [r for r in rows if r["wru"] is not None]
    return {"rows": rows, "children": children, "read_units_per_child_item": per_child_read,
            "write_units": sum(r["wru"] for r in priced),
            "read_units": sum(r["rru"] for r in priced),
            "unpriced": [f"{r['kind']}: {r['operation']}" for r in rows if r["wru"] is None]}


# -- the section --------------------------------------------------------------------


def build_section(f: dict[str, Any]) -> Section:
    n = f["children"]
    calls = f["calls"]
    cpu = f["cascade_cpu_seconds"]
    timing = Table(
        {"what": "after the cancel was sent", "seconds": "seconds",
         "per_child_ms": "ms per child"},
        [
            {"what": f"the cancel answers: the parent {f['answer_state']} (a GET right after: "
                     f"{f['state_read_after']})", "seconds": f["answer_seconds"]},
            {"what": "the first child's record ABORTED", "seconds": f["first_abort_seconds"]},
            {"what": f"every child's record ABORTED ({n:,})", "seconds":
             f["all_aborted_seconds"], "per_child_ms": 1000 * f["abort_span_seconds"] / n},
            {"what": "the cascade's task ended (the parent's execution)", "seconds":
             f["cascade_ended_seconds"]},
            {"what": "CPU time of the cascade's task (its thread)", "seconds": cpu,
             "per_child_ms": 1000 * cpu / n if cpu is not None else None},
            {"what": "every child's execution ended (each learns at its next progress "
                     f"write, every {REPORT_SECONDS:.0f} s)",
             "seconds": f["all_executions_ended_seconds"]},
        ],
        title=f"Cancel of a parent with {n:,} RUNNING children",
    )
    kinds = calls["by_kind"]
    operations = sorted({op for kind in CAUSED for op in kinds[kind]})
    rows: list[dict[str, Any]] = [
        {"operation": op, **{kind: kinds[kind].get(op, 0) for kind in CAUSED},
         "total": calls["caused"].get(op, 0),
         "per_child": round(calls["caused"].get(op, 0) / n, 3)} for op in operations]
    rows.append({"operation": "total", **{kind: sum(kinds[kind].values()) for kind in CAUSED},
                 "total": calls["caused_total"],
                 "per_child": round(calls["caused_per_child"], 3)})
    call_table = Table({"operation": "call", **{kind: kind for kind in CAUSED},
                        "total": "total", "per_child": "per child"}, rows,
                       title="Every AWS call the cancel caused")
    ordinary = sum(kinds[ORDINARY].values())
    others = sum(kinds[OTHER].values())
    pricing = f.get("pricing") or {}
    load = f["load_average"]
    return Section(
        name="cascade",
        title="Cascade of a cancel",
        how=(f"a declared `demo.group` parent with {n:,} `demo.sleep` children (Standard, "
             f"{REPORT_SECONDS:.0f} s between progress writes), in-process under moto with the "
             "real state machine; once every child is RUNNING, `POST /jobs/{id}/cancel`; "
             "records read by the bench's own client, times from the children's "
             "`time_finished` and the executions' stopDate; calls counted by hooks on the "
             "app's clients, each worker invocation labelled with its job and task."),
        tables=[timing, call_table],
        notes=[
            f"Still not terminal when the cancel answered: {f['active_at_answer']:,} of "
            f"{n:,} children (their record turned ABORTED after the answer); a read "
            f"{1000 * f['read_after_seconds']:.0f} ms after the answer saw "
            f"{f['active_in_read_after']:,} unfinished. The cancel answers once the parent is "
            "ABORTED and its token sent; the parent's Finish task then aborts the children, "
            "one transaction each, one after another.",
            "Per child, the cancel costs one TransactWriteItems in the cascade (the child's "
            "abort and its count on the parent), a hundredth of a BatchGetItem (the cascade "
            "reads the children 100 at a time), the child's refused progress write (one it "
            "would have made anyway: only its outcome changes) and the write by which its "
            "worker drops it from the active index once its handler has stopped. The "
            "parent's own calls (the cancel's read, abort and wake; the Finish task's read "
            "and release) do not grow with the children.",
            f"Not the cancel's, not counted above: {ordinary:,} ordinary progress writes the "
            f"children made before they learnt, and {others:,} calls from other threads.",
            f"Children whose handler learnt of the cancel: {calls['children_that_learnt']:,}; "
            f"their executions: {f['child_executions']}; the parent's: "
            f"{f['parent_execution']}; its summary afterwards: {f['parent_summary']}.",
            f"Request units of the cancel (priced in the cost section): "
            f"{pricing.get('write_units', 0):,.0f} WRU and {pricing.get('read_units', 0):,.0f} "
            f"RRU, from a cancel of {PRICE_CHILDREN} children recorded with their items.",
            f"Getting every child RUNNING first took {f['spawn_seconds']:.0f} s (not part of "
            "the figures).",
            "Times are of one local process (moto's interpreter, the sleeping handlers, their "
            "progress writes and the cascade share one GIL; load average "
            f"{load['before'][0]:.1f} before the cancel, {load['after_cascade'][0]:.1f} after "
            "the cascade, on this shared machine): they catch regressions, they say nothing "
            "about AWS, where each transaction is a network round trip.",
        ],
        checks=[
            Check("cancel of a 1,000-child parent answers", "ABORTED, children aborted after",
                  f"{f['answer_state']} in {f['answer_seconds']:.2f} s, "
                  f"{f['active_at_answer']:,} children then unfinished",
                  f["answer_state"] == "ABORTED" and f["state_read_after"] == "ABORTED"),
            Check("cascade aborts every child", f"{n:,} ABORTED",
                  f"{n:,} ABORTED {f['all_aborted_seconds']:.1f} s after the cancel", True),
        ],
        data=f,
    )
