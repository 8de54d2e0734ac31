"""The ArangoDB face: the AWS calls and DynamoDB request units of each
request python-arango makes about async jobs, and of the worker's replay of
an `x-arango-async: store` request.

Everything runs in-process on moto (bench.local_aws): the app is driven
through the Chalice test client, as API Gateway would call it. These routes
are declared without API Gateway's authorizer: the face checks the
credential itself in the API Lambda (chalicelib.faces.arangodb.admission,
with the container's one Authenticator, which remembers a key's read 60 s),
so a request costs one API Lambda invocation and no authorizer invocation.
The routes are called with a JWT (no AWS call to check it), so every call
counted is the route's; the credential check is measured on its own (Basic
with an API key first and again, a JWT) on GET /_api/version, which makes no
call of its own.

A tenant of its own (a JWT minted for it) keeps the job lists exact: its
finished jobs are the ones made here. The call counter (bench.counting) sits
on the app's DynamoDB, Step Functions and S3 clients with the item before
and after each write; a hook of our own notes each DynamoDB call's table,
the bytes a Query returned and the items a BatchWriteItem deleted (read
before it), so request units are modelled from the items
(bench.dynamo_units) with the indexes of infra/template.yaml. The worker
runs in moto's threads: its calls carry the counter's default label, set to
the replay's while one async request runs alone.

The pure arithmetic (a python-arango client's requests per job) is here too,
for bench/cost.py and tests/bench/test_arangodb_arithmetic.py.
"""

from __future__ import annotations

import base64
import json
import math
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from bench.counting import Call, CallCounter
from bench.dynamo_units import READ_UNIT_BYTES, TableShape, item_size, read_units, write_units
from bench.local_aws import LocalAws, local_aws
from bench.section import Check, Row, Section, Table

TENANT = "bench-arango"
USER = "bench"
FINISHED_JOBS = 10  # the done list and DELETE /_api/job/all
DONE_COUNT = 100
BACKGROUND = "background"
REPLAY = "replay"
# python-arango 8.3.7 arango/job.py: AsyncJob.status() is one GET /_api/job/{id},
# result() one PUT /_api/job/{id}; there is no wait loop: a client polls status().
POLLS = (1, 5, 30)


# -- arithmetic (tests/bench/test_arangodb_arithmetic.py) ---------------------------


def requests_per_job(polls: int) -> int:
    """REST requests of one async request followed with python-arango: the
    request itself (answered 202), `polls` status() calls, one result()."""
    if polls < 1:
        raise ValueError("a client polls at least once before it fetches")
    return 1 + polls + 1


def query_read_units(item_bytes: int, consistent: bool) -> float:
    """A Query pays for the bytes it read in 4 KB units (at least one, even
    when it found nothing), half when eventually consistent."""
    whole = max(1, math.ceil(item_bytes / READ_UNIT_BYTES))
    return float(whole) if consistent else whole / 2


# -- the hooks -------------------------------------------------------------------------


@dataclass
class Seen:
    """Each DynamoDB call's table, a Query's returned bytes and scanned count,
    and the items a BatchWriteItem's deletes removed (read before the call),
    by the counter's label, in the order the calls ended (as the counter's)."""

    raw: Any  # an un-hooked DynamoDB client
    lock: threading.Lock = field(default_factory=threading.Lock)
    seen: list[dict[str, Any]] = field(default_factory=list)

    def before(self, params: dict[str, Any], model: Any, context: dict[str, Any],
               **_: Any) -> None:
        note: dict[str, Any] = {"table": params.get("TableName", ""),
                                "index": params.get("IndexName", "")}
        if model.name == "BatchWriteItem":
            batch = []
            for table, requests in params.get("RequestItems", {}).items():
                for request in requests:
                    key = (request.get("DeleteRequest") or {}).get("Key")
                    put = (request.get("PutRequest") or {}).get("Item")
                    read_key = key or ({"id": put["id"]} if put else None)
                    old = self.raw.get_item(TableName=table, Key=read_key,
                                            ConsistentRead=True).get("Item") \
                        if read_key else None
                    batch.append({"table": table, "before": old, "after": put})
            note["batch"] = batch
            note["table"] = next(iter(params.get("RequestItems", {})), "")
        if model.name == "BatchGetItem":
            (table, asked), = params.get("RequestItems", {}).items()
            note["table"], note["consistent"] = table, bool(asked.get("ConsistentRead"))
        context["bench_arango"] = note

    def after(self, parsed: dict[str, Any], model: Any, context: dict[str, Any],
              **_: Any) -> None:
        note = context.get("bench_arango", {})
        label = (context.get("bench") or {}).get("label", "")
        entry = {"label": label, "operation": model.name, "table": note.get("table", ""),
                 "index": note.get("index", ""), "bytes": 0, "count": None,
                 "scanned": None, "batch": note.get("batch", [])}
        if model.name == "Query":
            entry["bytes"] = sum(item_size(item) for item in parsed.get("Items", []))
            entry["count"], entry["scanned"] = parsed.get("Count"), parsed.get("ScannedCount")
        if model.name == "BatchGetItem":
            found = [item for items in parsed.get("Responses", {}).values() for item in items]
            entry["count"] = len(found)
            entry["units"] = sum(read_units(item, note.get("consistent", False))
                                 for item in found)
        with self.lock:
            self.seen.append(entry)

    def of(self, label: str) -> list[dict[str, Any]]:
        with self.lock:
            return [entry for entry in self.seen if entry["label"] == label]


@dataclass(frozen=True)
class Shapes:
    jobs_table: str
    jobs: TableShape
    credentials: TableShape

    def of(self, table: str) -> TableShape:
        return self.jobs if table == self.jobs_table else self.credentials


def short_table(table: str, shapes: Shapes) -> str:
    return "jobs" if table == shapes.jobs_table else "credentials"


def call_units(calls: list[Call], seen: list[dict[str, Any]], shapes: Shapes
               ) -> dict[str, Any]:
    """Request units of one request's DynamoDB calls, each on its table's shape."""
    dynamodb = [c for c in calls if c.service == "dynamodb"]
    if [entry["operation"] for entry in seen] != [c.operation for c in dynamodb]:
        raise RuntimeError(f"the table hook saw {seen}, the counter {dynamodb}")
    rru = wru = 0.0
    by_call = []
    for call, entry in zip(dynamodb, seen, strict=True):
        table = short_table(entry["table"], shapes)
        where = f"{table}/{entry['index']}" if entry["index"] else table
        if call.operation == "GetItem":
            units = read_units(call.item, call.consistent_read)
            rru += units
        elif call.operation == "Query":
            units = query_read_units(entry["bytes"], call.consistent_read)
            rru += units
        elif call.operation == "BatchGetItem":
            units = float(entry["units"])  # per item, as BatchGetItem is billed
            rru += units
            where = f"{table} x{entry['count']}"
        elif call.operation == "BatchWriteItem":
            units = float(sum(write_units(one["before"], one["after"],
                                          shapes.of(one["table"])).total
                              for one in entry["batch"]))
            wru += units
            where = f"{table} x{len(entry['batch'])}"
        elif call.is_write:
            units = float(write_units(call.before, call.after, shapes.of(entry["table"])).total)
            wru += units
        else:
            units = 0.0
        by_call.append({"operation": call.operation, "table": where, "units": units,
                        "count": entry["count"], "scanned": entry["scanned"]})
    return {"rru": rru, "wru": wru, "by_call": by_call}


def figures(counter: CallCounter, seen: Seen, shapes: Shapes, label: str,
            status: int | None = None) -> dict[str, Any]:
    calls = counter.calls(label)
    return {"calls": [f"{c.service}.{c.operation}" for c in calls], "status": status,
            **call_units(calls, seen.of(label), shapes)}


# -- the requests ----------------------------------------------------------------------


class Arango:
    """The face's routes through the Chalice test client, as one caller."""

    def __init__(self, aws: LocalAws, authorization: str) -> None:
        self.aws = aws
        self.authorization = authorization

    def send(self, method: str, path: str, headers: dict[str, str] | None = None,
             body: Any = None, authorization: str | None = None) -> Any:
        payload = json.dumps(body) if body is not None else b""
        return self.aws.http.http.request(
            method, path, body=payload,
            headers={"Content-Type": "application/json",
                     "Authorization": authorization or self.authorization,
                     **(headers or {})})

    def json(self, response: Any) -> Any:
        return json.loads(response.body) if response.body else None


def header(response: Any, name: str) -> str | None:
    for key, value in (response.headers or {}).items():
        if key.lower() == name:
            return str(value)
    return None


def expect(response: Any, status: int, what: str) -> Any:
    if response.status_code != status:
        raise RuntimeError(f"{what} answered {response.status_code}: {response.body!r}")
    return response


def wait_for_state(aws: LocalAws, job_id: str, states: set[str], timeout: float = 60) -> None:
    """Read through the un-hooked client: not counted."""
    deadline = time.monotonic() + timeout
    while True:
        state = (aws.item(job_id) or {}).get("state", {}).get("S")
        if state in states:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"job {job_id} still {state}")
        time.sleep(0.02)


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def measure() -> dict[str, Any]:
    from chalicelib.authn import mint
    from chalicelib.wiring import services
    from local.emulated import LOCAL_JWT_SECRET
    from local.provision import load_template

    jwt = "Bearer " + mint(LOCAL_JWT_SECRET, TENANT, USER, ["TENANT_ADMIN"], 24 * 3600)
    template = load_template()
    with local_aws() as aws:
        shapes = Shapes(aws.provisioned.table_name,
                        TableShape.from_template(template, "JobsTable"),
                        TableShape.from_template(template, "CredentialsTable"))
        seen = Seen(aws.raw.dynamodb)
        counter = CallCounter(aws.app_clients(), images=aws.raw.dynamodb, key_names=("id",))
        counter.default_label = BACKGROUND
        with counter.attached():
            dynamodb = services().clients.dynamodb
            dynamodb.meta.events.register("provide-client-params", seen.before,
                                          unique_id="bench-arango-before")
            dynamodb.meta.events.register("after-call", seen.after,
                                          unique_id="bench-arango-after")
            try:
                return requests(aws, Arango(aws, jwt), counter, seen, shapes)
            finally:
                dynamodb.meta.events.unregister("provide-client-params",
                                                unique_id="bench-arango-before")
                dynamodb.meta.events.unregister("after-call", unique_id="bench-arango-after")


def async_version(arango: Arango, counter: CallCounter, label: str) -> tuple[str, str]:
    """GET /_api/version with x-arango-async: store, in phase `label`; the
    job's number (its ArangoDB id) and its id (from the counted PutItem)."""
    with counter.phase(label):
        response = arango.send("GET", "/_api/version", {"x-arango-async": "store"})
    expect(response, 202, "GET /_api/version (async store)")
    number = header(response, "x-arango-async-id")
    puts = [c.after for c in counter.calls(label)
            if c.operation == "PutItem" and c.after and "method" in c.after]
    if number is None or len(puts) != 1:
        raise RuntimeError(f"no job id in {response.headers} or puts {puts}")
    return number, str(puts[0]["id"]["S"])


def requests(aws: LocalAws, arango: Arango, counter: CallCounter, seen: Seen,
             shapes: Shapes) -> dict[str, Any]:
    out: dict[str, Any] = {}

    def measured(label: str, method: str, path: str, status: int,
                 **kwargs: Any) -> Any:
        started = time.perf_counter()
        with counter.phase(label):
            response = arango.send(method, path, **kwargs)
        seconds = time.perf_counter() - started
        expect(response, status, f"{method} {path}")
        out[label] = {**figures(counter, seen, shapes, label, response.status_code),
                      "seconds": seconds}
        return response

    # Warm: the first job of this process reserves a block of numbers.
    number, job_id = async_version(arango, counter, "warm")
    aws.wait_for_execution(job_id)
    out["warm"] = figures(counter, seen, shapes, "warm", 202)
    expect(arango.send("PUT", f"/_api/job/{number}"), 200, "the warm-up's fetch")

    # 1-4: accept, replay, status, fetch of one async request.
    counter.default_label = REPLAY  # the worker's calls (moto's threads)
    number, job_id = async_version(arango, counter, "accept")
    out["accept"] = figures(counter, seen, shapes, "accept", 202)
    aws.wait_for_execution(job_id)
    counter.default_label = BACKGROUND
    item = aws.item(job_id) or {}
    out["runner"] = item.get("runner", {}).get("S", "")
    out["replay"] = figures(counter, seen, shapes, REPLAY)
    measured("status_done", "GET", f"/_api/job/{number}", 200)
    fetched = measured("fetch", "PUT", f"/_api/job/{number}", 200)
    out["fetch"]["body"] = arango.json(fetched)
    measured("fetch_again", "PUT", f"/_api/job/{number}", 404)

    # 5: a running native job: its status (204), its cancel; then its delete.
    sleeper = arango.json(expect(arango.send(
        "POST", "/jobs", body={"method": "demo.sleep",
                               "params": {"seconds": 30, "steps": 300}}), 202, "POST /jobs"))
    wait_for_state(aws, sleeper["id"], {"RUNNING"})
    measured("status_pending", "GET", f"/_api/job/{sleeper['number']}", 204)
    measured("cancel", "PUT", f"/_api/job/{sleeper['number']}/cancel", 200)
    aws.wait_for_execution(sleeper["id"])
    measured("delete", "DELETE", f"/_api/job/{sleeper['number']}", 200)

    # 5: FINISHED_JOBS finished async requests: the done list, then delete all.
    for n in range(FINISHED_JOBS):
        _, made = async_version(arango, counter, f"fill{n}")
        aws.wait_for_execution(made)
    listed = measured("done", "GET", f"/_api/job/done?count={DONE_COUNT}", 200)
    out["done"]["listed"] = len(arango.json(listed))
    measured("delete_all", "DELETE", "/_api/job/all", 200)
    left = arango.json(arango.send("GET", f"/_api/job/done?count={DONE_COUNT}"))
    out["delete_all"]["left"] = len(left)

    # 6: the credential check, on a route that makes no call of its own.
    created = arango.json(expect(arango.send("POST", "/api_keys", body={"name": "bench arango"}),
                                 201, "POST /api_keys"))
    key_basic = basic("bench", created["key"])
    measured("basic_first", "GET", "/_api/version", 200, authorization=key_basic)
    measured("basic_again", "GET", "/_api/version", 200, authorization=key_basic)
    measured("jwt", "GET", "/_api/version", 200)
    measured("refused", "GET", "/_api/version", 401,
             authorization=basic("bench", created["key"][:-1] + "x"))
    return out


# -- the section -------------------------------------------------------------------------


ROWS = (
    Row("accept", "`GET /_api/version` with `x-arango-async: store` (after one warm-up job)",
        "PutItem job + StartExecution",
        ("dynamodb.PutItem", "stepfunctions.StartExecution")),
    Row("warm", "the same, the first of a process (reserves a block of job numbers)",
        "UpdateItem block + PutItem job + StartExecution",
        ("dynamodb.UpdateItem", "dynamodb.PutItem", "stepfunctions.StartExecution")),
    Row("replay", "the worker's replay of it (`core.http_request`, Express)",
        "2 UpdateItem (claim, finish) + the route's own (/_api/version: none)",
        ("dynamodb.UpdateItem", "dynamodb.UpdateItem")),
    Row("status_done", "`GET /_api/job/{id}` (status), done: 200",
        "Query by_number + GetItem", ("dynamodb.Query", "dynamodb.GetItem")),
    Row("status_pending", "`GET /_api/job/{id}` (status), running: 204",
        "Query by_number + GetItem", ("dynamodb.Query", "dynamodb.GetItem")),
    Row("fetch", "`PUT /_api/job/{id}` (the fetch, once)", "measured", None),
    Row("fetch_again", "`PUT /_api/job/{id}` again: 404 (gone)",
        "Query by_number, again after each of NOT_FOUND_PAUSES (0.1, 0.3, 0.6 s) while "
        "not found", ("dynamodb.Query",) * 4),
    Row("cancel", "`PUT /_api/job/{id}/cancel` (a RUNNING demo.sleep)", "measured", None),
    Row("delete", "`DELETE /_api/job/{id}` (a finished job)", "measured", None),
    Row("done", f"`GET /_api/job/done?count={DONE_COUNT}` ({FINISHED_JOBS} finished jobs)",
        "1 Query per finished state (3) + 1 BatchGetItem of the records found (the "
        "index does not project `number`)", ("dynamodb.Query",) * 3 + ("dynamodb.BatchGetItem",)),
    Row("delete_all", f"`DELETE /_api/job/all` ({FINISHED_JOBS} finished jobs)", "measured",
        None),
    Row("basic_first", "credential: Basic with an API key, first use (`GET /_api/version`)",
        "<= 1 GetItem (credentials)", ("dynamodb.GetItem",)),
    Row("basic_again", "credential: the same key again (remembered 60 s)", "0 calls", ()),
    Row("jwt", "credential: a JWT (`GET /_api/version`)", "0 calls", ()),
    Row("refused", "credential: a wrong secret for that key (remembered): 401, ArangoDB's "
        "body",
        "<= 1 GetItem (credentials)", ("dynamodb.GetItem",)),
)


def meets(row: Row, found: dict[str, Any]) -> bool | None:
    if row.calls is None:
        return None
    if row.key == "fetch_again":
        from chalicelib.store.numbers import NOT_FOUND_PAUSES

        return found["calls"] == ["dynamodb.Query"] * (1 + len(NOT_FOUND_PAUSES))
    if row.key == "basic_first" or row.key == "refused":
        return len(found["calls"]) <= 1 and set(found["calls"]) <= {"dynamodb.GetItem"}
    return Counter(found["calls"]) == Counter(row.calls)


def calls_text(found: dict[str, Any]) -> str:
    counted = Counter(found["calls"])
    return ", ".join(f"{n} {k.split('.', 1)[1]}" if n > 1 else k.split(".", 1)[1]
                     for k, n in counted.items()) or "none"


def units_text(found: dict[str, Any]) -> str:
    return "; ".join(f"{c['operation']} {c['table']} {c['units']:g}"
                     for c in found["by_call"])


def run(context: Any) -> Section:
    return build_section(measure())


def build_section(measured: dict[str, Any]) -> Section:
    rows, checks = [], []
    for row in ROWS:
        found = measured[row.key]
        ok = meets(row, found)
        rows.append({"request": row.label, "calls": calls_text(found), "rru": found["rru"],
                     "wru": found["wru"], "by_call": units_text(found),
                     "status": found.get("status") or "", "budget": row.budget,
                     "met": "" if ok is None else ok})
        if ok is not None:
            checks.append(Check(f"ArangoDB {row.key}", row.budget, calls_text(found), ok))
    done_ok = measured["done"]["listed"] == FINISHED_JOBS
    cleared = measured["delete_all"]["left"] == 0
    checks += [
        Check("ArangoDB done list", f"{FINISHED_JOBS} ids",
              f"{measured['done']['listed']} ids", done_ok),
        Check("ArangoDB delete all", "no finished job left",
              f"{measured['delete_all']['left']} left", cleared),
        Check("ArangoDB replay's runner", "express (not long_running)", measured["runner"],
              measured["runner"] == "express"),
    ]
    scanned = [f"{key}: {c['operation']} {c['table']} scanned {c['scanned']}, "
               f"returned {c['count']}"
               for key, found in measured.items() if isinstance(found, dict)
               for c in found.get("by_call", [])
               if c["scanned"] is not None and c["scanned"] != c["count"]]
    return Section(
        name="arangodb",
        title="ArangoDB face: AWS calls per request of python-arango's async jobs",
        how=("in-process on moto: the face's routes through the Chalice test client (no "
             "authorizer: the face checks the credential in the API Lambda), a tenant of "
             "its own with a JWT, the worker in moto's threads; calls counted on the app's "
             "DynamoDB, Step Functions and S3 clients, request units modelled from the items "
             "before and after each write with the indexes of infra/template.yaml, a "
             "Query's from the bytes it returned."),
        tables=[Table({"request": "request", "calls": "AWS calls", "rru": "RRU", "wru": "WRU",
                       "by_call": "units by call", "status": "status", "budget": "budget",
                       "met": "met"}, rows,
                      "AWS calls per request (each one API Lambda invocation, no authorizer)")],
        notes=notes(measured, scanned),
        checks=checks,
        data={**measured, "polls": list(POLLS), "finished_jobs": FINISHED_JOBS},
    )


def notes(measured: dict[str, Any], scanned: list[str]) -> list[str]:
    warm = measured["warm"]
    out = [
        "Each request runs the API Lambda once and no authorizer (these routes are declared "
        "without API Gateway's authorizer; the face checks the Authorization header with the "
        "authorizer's own code and cache). A native route costs an authorizer invocation "
        "too, which the cost section prices apart (Authorizing a request).",
        f"The accept is measured after one warm-up job: the first job of a process also "
        f"reserves a block of job numbers ({calls_text(warm)}: one UpdateItem per 100 jobs "
        "a process creates).",
        f"The replay runs on the {measured['runner']} state machine: one worker invocation "
        "that claims the job, replays GET /_api/version through the app's routes as its "
        "caller (no call: the caller is in the replayed context) and finishes it with the "
        "kept response.",
        f"The fetch: {calls_text(measured['fetch'])}. The face finds the job by number "
        "(Query by_number + GetItem), then the removal's consume reads it again before its "
        "conditional DeleteItem, and deletes its stored objects (an S3 DeleteObjects, "
        "priced as a PUT) whether or not it has any.",
        f"Cancel: {calls_text(measured['cancel'])}; delete: "
        f"{calls_text(measured['delete'])}; delete all ({FINISHED_JOBS} jobs): "
        f"{calls_text(measured['delete_all'])}.",
        "Credentials: Basic with an API key costs one consistent GetItem of the credentials "
        f"table ({measured['basic_first']['rru']:g} RRU) the first time a container sees it, "
        "none while remembered (60 s); a JWT none.",
    ]
    gone = measured["fetch_again"]
    out.append(
        f"A 404 for a number not found (unknown, or already fetched or deleted): "
        f"{calls_text(gone)} ({gone['rru']:g} RRU) and {gone['seconds']:.2f} s here: the "
        "by_number index is eventually consistent, so a number not found is looked up again "
        "after 0.1, 0.3 and 0.6 s (chalicelib.store.numbers.NOT_FOUND_PAUSES), all of it "
        "billed API Lambda time (about 1 s where a found job takes milliseconds). "
        "python-arango makes one only when a client fetches twice or polls a gone job.")
    done = measured["done"]
    out.append(
        f"The done list ({done['listed']} jobs): one Query of by_tenant_state per finished "
        "state (SUCCESS, FAILED, ABORTED) and a BatchGetItem of the records found "
        "(eventually consistent, 0.5 RRU per job): the listing indexes do not project "
        "`number`, which the list answers, so the lister reads the whole records.")
    if scanned:
        out.append("Queries that read more than they returned (a filter): "
                   + "; ".join(scanned) + ". Their units above count only what they "
                   "returned.")
    return out
