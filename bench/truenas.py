"""The TrueNAS face (issue 18): the AWS calls and request units of each
JSON-RPC message a TrueNAS client sends about jobs, of the event function's
answer to a call that waits for its job's end, and what job numbers cost.

Everything runs in-process on moto (as tests/functional/test_truenas_jobs.py):
a connection is driven through app.events_connect / events_message as API
Gateway's WebSocket API calls them, logged in with an API key; the jobs
table's real stream records are handed to app.job_events by
local.streams.deliver_pending; the app's management-API client is moto's
(JOBS_EVENTS_ENDPOINT an execute-api URL). The call counter (bench.counting)
sits on the app's DynamoDB, Step Functions, S3 and management-API clients,
with the items before and after each write (key names of both tables), so
request units are modelled from the items (bench.dynamo_units) with the
indexes of infra/template.yaml (the jobs table's; the watchers table has
none). A hook of our own notes each DynamoDB call's table and the bytes a
Query returned.

Job numbers (chalicelib.numbering): the reservations of a fresh JobNumbers
(a fresh process) handing out 1,000 numbers one job at a time, and a
fan-out's numbering through the real JobFactory (a parent and its 1,000
children built, not written: only the reservations make calls); the
by_number index's share of each write of one job, from its items.

The pure arithmetic (poll counts of a client's schedule) is here too, for
bench/cost.py and tests/bench/test_truenas_arithmetic.py.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from bench.counting import Call, CallCounter
from bench.dynamo_units import READ_UNIT_BYTES, TableShape, read_units, write_units
from bench.local_aws import LocalAws, bench_auth, local_aws, sockets_client
from bench.section import Check, Section, Table

ENDPOINT = "https://benchnas.execute-api.us-east-1.amazonaws.com/api"
TENANT = "default"  # bench.local_aws.bench_auth's tenant: the API key's
NUMBERS_TENANT = "bench-numbers"  # a tenant of its own: its counter starts empty
PROGRESS_INTERVAL = 0.2
SLEEP = {"seconds": 1.0, "steps": 3}  # the legacy call's job: progress writes to price
JOBS_IN_ONE_PROCESS = 1_000
FAN_OUT = 1_000
BACKGROUND = "background"  # the worker's calls (moto's threads), sends on the pool's

# The clients' ways of following a job (their sources, read 2026-11):
# pytruenas 0.7.1 host.py job_updates: poll=0.25, max_poll=2.0, a netimps
# Backoff (x2 per poll, reset when state or progress changed);
# aiotruenas 1.7.0 client.py _wait_for_job: _JOB_POLL_INTERVAL = 1.0.
PYTRUENAS_POLL = 0.25
PYTRUENAS_MAX_POLL = 2.0
PYTRUENAS_MULTIPLIER = 2.0
AIOTRUENAS_POLL = 1.0


# -- arithmetic (tests/bench/test_truenas_arithmetic.py) ----------------------------


def backoff_polls(seconds: float, change_every: float = 1.0, poll: float = PYTRUENAS_POLL,
                  max_poll: float = PYTRUENAS_MAX_POLL,
                  multiplier: float = PYTRUENAS_MULTIPLIER) -> int:
    """core.get_jobs calls of pytruenas's job_updates following a job that
    runs `seconds` from the first poll, its progress changing every
    `change_every` seconds: poll at once; a record that changed resets the
    wait to `poll`; sleep the wait, then double it (at most `max_poll`);
    stop at the first poll that sees the end (at or after `seconds`).
    `change_every` 0: the progress never changes. The job starts with the
    first poll and each change falls on a whole multiple of `change_every`
    (a poll at that instant sees it): an idealised timeline."""
    if seconds <= 0:
        return 1
    polls, now, wait = 0, 0.0, poll
    last: tuple[bool, int] | None = None
    while True:
        polls += 1
        ended = now >= seconds - 1e-9
        seen = (ended, int(min(now, seconds) // change_every) if change_every > 0 else 0)
        if seen != last:
            last, wait = seen, poll
        if ended:
            return polls
        now += wait
        wait = min(wait * multiplier, max_poll)


def fixed_polls(seconds: float, every: float = AIOTRUENAS_POLL) -> int:
    """core.get_jobs calls of a client polling every `every` seconds from the
    start (aiotruenas's _wait_for_job): one at 0, then one per interval, the
    last at or after the end."""
    if seconds <= 0:
        return 1
    return math.ceil(seconds / every - 1e-9) + 1


def query_read_units(item_bytes: int, consistent: bool) -> float:
    """A Query pays for the bytes it read in 4 KB units (at least one),
    half when eventually consistent (every index Query)."""
    whole = max(1, math.ceil(item_bytes / READ_UNIT_BYTES))
    return float(whole) if consistent else whole / 2


# -- the connection ------------------------------------------------------------------


@dataclass
class Sent:
    """Every PostToConnection the app made: (connection, the text)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    messages: list[tuple[str, str]] = field(default_factory=list)

    def hook(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        if model.name == "PostToConnection":
            data = params["Data"]
            with self.lock:
                self.messages.append((params["ConnectionId"],
                                      data.decode() if isinstance(data, bytes) else data))

    def mark(self) -> int:
        with self.lock:
            return len(self.messages)

    def since(self, start: int, connection: str | None = None) -> list[str]:
        with self.lock:
            return [text for conn, text in self.messages[start:]
                    if connection is None or conn == connection]


@dataclass
class Tables:
    """Each DynamoDB call's table and, for a Query, the bytes it returned, by
    the counter's label, in the order the calls ended (as the counter's)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    seen: list[tuple[str, str, str, int]] = field(default_factory=list)

    def before(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["bench_table"] = (params.get("TableName", ""), params.get("IndexName", ""))

    def after(self, parsed: dict[str, Any], model: Any, context: dict[str, Any],
              **_: Any) -> None:
        from bench.dynamo_units import item_size

        table, index = context.get("bench_table", ("", ""))
        label = (context.get("bench") or {}).get("label", "")
        size = sum(item_size(item) for item in parsed.get("Items", [])) \
            if model.name == "Query" else 0
        with self.lock:
            self.seen.append((label, model.name, f"{table}/{index}" if index else table, size))

    def of(self, label: str) -> list[tuple[str, str, int]]:
        with self.lock:
            return [(op, table, size) for lab, op, table, size in self.seen if lab == label]


class Nas:
    """One TrueNAS client's connection, driven through the app's handlers."""

    counter = 0

    def __init__(self, sent: Sent, key: str, legacy_jobs: bool = True) -> None:
        import app as job_app

        Nas.counter += 1
        self.app = job_app
        self.sent = sent
        self.id = f"benchnas{Nas.counter:04d}="
        answer = job_app.events_connect(self._event("$connect", "CONNECT", headers={}), None)
        if answer["statusCode"] != 200:
            raise RuntimeError(f"$connect answered {answer}")
        if not legacy_jobs:
            self.result("core.set_options", {"legacy_jobs": False})
        if self.result("auth.login_with_api_key", key) is not True:
            raise RuntimeError("the API key's login failed")

    def _event(self, route: str, kind: str, **extra: Any) -> dict[str, Any]:
        return {"requestContext": {"routeKey": route, "eventType": kind,
                                   "connectionId": self.id, "domainName": "benchnas",
                                   "stage": "api", "apiId": "benchnas", "requestId": "r"},
                "isBase64Encoded": False, **extra}

    def send(self, method: str, *params: Any, id: Any = 1) -> tuple[int, list[str]]:
        """The frame's size and the texts sent back to this connection."""
        frame = json.dumps({"jsonrpc": "2.0", "id": id, "method": method,
                            "params": list(params)})
        mark = self.sent.mark()
        self.app.events_message(self._event("$default", "MESSAGE", body=frame), None)
        return len(frame.encode()), self.sent.since(mark, self.id)

    def result(self, method: str, *params: Any, id: Any = 1) -> Any:
        _, texts = self.send(method, *params, id=id)
        answers = [json.loads(text) for text in texts]
        answer = next((a for a in answers if a.get("id") == id), None)
        if answer is None or "error" in answer:
            raise RuntimeError(f"{method} answered {answers}")
        return answer["result"]

    def close(self) -> None:
        self.app.events_disconnect(self._event("$disconnect", "DISCONNECT"), None)


@contextmanager
def truenas_aws() -> Iterator[tuple[LocalAws, CallCounter, Sent, Tables]]:
    """moto in-process with the management API pointed at moto's, the counter
    on the app's clients (with item images of both tables)."""
    from chalicelib.wiring import services

    with local_aws(PROGRESS_INTERVAL, ENDPOINT) as aws:
        clients = services().clients
        management = sockets_client(ENDPOINT)
        sent, tables = Sent(), Tables()
        management.meta.events.register("provide-client-params", sent.hook,
                                        unique_id="bench-truenas-sends")
        counter = CallCounter({**aws.app_clients(), "management": management},
                              images=aws.raw.dynamodb, key_names=("id", "pk", "sk"))
        counter.default_label = BACKGROUND
        with counter.attached():
            # After the counter's: its label is in the context by then.
            clients.dynamodb.meta.events.register("provide-client-params", tables.before,
                                                  unique_id="bench-truenas-tables-before")
            clients.dynamodb.meta.events.register("after-call", tables.after,
                                                  unique_id="bench-truenas-tables-after")
            yield aws, counter, sent, tables


# -- units -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Shapes:
    jobs_table: str
    jobs: TableShape
    watchers: TableShape

    def of(self, table: str) -> TableShape:
        return self.jobs if table == self.jobs_table else self.watchers


def call_units(calls: list[Call], tables: list[tuple[str, str, int]],
               shapes: Shapes) -> dict[str, Any]:
    """Request units of one message's DynamoDB calls, each priced on its
    table's shape (the by_number and listing indexes on the jobs table)."""
    dynamodb = [c for c in calls if c.service == "dynamodb"]
    if [op for op, _, _ in tables] != [c.operation for c in dynamodb]:
        raise RuntimeError(f"the table hook saw {tables}, the counter {dynamodb}")
    rru = wru = 0.0
    by_call = []
    for call, (_, table, size) in zip(dynamodb, tables, strict=True):
        base = table.split("/")[0]
        if call.operation == "GetItem":
            units = read_units(call.item, call.consistent_read)
            rru += units
        elif call.operation == "Query":
            units = query_read_units(size, call.consistent_read)
            rru += units
        elif call.is_write and call.operation != "BatchWriteItem":
            units = float(write_units(call.before, call.after, shapes.of(base)).total)
            wru += units
        else:
            units = 0.0
        by_call.append({"operation": call.operation, "table": table.rsplit("-", 1)[-1],
                        "units": units})
    return {"rru": rru, "wru": wru, "by_call": by_call}


def figures(counter: CallCounter, tables: Tables, shapes: Shapes, label: str,
            frame_bytes: int = 0, answers: list[str] | None = None) -> dict[str, Any]:
    calls = counter.calls(label)
    names = [f"{c.service}.{c.operation}" for c in calls]
    aws_calls = [n for n in names if not n.endswith("PostToConnection")]
    return {
        "calls": aws_calls, "sends": len(names) - len(aws_calls),
        **call_units(calls, tables.of(label), shapes),
        "frame_bytes": frame_bytes,
        "answer_bytes": max((len(a.encode()) for a in answers or []), default=0),
    }


# -- the measurements ------------------------------------------------------------------


def new_key(aws: LocalAws) -> str:
    response = aws.http.http.request(
        "POST", "/api_keys", body=json.dumps({"name": "bench nas"}),
        headers={"Content-Type": "application/json", **bench_auth()})
    if response.status_code != 201:
        raise RuntimeError(f"POST /api_keys answered {response.status_code}")
    return str(json.loads(response.body)["key"])


def job_id_of(number: int) -> str:
    from chalicelib.wiring import services

    found = services().store.id_of_number(TENANT, number)
    if found is None:
        raise RuntimeError(f"job {number} not found")
    return found


def wait_for_state(nas: Nas, number: int, states: set[str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        (job,) = nas.result("core.get_jobs", [["id", "=", number]])
        if job["state"] in states:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"job {number} still {job['state']}")
        time.sleep(0.05)


def deliver(aws: LocalAws, counter: CallCounter, label: str) -> list[dict[str, Any]]:
    import app as job_app
    from local.streams import deliver_pending

    reports: list[dict[str, Any]] = []

    def handler(event: dict[str, Any], context: Any) -> Any:
        report = job_app.job_events(event, context)
        reports.append(report)
        return report

    with counter.phase(label):
        deliver_pending(aws.provisioned, handler)
    return reports


def messages() -> dict[str, Any]:
    """Every message's calls, in one moto account, in an order that keeps
    each measured batch to the waiting call's job."""
    from local.provision import load_template

    template = load_template()
    with truenas_aws() as (aws, counter, sent, tables):
        shapes = Shapes(aws.provisioned.table_name,
                        TableShape.from_template(template, "JobsTable"),
                        TableShape.from_template(template, "WatchersTable"))
        key = new_key(aws)
        nas = Nas(sent, key)
        nas.result("demo.echo", {})  # this process's block of numbers is reserved
        out: dict[str, Any] = {}

        with counter.phase("call_legacy"):
            frame, answers = nas.send("demo.sleep", SLEEP, id=11)
        out["call_legacy"] = figures(counter, tables, shapes, "call_legacy", frame, answers)
        number = json.loads(answers[0])["result"]
        job_id = job_id_of(number)
        aws.wait_for_execution(job_id)
        out["job_writes"] = job_writes(counter, job_id, shapes)

        with counter.phase("get_jobs"):
            frame, answers = nas.send("core.get_jobs", [["id", "=", number]], id=12)
        out["get_jobs"] = figures(counter, tables, shapes, "get_jobs", frame, answers)

        waiting = Nas(sent, key, legacy_jobs=False)
        deliver(aws, counter, "drain")  # the earlier jobs' records, out of the way
        with counter.phase("call_wait"):
            frame, answers = waiting.send("demo.echo", {"n": 1}, id=21)
        out["call_wait"] = figures(counter, tables, shapes, "call_wait", frame, answers)
        if answers:
            raise RuntimeError(f"the waiting call answered at once: {answers}")
        (waited,) = [c.after for c in counter.calls("call_wait")
                     if c.operation == "PutItem" and c.after and "method" in c.after]
        aws.wait_for_execution(waited["id"]["S"])
        mark = sent.mark()
        reports = deliver(aws, counter, "answer")
        answer_texts = sent.since(mark)
        out["answer"] = {**figures(counter, tables, shapes, "answer", 0, answer_texts),
                         "sends": len(answer_texts),
                         "sent_to_waiting": len(sent.since(mark, waiting.id)),
                         "batches": len(reports),
                         "records": sum(r["records"] for r in reports),
                         "answer": json.loads(answer_texts[-1]) if answer_texts else None}

        watcher = Nas(sent, key)
        with counter.phase("subscribe"):
            frame, answers = watcher.send("core.subscribe", "core.get_jobs", id=31)
        out["subscribe"] = figures(counter, tables, shapes, "subscribe", frame, answers)
        watcher.close()

        sleeper = nas.result("demo.sleep", {"seconds": 30, "steps": 300}, id=41)
        wait_for_state(nas, sleeper, {"RUNNING"})
        with counter.phase("job_abort"):
            frame, answers = nas.send("core.job_abort", sleeper, id=42)
        out["job_abort"] = figures(counter, tables, shapes, "job_abort", frame, answers)
        aws.wait_for_execution(job_id_of(sleeper))

        with counter.phase("download"):
            frame, answers = nas.send("core.download", "demo.export", [{"size": 1000}],
                                      "bench.bin", False, id=51)
        out["download"] = figures(counter, tables, shapes, "download", frame, answers)
        downloaded = json.loads(answers[0])["result"]
        aws.http.http.request("GET", downloaded[1], headers={"Accept": "*/*"})
        aws.wait_for_execution(job_id_of(downloaded[0]))

        out["numbers"] = numbers(counter, shapes)
    return out


def job_writes(counter: CallCounter, job_id: str, shapes: Shapes) -> list[dict[str, Any]]:
    """Each write of one job's item (its create, the worker's claim, progress
    and finish), with the by_number index's share."""
    rows = []
    for call in counter.calls():
        item = call.after or call.before
        if not call.is_write or not item or item.get("id", {}).get("S") != job_id:
            continue
        units = write_units(call.before, call.after, shapes.jobs)
        rows.append({"operation": call.operation, "label": call.label,
                     "state": (call.after or {}).get("state", {}).get("S", ""),
                     "total": units.total, "table": units.table,
                     "by_number": units.indexes.get("by_number", 0),
                     "by_number_action": units.actions.get("by_number", "")})
    return rows


def numbers(counter: CallCounter, shapes: Shapes) -> dict[str, Any]:
    """Reservations: a fresh process numbering 1,000 jobs, one at a time;
    a fresh process building a parent and its 1,000 children (JobFactory,
    as the fan-out does: nothing written but the reservations)."""
    from chalicelib.creation import JobFactory
    from chalicelib.models import ChildSpec, SubmitRequest
    from chalicelib.numbering import BLOCK, JobNumbers
    from chalicelib.wiring import services

    s = services()
    one_by_one = JobNumbers(s.store)
    with counter.phase("numbers_jobs"):
        taken = [one_by_one.take(NUMBERS_TENANT)[0] for _ in range(JOBS_IN_ONE_PROCESS)]
    if len(set(taken)) != JOBS_IN_ONE_PROCESS:
        raise RuntimeError("numbers handed out twice")
    jobs = reservation_figures(counter.calls("numbers_jobs"), shapes)

    factory = JobFactory(s.workflow, s.basics, JobNumbers(s.store))
    method = s.registry.get("demo.echo")
    with counter.phase("numbers_fan_out"):
        parent = factory.new_job(method, {}, SubmitRequest(method="demo.echo", params={}),
                                 id="bench-parent", tenant_id=NUMBERS_TENANT, user_id="bench")
        children = factory.children(parent, [ChildSpec(method="demo.echo")] * FAN_OUT)
    numbered = {parent.number, *(child.number for child in children)}
    if len(numbered) != FAN_OUT + 1:
        raise RuntimeError("a fan-out's numbers are not distinct")
    fan_out = reservation_figures(counter.calls("numbers_fan_out"), shapes)
    return {"block": BLOCK, "jobs": JOBS_IN_ONE_PROCESS, "fan_out": FAN_OUT,
            "one_by_one": jobs, "fan_out_reservations": fan_out,
            "fan_out_sizes": reserved_sizes(counter.calls("numbers_fan_out"))}


def reservation_figures(calls: list[Call], shapes: Shapes) -> dict[str, Any]:
    writes = [c for c in calls if c.is_write]
    units = [write_units(c.before, c.after, shapes.jobs).total for c in writes]
    return {"calls": [f"{c.service}.{c.operation}" for c in calls],
            "updates": sum(c.operation == "UpdateItem" for c in calls),
            "wru": float(sum(units)), "wru_each": sorted(set(units))}


def reserved_sizes(calls: list[Call]) -> list[int]:
    """How many numbers each reservation took (the counter's step)."""
    sizes = []
    for call in calls:
        if call.operation != "UpdateItem" or call.after is None:
            continue
        before = int((call.before or {}).get("last_number", {}).get("N", "0"))
        sizes.append(int(call.after["last_number"]["N"]) - before)
    return sizes


# -- the section -----------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    budget: str
    calls: tuple[str, ...]  # the budget's AWS calls (the answer's send apart)
    sends: int  # PostToConnection: the answer (0: the event function sends it)


CONNECTION = "dynamodb.GetItem"
ROWS = (
    Row("call_legacy", "a job call, legacy_jobs true (`demo.sleep [{...}]`)",
        "GetItem connection + PutItem job + StartExecution; 1 send (the id)",
        (CONNECTION, "dynamodb.PutItem", "stepfunctions.StartExecution"), 1),
    Row("get_jobs", "`core.get_jobs [[\"id\",\"=\",n]]`",
        "GetItem connection + Query by_number + GetItem job; 1 send",
        (CONNECTION, "dynamodb.Query", "dynamodb.GetItem"), 1),
    Row("call_wait", "a job call, legacy_jobs false (`demo.echo [{...}]`)",
        "as legacy + UpdateItem connection + PutItem subscription; no send yet",
        (CONNECTION, "dynamodb.UpdateItem", "dynamodb.PutItem", "dynamodb.PutItem",
         "stepfunctions.StartExecution"), 0),
    Row("subscribe", "`core.subscribe [\"core.get_jobs\"]`",
        "GetItem connection + UpdateItem connection + PutItem subscription; 1 send",
        (CONNECTION, "dynamodb.UpdateItem", "dynamodb.PutItem"), 1),
    # The face finds the job as core.get_jobs does (Query + GetItem), then runs
    # the native cancel, whose budget (bench/calls.py) is <= 1 read + 1 write:
    # it reads the job again (see the notes).
    Row("job_abort", "`core.job_abort [n]` (a RUNNING job)",
        "GetItem connection + Query by_number + GetItem job + the native cancel "
        "(<= 1 GetItem + 1 UpdateItem); 1 send",
        (CONNECTION, "dynamodb.Query", "dynamodb.GetItem", "dynamodb.GetItem",
         "dynamodb.UpdateItem"), 1),
    Row("download", "`core.download [\"demo.export\", [...], name, false]`",
        "GetItem connection + PutItem job + StartExecution; 1 send",
        (CONNECTION, "dynamodb.PutItem", "stepfunctions.StartExecution"), 1),
)
ANSWER_BUDGET = ("DeleteItem subscription + UpdateItem connection + 1 PostToConnection "
                 "(and the batch's Query of the tenant's subscriptions, made anyway)")


def meets(row: Row, found: dict[str, Any]) -> bool:
    return Counter(found["calls"]) == Counter(row.calls) and found["sends"] == row.sends


def answer_meets(found: dict[str, Any]) -> bool:
    calls = Counter(found["calls"])
    queries = calls.pop("dynamodb.Query", 0)
    return (calls == Counter({"dynamodb.DeleteItem": 1, "dynamodb.UpdateItem": 1})
            and queries == found["batches"] and found["sends"] == 1
            and found["sent_to_waiting"] == 1)


def run(context: Any) -> Section:
    return build_section(messages())


def build_section(measured: dict[str, Any]) -> Section:
    rows, checks = [], []
    for row in ROWS:
        found = measured[row.key]
        ok = meets(row, found)
        rows.append(message_row(row.label, row.budget, found, ok))
        checks.append(Check(f"TrueNAS {row.key}", row.budget, calls_text(found), ok))
    answer = measured["answer"]
    ok = answer_meets(answer)
    rows.append(message_row(
        f"event function: answering the waiting call ({answer['records']} records, "
        f"{answer['batches']} batch)", ANSWER_BUDGET, answer, ok))
    checks.append(Check("TrueNAS waiting call's answer", ANSWER_BUDGET, calls_text(answer), ok))

    nums = measured["numbers"]
    jobs, fan = nums["one_by_one"], nums["fan_out_reservations"]
    writes = measured["job_writes"]
    create = writes[0] if writes else {"by_number": None}
    later = sum(w["by_number"] for w in writes[1:])
    per_job_reservation = jobs["wru"] / nums["jobs"]
    per_leaf = create["by_number"] + per_job_reservation
    number_rows = [
        {"what": f"{nums['jobs']:,} jobs numbered in one process (fresh), one at a time",
         "calls": ", ".join(f"{n} {k}" for k, n in Counter(jobs["calls"]).items()),
         "wru": jobs["wru"], "per_job": per_job_reservation,
         "budget": f"{nums['jobs'] // nums['block']} UpdateItem of 1 WRU"},
        {"what": f"a fan-out of {nums['fan_out']:,} children (fresh process): parent + "
                 f"children, reservations of {nums['fan_out_sizes']}",
         "calls": ", ".join(f"{n} {k}" for k, n in Counter(fan["calls"]).items()),
         "wru": fan["wru"], "per_job": fan["wru"] / (nums["fan_out"] + 1),
         "budget": "2 UpdateItem: the parent's block + 1 of 1,000"},
        {"what": "by_number index: the job's create (PutItem)", "calls": "",
         "wru": create["by_number"], "per_job": create["by_number"],
         "budget": "1 WRU (a put of a keys-only entry)"},
        {"what": f"by_number index: its {len(writes) - 1} later writes (claim, progress, "
                 "finish)", "calls": "", "wru": later, "per_job": later, "budget": "0"},
    ]
    jobs_ok = jobs["updates"] == nums["jobs"] // nums["block"] and jobs["wru_each"] == [1] \
        and len(jobs["calls"]) == jobs["updates"]
    fan_ok = fan["updates"] == 2 and nums["fan_out_sizes"][-1] == nums["fan_out"] \
        and len(fan["calls"]) == 2
    by_number_ok = create["by_number"] == 1 and later == 0
    for number_row, ok in zip(number_rows, (jobs_ok, fan_ok, by_number_ok, by_number_ok),
                              strict=True):
        number_row["met"] = ok
    checks += [
        Check(f"reservations per {nums['jobs']:,} jobs", number_rows[0]["budget"],
              f"{jobs['updates']} UpdateItem, {jobs['wru']:g} WRU", jobs_ok),
        Check(f"reservations per fan-out of {nums['fan_out']:,}", number_rows[1]["budget"],
              f"{fan['updates']} UpdateItem of {nums['fan_out_sizes']}", fan_ok),
        Check("by_number writes per job", "1 WRU at create, 0 after",
              f"{create['by_number']} at create, {later} after", by_number_ok),
    ]
    write_rows = [{"write": f"#{n} {w['operation']} ({w['state']})", "total": w["total"],
                   "table": w["table"], "by_number": w["by_number"],
                   "action": w["by_number_action"] or "none"}
                  for n, w in enumerate(writes, start=1)]
    return Section(
        name="truenas",
        title="TrueNAS face: AWS calls per JSON-RPC message; job numbers",
        how=("in-process on moto: a TrueNAS connection (API key login) driven through "
             "app.events_message as API Gateway calls it, the jobs table's stream records "
             "handed to app.job_events (local.streams.deliver_pending); calls counted on the "
             "app's DynamoDB, Step Functions and management-API clients, request units "
             "modelled from the items before and after each write with the indexes of "
             "infra/template.yaml; job numbers from a fresh JobNumbers and JobFactory."),
        tables=[
            Table({"message": "message", "calls": "AWS calls (the answer's send apart)",
                   "sends": "sends", "rru": "RRU", "wru": "WRU", "bytes": "answer B",
                   "budget": "budget", "met": "met"}, rows,
                  "AWS calls per TrueNAS message (the connection's GetItem each time)"),
            Table({"what": "what", "calls": "calls", "wru": "WRU", "per_job": "WRU per job",
                   "budget": "budget", "met": "met"}, number_rows,
                  "Job numbers: reservations and the by_number index"),
            Table({"write": "write of one demo.sleep job (3 progress steps)",
                   "total": "WRU", "table": "table WRU", "by_number": "by_number WRU",
                   "action": "by_number"}, write_rows, "The by_number index, write by write"),
        ],
        notes=notes(measured, per_leaf, per_job_reservation),
        checks=checks,
        data={**measured, "numbers_per_leaf_job_wru": per_leaf,
              "reservation_wru_per_job": per_job_reservation,
              "by_number_create_wru": create["by_number"],
              "follow": {"pytruenas": {"poll": PYTRUENAS_POLL, "max_poll": PYTRUENAS_MAX_POLL,
                                       "multiplier": PYTRUENAS_MULTIPLIER},
                         "aiotruenas": {"poll": AIOTRUENAS_POLL}},
              "sleep_params": SLEEP, "progress_interval": PROGRESS_INTERVAL},
    )


def calls_text(found: dict[str, Any]) -> str:
    counted = Counter(found["calls"])
    text = ", ".join(f"{n} {k.split('.', 1)[1]}" if n > 1 else k.split(".", 1)[1]
                     for k, n in counted.items()) or "none"
    return f"{text}; {found['sends']} send(s)"


def message_row(label: str, budget: str, found: dict[str, Any], ok: bool) -> dict[str, Any]:
    return {"message": label, "calls": calls_text(found).split(";")[0],
            "sends": found["sends"], "rru": found["rru"], "wru": found["wru"],
            "bytes": found.get("answer_bytes") or "", "budget": budget, "met": ok}


def notes(measured: dict[str, Any], per_leaf: float, per_job_reservation: float) -> list[str]:
    get_jobs = measured["get_jobs"]
    wait = measured["call_wait"]
    return [
        "Every message first reads its connection's record (a consistent GetItem of the "
        "watchers table): its face, caller and session options. The job's own PutItem and "
        "StartExecution are the job's, whatever face created it; what a client's way of "
        "following a job adds is priced in the cost section.",
        f"`core.get_jobs` by id: {get_jobs['rru']:g} RRU (the connection's read, one "
        "eventually consistent Query of the keys-only by_number index, the job's consistent "
        f"read); its answer is the whole record ({get_jobs['answer_bytes']} B).",
        f"legacy_jobs false: the call stores a `once` subscription (listed on its connection, "
        f"then put: {wait['wru']:g} WRU with the job's create), and the event function sends "
        "the answer when the job's end reaches it: it deletes the subscription, takes it off "
        "the connection and sends one message. The batch's Query of the tenant's "
        "subscriptions is made for every batch, watched or not.",
        f"`core.job_abort`: {calls_text(measured['job_abort'])}. The face finds the job "
        "(Query by_number + GetItem) and hands its id to the native cancel, which reads it "
        "again before its conditional write: one GetItem (1 RRU) more than needed per "
        "abort, left as it is (the cancel could take the record the face read).",
        f"Job numbers add {per_leaf:.2f} WRU per leaf job: the by_number put at create (1 "
        f"WRU, already in the create's units) and {per_job_reservation:.2f} of a reservation "
        "(one UpdateItem of about 40 B per 100 jobs in a process; a fan-out reserves all its "
        "children in one). A process that ends leaves the rest of its block unused: numbers "
        "have gaps, the cost does not grow.",
    ]
