"""Sub-job trees at scale: a `demo.fanout` parent with 1,000 and 10,000
children, and a declared three-level tree, under the real state machine in
moto. For each: the time from POST to the parent's end, every AWS call the
app made (hooks on its clients) per child, and the state transitions of the
parent's and a child's execution, from their histories.

For the cost model (issue 23), each call of the fan-outs is told to its
party: the client's (the POST and a GET of the parent), the parent's tasks
(Run, WaitChildren, Finish) or a child's worker; and a smaller fan-out of
PRICE_CHILDREN is run with every written item recorded before and after,
which prices each party's calls of each kind in request units. The 1,000-child
fan-out's units are those per call x its counts (`pricing`).
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from bench.cascade import labelled_worker, name_of
from bench.counting import Call, CallCounter, MultiItemImages
from bench.dynamo_units import TableShape, call_read_units, multi_write_units, write_units
from bench.local_aws import LocalAws, local_aws
from bench.section import Check, Section, Table
from bench.transitions import billed_transitions, execution_history

FAN_OUTS = (1_000, 10_000)
QUICK_FAN_OUTS = (1_000, 2_000)
MIDDLE, LEAVES = 10, 10  # the three-level tree: 1 root, 10 parents, 100 leaves
HISTORY_LIMIT = 25_000  # Step Functions' events per execution
PARENT_TRANSITIONS_TARGET = 3  # Run, WaitChildren, Finish: nothing per child
WRITES = ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems")
PRICE_CHILDREN = 100  # the fan-out whose writes are recorded with their items
PRICE_TIMEOUT = 300.0

# Who made a call (the worker's invocations are labelled `task:job_id`).
CLIENT = "client: POST /jobs, one GET of the parent"
PARENT = "parent's tasks (Run, WaitChildren, Finish)"
CHILD = "children's workers"
OTHER = "other threads"
PARTIES = (CLIENT, PARENT, CHILD)


def run(context: Any) -> Section:
    sizes = QUICK_FAN_OUTS if context.quick else FAN_OUTS
    with local_aws() as aws:
        # First, so the block of job numbers its POST reserves is priced too
        # (the process's first POST reserves; the next ones use that block).
        units = units_per_call(aws)
        counter = CallCounter(aws.app_clients())
        with labelled_worker(aws, counter), counter.attached():
            fan_outs = [fan_out(aws, counter, size) for size in sizes]
            tree = three_levels(aws, counter)
    section = build_section(fan_outs, tree)
    section.data["pricing"] = pricing(fan_outs[0], units)
    return section


def fan_out(aws: LocalAws, counter: CallCounter, children: int) -> dict[str, Any]:
    counter.clear()
    started = time.time()
    with counter.phase(CLIENT):
        job_id = aws.submit("demo.fanout", {"count": children})
    status, stopped = aws.wait_for_end(job_id, timeout=900)
    seconds = (stopped or time.time()) - started
    with counter.phase(CLIENT):
        job = aws.request("GET", f"/jobs/{job_id}?children=none").body
    calls = counter.calls()
    if job["state"] != "SUCCESS" or job["result"]["index_sum"] != sum(range(children)):
        raise RuntimeError(f"fan-out of {children} ended {job['state']}: {job.get('error')}")
    first_child = aws.request("GET", f"/jobs/{job_id}/children?limit=1").body["records"][0]
    return {
        "children": children, "seconds": seconds, "execution": status,
        "per_child_ms": 1000 * seconds / children,
        "calls": per_child(calls, children),
        "by_party": by_party(calls, job_id),
        "parent": transitions_of(aws, job_id),
        "child": transitions_of(aws, first_child["id"]),
    }


def three_levels(aws: LocalAws, counter: CallCounter) -> dict[str, Any]:
    """A declared tree whose leaves run on Standard (demo.sleep is long_running),
    so every level's transitions are billed and measured."""
    counter.clear()
    leaf = {"method": "demo.sleep", "params": {"seconds": 0, "steps": 1}}
    body = {"method": "demo.group", "params": {}, "children": [
        {"method": "demo.group", "children": [leaf] * LEAVES} for _ in range(MIDDLE)]}
    started = time.time()
    answer = aws.request("POST", "/jobs", body)
    root_id = answer.body["id"]
    status, stopped = aws.wait_for_end(root_id, timeout=600)
    seconds = (stopped or time.time()) - started
    root = aws.request("GET", f"/jobs/{root_id}?children=tree&depth=2").body
    if root["state"] != "SUCCESS":
        raise RuntimeError(f"three-level tree ended {root['state']}: {root.get('error')}")
    middle = root["children"][0]
    jobs = 1 + MIDDLE + MIDDLE * LEAVES
    return {
        "jobs": jobs, "seconds": seconds, "execution": status,
        "calls": per_child(counter.calls(), jobs - 1),
        "root": transitions_of(aws, root_id),
        "middle": transitions_of(aws, middle["id"]),
        "leaf": transitions_of(aws, middle["children"][0]["id"]),
    }


def per_child(calls: list[Call], children: int) -> dict[str, Any]:
    by_name = Counter(f"{call.service}:{call.operation}" for call in calls)
    writes = sum(n for name, n in by_name.items() if name.split(":")[1] in WRITES)
    return {
        "by_operation": dict(sorted(by_name.items())),
        "dynamodb_writes": writes,
        "dynamodb_writes_per_child": writes / children,
        "stepfunctions_per_child": sum(
            n for name, n in by_name.items() if name.startswith("stepfunctions:")) / children,
        "total_per_child": len(calls) / children,
    }


def party_of(label: str, parent_id: str) -> str:
    if label == CLIENT:
        return CLIENT
    if ":" not in label:
        return OTHER
    return PARENT if label.split(":", 1)[1] == parent_id else CHILD


def by_party(calls: list[Call], parent_id: str) -> dict[str, dict[str, int]]:
    """{party: {service:operation: count}}."""
    counts: dict[str, Counter[str]] = {}
    for call in calls:
        counts.setdefault(party_of(call.label, parent_id), Counter())[name_of(call)] += 1
    return {party: dict(sorted(c.items())) for party, c in counts.items()}


# -- request units per call, from a fan-out whose writes are recorded with their items --


def units_per_call(aws: LocalAws) -> dict[str, dict[str, dict[str, float]]]:
    """{party: {service:operation: {"wru", "rru"}}} per call, averaged over a
    fan-out of PRICE_CHILDREN. A transaction's table writes cost double (AWS:
    two write units per KB written in a transaction), its index writes as any
    other; a batch is priced item by item."""
    from local.provision import load_template

    shape = TableShape.from_template(load_template())
    counter = CallCounter(aws.app_clients(), images=aws.raw.dynamodb, key_names=shape.keys)
    multi = MultiItemImages(aws.services.clients.dynamodb, aws.raw.dynamodb, shape.keys,
                            label_of=counter.current_label)
    with labelled_worker(aws, counter), counter.attached(), multi.attached():
        with counter.phase(CLIENT):
            job_id = aws.submit("demo.fanout", {"count": PRICE_CHILDREN})
        aws.wait_for_end(job_id, timeout=PRICE_TIMEOUT)
        with counter.phase(CLIENT):
            job = aws.request("GET", f"/jobs/{job_id}?children=none").body
    if job.get("state") != "SUCCESS":
        raise RuntimeError(f"pricing fan-out ended {job.get('state')}: {job.get('error')}")
    totals: dict[tuple[str, str], list[float]] = {}  # (party, operation): [calls, wru, rru]
    for call in counter.calls():
        if call.service != "dynamodb":
            continue
        entry = totals.setdefault((party_of(call.label, job_id), name_of(call)), [0, 0.0, 0.0])
        entry[0] += 1
        entry[1] += single_write_units(call, shape)
        entry[2] += call_read_units(call)
    for operation, label, images in multi.records:
        entry = totals[(party_of(label, job_id), f"dynamodb:{operation}")]
        entry[1] += multi_write_units(operation, images, shape)
    units: dict[str, dict[str, dict[str, float]]] = {}
    for (party, operation), (n, wru, rru) in totals.items():
        units.setdefault(party, {})[operation] = {"wru": wru / n, "rru": rru / n}
    return units


def single_write_units(call: Call, shape: TableShape) -> float:
    if not call.is_write or call.operation in ("TransactWriteItems", "BatchWriteItem"):
        return 0.0
    return float(write_units(call.before, call.after, shape).total)


def pricing(measured: dict[str, Any],
            units: dict[str, dict[str, dict[str, float]]]) -> dict[str, Any]:
    """The measured fan-out's DynamoDB calls x request units per call, by
    party; its Step Functions calls and transitions as counted."""
    rows = []
    for party, counts in measured["by_party"].items():
        for operation, n in counts.items():
            # Step Functions bills executions, not calls (the children's StartExecution
            # calls run in the factory's threads); a DynamoDB call of no party is unpriced.
            unit = {"wru": 0.0, "rru": 0.0} if not operation.startswith("dynamodb:") \
                else None if party == OTHER else units.get(party, {}).get(operation)
            rows.append({"party": party, "operation": operation, "calls": n,
                         "wru": n * unit["wru"] if unit else None,
                         "rru": n * unit["rru"] if unit else None})
    return {"children": measured["children"], "price_children": PRICE_CHILDREN,
            "rows": rows, "parent_transitions": measured["parent"]["billed"],
            "child_runner": measured["child"]["runner"],
            "unpriced": [f"{r['party']}: {r['operation']}" for r in rows if r["wru"] is None]}


def transitions_of(aws: LocalAws, job_id: str) -> dict[str, Any]:
    history = execution_history(aws.raw.stepfunctions, aws.execution_arn(job_id))
    billed = billed_transitions(history)
    item = aws.item(job_id) or {}
    runner = item.get("runner", {}).get("S", "standard")
    return {"runner": runner, "events": len(history), "billed": billed["billed"],
            "states": billed["states"]}


def build_section(fan_outs: list[dict[str, Any]], tree: dict[str, Any]) -> Section:
    rows = [fan_out_row(f) for f in fan_outs]
    rows.append({
        "tree": f"three levels: 1 + {MIDDLE} + {MIDDLE * LEAVES} (declared, Standard leaves)",
        "seconds": round(tree["seconds"], 1),
        "per_child_ms": round(1000 * tree["seconds"] / (tree["jobs"] - 1), 1),
        "writes": round(tree["calls"]["dynamodb_writes_per_child"], 2),
        "sfn": round(tree["calls"]["stepfunctions_per_child"], 2),
        "calls": round(tree["calls"]["total_per_child"], 2),
        "parent": f"{tree['root']['billed']} (root), {tree['middle']['billed']} (middle)",
        "child": f"{tree['leaf']['billed']} ({tree['leaf']['runner']})",
        "history": f"{tree['root']['events']} events",
    })
    largest = fan_outs[-1]
    operations = Table(
        {"operation": "call", "count": f"calls for {largest['children']:,} children",
         "per_child": "per child"},
        [{"operation": name, "count": count, "per_child": round(count / largest["children"], 3)}
         for name, count in largest["calls"]["by_operation"].items()],
        title=f"Every call of the {largest['children']:,}-child fan-out",
    )
    histories = {f["children"]: f["parent"]["events"] for f in fan_outs}
    parent_billed = [f["parent"]["billed"] for f in fan_outs] + [tree["root"]["billed"]]
    return Section(
        name="trees",
        title="Sub-job trees",
        how=("`demo.fanout` parents (their `demo.echo` children run on Express) and a declared "
             "tree of `demo.group` parents with `demo.sleep` leaves (Standard), in-process "
             "under moto with the real state machine; time from POST to the end of the "
             "parent's execution (its stopDate); calls counted by hooks on the app's "
             "clients; transitions from `get_execution_history` (billed = `*StateEntered` "
             "+ Task retries)."),
        tables=[
            Table({"tree": "tree", "seconds": "seconds", "per_child_ms": "ms per child",
                   "writes": "DynamoDB writes per child", "sfn": "Step Functions calls per child",
                   "calls": "AWS calls per child", "parent": "parent transitions",
                   "child": "child transitions", "history": "parent history"}, rows),
            operations,
        ],
        notes=[
            "Per child, on the success path: the parent writes it (BatchWriteItem, 25 a call) "
            "and starts it; the child claims itself (UpdateItem), finishes with a two-item "
            "transaction that also counts it on its parent (TransactWriteItems: 2 write "
            "units per item), and reads its parent once to see whether it was the last "
            "(GetItem). The aggregate reads the children back by id (BatchGetItem, 100 a "
            "call). The parent's own calls are a handful whatever the number of children.",
            "An Express child bills per execution, not per transition; its history is shown "
            "for the states it entered.",
            "Times are of one local process (moto, its interpreter and our worker sharing "
            "one GIL, with local/moto_speedups.py applied): they catch regressions, they say "
            "nothing about AWS.",
            f"Parent execution history: {histories} events by number of children: it does "
            "not grow with the children (Step Functions' limit is 25,000 events).",
        ],
        checks=[
            Check("parent history does not grow with children", "same size",
                  str(histories), len(set(histories.values())) == 1),
            Check("parent transitions", f"= {PARENT_TRANSITIONS_TARGET}, whatever the children",
                  str(parent_billed),
                  all(b == PARENT_TRANSITIONS_TARGET for b in parent_billed)),
            Check("Standard child transitions", "1", str(tree["leaf"]["billed"]),
                  tree["leaf"]["billed"] == 1),
        ],
        data={"fan_outs": fan_outs, "three_levels": tree},
    )


def fan_out_row(f: dict[str, Any]) -> dict[str, Any]:
    return {
        "tree": f"fan-out of {f['children']:,} (demo.fanout)",
        "seconds": round(f["seconds"], 1),
        "per_child_ms": round(f["per_child_ms"], 1),
        "writes": round(f["calls"]["dynamodb_writes_per_child"], 2),
        "sfn": round(f["calls"]["stepfunctions_per_child"], 2),
        "calls": round(f["calls"]["total_per_child"], 2),
        "parent": f"{f['parent']['billed']} ({' -> '.join(f['parent']['states'])})",
        "child": f"{f['child']['billed']} states entered ({f['child']['runner']})",
        "history": f"{f['parent']['events']} events",
    }
