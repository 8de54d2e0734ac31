"""The cost model: dollars per million leaf jobs, from measured counts x list prices.

A leaf job = create + run (one worker invocation) + three progress reports
+ finish + two reads (GET /jobs/{id}). DynamoDB units, Step Functions calls
and transitions come from the `calls` and `transitions` benchmarks of this
run; Lambda durations are assumptions (bench/prices.py) because in-process
moto cannot measure AWS latency.

The naive design, for comparison (the issue's three traits, nothing else):
  - lists by Scan, so its table has no secondary indexes: every write costs
    the table's units only (the same items, measured here);
  - a ten-state Standard workflow per job (10 billed transitions);
  - one write per progress call (no coalescing: 3 writes for 3 reports).
Everything else (API Gateway, Lambda, the two GetItem reads) is the same.
A Scan per list only shows on list reads, so those are priced per page in
their own table.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from bench import cascade, trees
from bench import prices as p
from bench.dynamo_units import READ_UNIT_BYTES, scan_read_units
from bench.section import Check, Section, Table

TARGET_PER_MILLION = 30.0
# Issue 23: index writes a state change does not need are not paid.
TARGET_WRITE_UNITS = 12
TARGET_PER_MILLION_ISSUE_23 = 21.0
PROGRESS_REPORTS = 3
READS = 2
NAIVE_STATES = 10
LIST_PAGE_ITEMS = 50
SCAN_CALL_BYTES = 1024 * 1024  # a Scan call returns at most 1 MB
SERVICES = ("API Gateway", "Lambda", "DynamoDB", "Step Functions", "S3")


@dataclass
class Usage:
    """AWS usage of one step of one job, in billing units."""

    api_requests: float = 0
    lambda_requests: float = 0
    lambda_gb_seconds: float = 0
    write_units: float = 0
    read_units: float = 0
    transitions: float = 0
    express_executions: float = 0
    express_gb_seconds: float = 0
    s3_puts: float = 0
    s3_gets: float = 0
    ws_messages: float = 0  # API Gateway WebSocket messages (32 KB units), issue 17
    ws_minutes: float = 0  # API Gateway WebSocket connection minutes

    def __add__(self, other: Usage) -> Usage:
        return Usage(**{f.name: getattr(self, f.name) + getattr(other, f.name)
                        for f in fields(self)})


def dollars(usage: Usage) -> dict[str, float]:
    return {
        "API Gateway": usage.api_requests * p.API_GATEWAY_REST_REQUEST.dollars
        + usage.ws_messages * p.API_GATEWAY_WS_MESSAGE.dollars
        + usage.ws_minutes * p.API_GATEWAY_WS_MINUTE.dollars,
        "Lambda": usage.lambda_requests * p.LAMBDA_REQUEST.dollars
        + usage.lambda_gb_seconds * p.LAMBDA_GB_SECOND.dollars,
        "DynamoDB": usage.write_units * p.DYNAMODB_WRITE_UNIT.dollars
        + usage.read_units * p.DYNAMODB_READ_UNIT.dollars,
        "Step Functions": usage.transitions * p.SFN_STANDARD_TRANSITION.dollars
        + usage.express_executions * p.SFN_EXPRESS_REQUEST.dollars
        + usage.express_gb_seconds * p.SFN_EXPRESS_GB_SECOND.dollars,
        "S3": usage.s3_puts * p.S3_PUT.dollars + usage.s3_gets * p.S3_GET.dollars,
    }


def api_request(count: float = 1) -> Usage:
    """A call through API Gateway to the API Lambda."""
    return Usage(api_requests=count, lambda_requests=count,
                 lambda_gb_seconds=count * p.API_MEMORY_GB * p.API_BILLED_SECONDS)


def s3_usage(figures: dict[str, Any]) -> Usage:
    # No S3 call is made yet; price any as a PUT (the dearer kind) until they are split.
    return Usage(s3_puts=figures["s3_calls"])


# -- the designs ---------------------------------------------------------------


Steps = list[tuple[str, Usage]]


def ours(ops: dict[str, dict[str, Any]], transitions: int, progress: str) -> Steps:
    return [
        ("create (POST /jobs)", api_request() + Usage(write_units=ops["create"]["write_units"])
         + s3_usage(ops["create"])),
        ("run: workflow + worker claim", Usage(
            lambda_requests=1, lambda_gb_seconds=p.WORKER_MEMORY_GB * p.WORKER_BILLED_SECONDS,
            transitions=transitions, write_units=ops["claim"]["write_units"])),
        (f"{PROGRESS_REPORTS} progress reports", Usage(write_units=ops[progress]["write_units"])),
        ("finish", Usage(write_units=ops["finish"]["write_units"])),
        (f"{READS} reads (GET /jobs/{{id}})", api_request(READS)
         + Usage(read_units=READS * ops["get"]["read_units"])),
    ]


def ours_on_express(ops: dict[str, dict[str, Any]], progress: str) -> list[tuple[str, Usage]]:
    """As deployed: short leaf jobs run on the Express twin of the state machine
    (billed per run and duration); the same calls otherwise."""
    steps = ours(ops, 0, progress)
    _, usage = steps[1]
    usage.express_executions = 1
    usage.express_gb_seconds = p.EXPRESS_MEMORY_GB * p.WORKER_BILLED_SECONDS
    return steps


# Issue 23's floor: what no design avoids on this stack. One single-unit
# write per state change and per progress report, no index; the same
# requests, invocations, Express run and reads as ours.
FLOOR_WRITES = (1, 1, PROGRESS_REPORTS, 1, 0)  # create, run (the claim), progress, finish, reads


def floor(ops: dict[str, dict[str, Any]], progress: str) -> Steps:
    steps = ours_on_express(ops, progress)
    for (_, usage), units in zip(steps, FLOOR_WRITES, strict=True):
        usage.write_units = units
    return steps


def naive(ops: dict[str, dict[str, Any]], progress: str) -> list[tuple[str, Usage]]:
    per_progress_write = ops[progress]["writes"][0]["table_only_units"]
    return [
        ("create (POST /jobs)", api_request()
         + Usage(write_units=ops["create"]["write_units_table_only"])),
        ("run: workflow + worker claim", Usage(
            lambda_requests=1, lambda_gb_seconds=p.WORKER_MEMORY_GB * p.WORKER_BILLED_SECONDS,
            transitions=NAIVE_STATES, write_units=ops["claim"]["write_units_table_only"])),
        (f"{PROGRESS_REPORTS} progress reports",
         Usage(write_units=PROGRESS_REPORTS * per_progress_write)),
        ("finish", Usage(write_units=ops["finish"]["write_units_table_only"])),
        (f"{READS} reads (GET /jobs/{{id}})", api_request(READS)
         + Usage(read_units=READS * ops["get"]["read_units"])),
    ]


def total(steps: list[tuple[str, Usage]]) -> Usage:
    usage = Usage()
    for _, step in steps:
        usage = usage + step
    return usage


def per_million(steps: list[tuple[str, Usage]]) -> dict[str, dict[str, float]]:
    """{step: {service: $ per million jobs}}, with a "total" step."""
    table = {name: {service: cost * 1e6 for service, cost in dollars(usage).items()}
             for name, usage in steps}
    table["total"] = {service: cost * 1e6 for service, cost in dollars(total(steps)).items()}
    return table


# -- list pages ---------------------------------------------------------------


def list_page_costs(item_bytes: int, page: Mapping[str, Any]) -> list[dict[str, Any]]:
    """$ per million list pages: the naive Scan of the whole table vs one page
    of ours: a Query of the index, then the page's records by BatchGetItem
    (every match is checked on its record), with the entry and record sizes
    the calls benchmark's list page read, for a page of LIST_PAGE_ITEMS."""
    api = sum(dollars(api_request()).values())
    rows = []
    for jobs in (1_000, 100_000):
        table_bytes = jobs * item_bytes
        units = scan_read_units(table_bytes)
        rows.append(list_row(f"naive: Scan of {jobs:,} jobs", math.ceil(
            table_bytes / SCAN_CALL_BYTES), units, api, "model"))
    entries, records = page["query_item_bytes"], page["batch_get_items"]
    if not entries or not records:
        raise ValueError("the calls benchmark's list page read no entry or no record")
    entry_bytes = sum(entries) / len(entries)
    record_units = page["read_units_by_operation"]["BatchGetItem"] / records
    query_units = math.ceil(LIST_PAGE_ITEMS * entry_bytes / READ_UNIT_BYTES) / 2
    rows.append(list_row(
        f"ours: 1 Query + 1 BatchGetItem, a {LIST_PAGE_ITEMS}-item page (any table size)", 2,
        query_units + LIST_PAGE_ITEMS * record_units, api,
        f"measured sizes: index entries of {entry_bytes:.0f} B, records at "
        f"{record_units:g} RRU each"))
    return rows


def list_row(design: str, calls: int, units: float, api: float, basis: str) -> dict[str, Any]:
    dynamodb = units * p.DYNAMODB_READ_UNIT.dollars
    return {"design": design, "calls": calls, "read_units": units,
            "dynamodb": dynamodb * 1e6, "total": (dynamodb + api) * 1e6, "basis": basis}


# -- the cascade of a cancel (not part of the leaf job) ------------------------------

# ASSUMED: what the cascade adds to the parent's Finish task in AWS, per child:
# one TransactWriteItems round trip (moto's time says nothing about AWS's).
CASCADE_SECONDS_PER_CHILD = 0.010
CASCADE_PARTS = (
    (cascade.API, "cancel request: API Gateway + API Lambda, its read and writes"),
    (cascade.CASCADE, "Finish task: read the children, abort each (a transaction: the child "
     "+ its count on the parent), release the parent"),
    (cascade.LEARNS, "each child's refused progress write (one it makes anyway)"),
    (cascade.AFTER, "each child's worker drops it from the active index"),
)


def cascade_steps(pricing: dict[str, Any]) -> Steps:
    """One cancel of a parent with `pricing["children"]` running children, by
    part: the measured calls x request units per call (bench/cascade.py)."""
    children = pricing["children"]
    steps = []
    for kind, label in CASCADE_PARTS:
        rows = [r for r in pricing["rows"] if r["kind"] == kind and r["wru"] is not None]
        usage = Usage(write_units=sum(r["wru"] for r in rows),
                      read_units=sum(r["rru"] for r in rows))
        if kind == cascade.API:
            usage = usage + api_request()
        if kind == cascade.CASCADE:  # the Finish task runs anyway; the cascade lengthens it
            usage.lambda_gb_seconds = (p.WORKER_MEMORY_GB * children
                                       * CASCADE_SECONDS_PER_CHILD)
        steps.append((label, usage))
    return steps


def cascade_rows(pricing: dict[str, Any]) -> list[dict[str, Any]]:
    """$ per cancel by part and service, the total, and the total per child."""
    return part_rows(cascade_steps(pricing), pricing["children"])


def part_rows(steps: Steps, children: int) -> list[dict[str, Any]]:
    """$ by part and service with its request units, the total, and the
    total per child."""
    rows = []
    for name, usage in [*steps, ("total", total(steps))]:
        costs = dollars(usage)
        rows.append({"step": name, **costs, "total": sum(costs.values()),
                     "wru": usage.write_units, "rru": usage.read_units})
    whole = rows[-1]
    rows.append({"step": "total per child", **{s: whole[s] / children for s in SERVICES},
                 "total": whole["total"] / children, "wru": whole["wru"] / children,
                 "rru": whole["rru"] / children})
    return rows


def part_table(rows: list[dict[str, Any]], title: str) -> Table:
    return Table({"step": "part", **{s: f"{s} $" for s in SERVICES}, "total": "total $",
                  "wru": "WRU", "rru": "RRU"}, rows, title)


def measured_pricing(measured: Section | None) -> dict[str, Any] | None:
    """The `pricing` a benchmark's section holds, if it ran without error."""
    if measured is None or "error" in measured.data:
        return None
    pricing: dict[str, Any] | None = measured.data.get("pricing")
    return pricing


# -- a parent with 1,000 children (issue 23; not part of the leaf job) -----------------

# ASSUMED: what the fan-out adds to the parent's Run task per child in AWS: a
# 25th of a BatchWriteItem round trip and an 8th of a StartExecution one (the
# factory starts 8 at a time), about 3 ms; the aggregate's BatchGetItem (100
# children a call) is in it too.
FANOUT_SECONDS_PER_CHILD = 0.003
PARENT_TASKS = 3  # Run, WaitChildren (waitForTaskToken invokes the worker once), Finish


def tree_steps(pricing: Mapping[str, Any]) -> Steps:
    """A fan-out parent with `pricing["children"]` children, by party: the
    measured DynamoDB calls x request units per call (bench/trees.py), the
    parent's billed transitions, each child one Express run and one worker
    invocation as the leaf job's run."""
    children = pricing["children"]
    if pricing["child_runner"] != "express":
        raise ValueError(f"children ran on {pricing['child_runner']}: priced as Express")
    measured = {party: Usage(
        write_units=sum(r["wru"] for r in pricing["rows"]
                        if r["party"] == party and r["wru"] is not None),
        read_units=sum(r["rru"] for r in pricing["rows"]
                       if r["party"] == party and r["rru"] is not None))
        for party in trees.PARTIES}
    worker = p.WORKER_MEMORY_GB * p.WORKER_BILLED_SECONDS
    return [
        (trees.CLIENT, api_request(2) + measured[trees.CLIENT]),
        (trees.PARENT, measured[trees.PARENT] + Usage(
            lambda_requests=PARENT_TASKS,
            lambda_gb_seconds=PARENT_TASKS * worker
            + p.WORKER_MEMORY_GB * children * FANOUT_SECONDS_PER_CHILD,
            transitions=pricing["parent_transitions"])),
        (trees.CHILD, measured[trees.CHILD] + Usage(
            lambda_requests=children, lambda_gb_seconds=children * worker,
            express_executions=children,
            express_gb_seconds=children * p.EXPRESS_MEMORY_GB * p.WORKER_BILLED_SECONDS)),
    ]


def tree_rows(pricing: Mapping[str, Any]) -> list[dict[str, Any]]:
    """$ per parent by party, the total, and the total per child."""
    return part_rows(tree_steps(pricing), pricing["children"])


def per_million_children(rows: list[dict[str, Any]], children: int) -> list[dict[str, Any]]:
    """Each part's $ per million children and request units per child."""
    return [{"step": row["step"],
             **{key: row[key] / children * 1e6 for key in (*SERVICES, "total")},
             "wru": row["wru"] / children, "rru": row["rru"] / children}
            for row in rows if row["step"] != "total per child"]


def add_tree(section: Section, measured: Section | None) -> None:
    """The fan-out parent priced per child, beside the leaf job, when the
    trees benchmark's section is there."""
    pricing = measured_pricing(measured)
    if not pricing:
        section.notes.append("A parent with 1,000 children is priced per child when the trees "
                             "benchmark runs too (`python -m bench --only trees --only cost`).")
        return
    children = pricing["children"]
    rows = per_million_children(tree_rows(pricing), children)
    leaf = section.data["per_million"]["ours"]["total"]
    usage = section.data["usage_per_job"]["ours"]
    rows[-1]["step"] = "total, per child"
    rows.append({"step": "a leaf job, for comparison (per job)", **leaf,
                 "total": sum(leaf.values()), "wru": usage["write_units"],
                 "rru": usage["read_units"]})
    per_child, leaf_row = rows[-2], rows[-1]
    section.tables.append(part_table(
        rows, f"A parent with {children:,} children, $ per million children, request units "
              "per child (not part of the leaf job)"))
    section.notes.append(
        f"A parent with {children:,} children (demo.fanout, children demo.echo on Express): "
        "the calls the trees benchmark counted, told to the client, the parent's tasks or a "
        "child's worker, x request units per call recorded with their items in a fan-out of "
        f"{pricing['price_children']} (a transaction's table writes at 2 units per KB, a "
        "batch priced item by item); the parent's "
        f"{pricing['parent_transitions']} billed transitions and {PARENT_TASKS} worker "
        f"invocations, lengthened by an ASSUMED {FANOUT_SECONDS_PER_CHILD * 1000:.0f} ms per "
        "child; each child one Express run and one worker invocation, as the leaf job's run. "
        f"${per_child['total']:.2f} per million children ({per_child['wru']:.2f} WRU and "
        f"{per_child['rru']:.2f} RRU each), against ${leaf_row['total']:.2f} per million leaf "
        "jobs: a child makes no REST request (the leaf job's three are "
        f"${leaf['API Gateway']:.2f} of its price), and writes a few more units (its count "
        "on the parent, in a transaction with its finish)."
        + (f" Unpriced: {', '.join(pricing['unpriced'])}." if pricing["unpriced"] else ""))
    section.data["tree"] = {"children": children, "rows": rows,
                            "fanout_seconds_per_child_assumed": FANOUT_SECONDS_PER_CHILD}


# -- authorizing a request (issue 16; not part of the leaf job) -------------------------

# The authorizer is a Lambda function of its own (Chalice's default memory),
# run by API Gateway before every request (ttl_seconds=0: API Gateway
# remembers nothing). Its durations are ASSUMED, warm: moto's times say
# nothing of AWS's. Lambda bills by the millisecond.
AUTHORIZER_MEMORY_GB = p.API_MEMORY_GB  # Chalice's default for every function, 128 MB
AUTHORIZER_SECONDS = 0.005  # ASSUMED: a JWT's signature, or a remembered key's hash
AUTHORIZER_READ_SECONDS = 0.015  # ASSUMED: that plus one DynamoDB round trip
# A script using one API key: requests per second, all on one warm container.
SCRIPT_RATE = 1.0


def authorizer_run(reads_or_writes: float = 0.0) -> Usage:
    """One authorizer invocation; `reads_or_writes` is the share of checks that
    wait for a DynamoDB round trip (0: none, 1: every one)."""
    seconds = AUTHORIZER_SECONDS + reads_or_writes * (AUTHORIZER_READ_SECONDS
                                                      - AUTHORIZER_SECONDS)
    return Usage(lambda_requests=1, lambda_gb_seconds=AUTHORIZER_MEMORY_GB * seconds)


def authorization_steps(measured: dict[str, Any], cache_seconds: float) -> Steps:
    """Per authorized request, by credential: the authorizer's invocation and
    the request units its measured calls cost (bench/credentials.py)."""
    from bench.credentials import cached_reads_per_request

    auth, routes = measured["authorizer"], measured["routes"]
    key_units = auth["api_key_first"]["read_units"]
    share = cached_reads_per_request(SCRIPT_RATE, cache_seconds)
    single = auth["token_single_first"]["write_units"]
    mint = routes["create_token"]["write_units"]
    return [
        ("JWT: signature only, no call", authorizer_run()
         + Usage(read_units=auth["jwt"]["read_units"],
                 write_units=auth["jwt"]["write_units"])),
        ("API key, not remembered: 1 consistent GetItem", authorizer_run(1)
         + Usage(read_units=key_units)),
        (f"API key remembered {cache_seconds:g} s, a script at {SCRIPT_RATE:g} request/s: "
         f"1 read per {1 / share:g} requests", authorizer_run(share)
         + Usage(read_units=share * key_units)),
        ("multi-use token, not remembered: 1 consistent GetItem", authorizer_run(1)
         + Usage(read_units=auth["token_multi_first"]["read_units"])),
        ("single-use token: 1 conditional DeleteItem", authorizer_run(1)
         + Usage(write_units=single)),
        ("single-use token with its POST /auth/tokens (JWT-authorized, 1 PutItem)",
         authorizer_run(1) + Usage(write_units=single) + api_request() + authorizer_run()
         + Usage(write_units=mint)),
    ]


def authorization_rows(steps: Steps, requests_per_job: int) -> list[dict[str, Any]]:
    """$ per million requests by service, the extra over a JWT, and what that
    extra adds per million leaf jobs (each `requests_per_job` requests)."""
    rows = []
    jwt_total = sum(dollars(steps[0][1]).values())
    for name, usage in steps:
        costs = dollars(usage)
        whole = sum(costs.values())
        rows.append({"credential": name, **{s: costs[s] * 1e6 for s in SERVICES},
                     "total": whole * 1e6, "rru": usage.read_units, "wru": usage.write_units,
                     "over_jwt": (whole - jwt_total) * 1e6,
                     "per_leaf_job": (whole - jwt_total) * requests_per_job * 1e6})
    return rows


def add_authorization(section: Section, measured: Section, leaf_per_million: float) -> None:
    """The authorizer's cost per million requests by credential (issue 16),
    beside (not in) the leaf job."""
    data = measured.data
    cache_seconds = float(data["script"]["cache_seconds"])
    rows = authorization_rows(authorization_steps(data, cache_seconds), READS + 1)
    section.tables.append(Table(
        {"credential": "credential", **{s: f"{s} $" for s in SERVICES}, "total": "total $",
         "rru": "RRU", "wru": "WRU", "over_jwt": "more than a JWT $",
         "per_leaf_job": f"added per million leaf jobs ({READS + 1} requests) $"}, rows,
        "Authorizing a request, $ per million requests (not part of the leaf job)"))
    jwt = rows[0]
    section.notes.append(
        "Authorizing: API Gateway runs the authorizer Lambda before every request "
        "(ttl_seconds=0), "
        f"{AUTHORIZER_MEMORY_GB * 1024:.0f} MB for an ASSUMED "
        f"{AUTHORIZER_SECONDS * 1000:.0f} ms, or {AUTHORIZER_READ_SECONDS * 1000:.0f} ms when "
        "it waits for DynamoDB; request units as measured by the credentials benchmark. The "
        f"leaf job's ${leaf_per_million:.2f} per million leaves the authorizer out, as it "
        f"always has: with a JWT it adds ${jwt['total'] * (READS + 1):.2f} per million leaf "
        f"jobs ({READS + 1} requests); the last column is what a key or token adds on top. "
        f"The remembered key assumes one warm container serving the script (a read per "
        f"{cache_seconds:g} s); N containers busy with one key read it N times as often.")
    section.data["authorization"] = {
        "rows": rows, "script_rate_per_second": SCRIPT_RATE, "cache_seconds": cache_seconds,
        "assumptions": {"authorizer_memory_gb": AUTHORIZER_MEMORY_GB,
                        "authorizer_seconds": AUTHORIZER_SECONDS,
                        "authorizer_read_seconds": AUTHORIZER_READ_SECONDS}}


# -- job events (issue 17; not part of the leaf job) --------------------------------

# The event function (app.job_events) is Chalice's default 128 MB. Its
# durations are ASSUMED, warm: moto's times say nothing of AWS's. It sends one
# message at a time, so its duration grows with the sends of its batch.
EVENT_MEMORY_GB = 128 / 1024
EVENT_BATCH_SECONDS = 0.010  # ASSUMED: parse the batch, one Query round trip per tenant
EVENT_SEND_SECONDS = 0.005  # ASSUMED: one post_to_connection round trip
WS_MESSAGE_BYTES = 32 * 1024  # API Gateway bills WebSocket messages in 32 KB units
# (watchers of the tenant, events per batch) priced per million events.
# 0 watchers: what every job's writes cost with nobody watching.
EVENT_CASES = ((0, 1), (0, 100), (1, 1), (1, 100), (10, 1), (100, 1), (100, 100))
LONG_POLL_SECONDS = 25  # GET /jobs/{id}?wait=25, the longest wait
POLL_EVERY_SECONDS = 1.0  # the long poll reads the job once a second (service.POLL_SECONDS)
FOLLOW_SECONDS = (10, 60)  # how long the followed leaf job runs
MINUTE = 60.0


def ws_messages(message_bytes: int) -> int:
    """Billed messages for one message of `message_bytes` (32 KB units)."""
    return max(1, math.ceil(message_bytes / WS_MESSAGE_BYTES))


def event_batch(events: float, watchers: int, query_rru: float, message_bytes: int,
                tenants: int = 1) -> Usage:
    """One invocation of the event function: a batch of `events` events of
    `tenants` tenants (one Query each), each sent to `watchers` watchers.
    Reading the stream is free (DynamoDB Streams read by Lambda)."""
    sends = events * watchers
    seconds = EVENT_BATCH_SECONDS * tenants + EVENT_SEND_SECONDS * sends
    return Usage(lambda_requests=1, lambda_gb_seconds=EVENT_MEMORY_GB * seconds,
                 read_units=query_rru * tenants, ws_messages=sends * ws_messages(message_bytes))


def per_million_events(watchers: int, per_batch: int, subscription_bytes: int,
                       message_bytes: int) -> Usage:
    """Usage of a million events, `per_batch` of them in each batch."""
    from bench.events import query_units

    batch = event_batch(per_batch, watchers, query_units(watchers, subscription_bytes),
                        message_bytes)
    return Usage(**{f.name: getattr(batch, f.name) * 1e6 / per_batch for f in fields(batch)})


def event_rows(subscription_bytes: int, message_bytes: int) -> list[dict[str, Any]]:
    rows = []
    for watchers, per_batch in EVENT_CASES:
        usage = per_million_events(watchers, per_batch, subscription_bytes, message_bytes)
        costs = dollars(usage)
        whole = sum(costs.values())
        rows.append({"watchers": watchers, "per_batch": per_batch,
                     "invocations": usage.lambda_requests, "rru": usage.read_units,
                     "messages": usage.ws_messages, **{s: costs[s] for s in SERVICES},
                     "total": whole,
                     "per_million_sends": whole / watchers if watchers else None})
    return rows


def route_usage(figures: dict[str, Any], messages: float = 0) -> Usage:
    """A WebSocket route: its Lambda invocation (the API's memory and assumed
    duration), its request units, and the messages it is billed."""
    return Usage(lambda_requests=1,
                 lambda_gb_seconds=p.API_MEMORY_GB * p.API_BILLED_SECONDS,
                 read_units=figures["rru"], write_units=figures["wru"], ws_messages=messages)


def follow_websocket(seconds: float, events: int, routes: dict[str, Any], query_rru: float,
                     message_bytes: int) -> Steps:
    """One watcher connects, subscribes, receives the job's `events` events
    (each in a batch of its own: low traffic, the dearest case) and
    disconnects; connected for the job's `seconds`, billed by the started minute."""
    return [
        ("$connect", route_usage(routes["connect"])),
        ("subscribe (1 message in, 1 reply out)", route_usage(routes["subscribe"], 2)),
        (f"{events} events, 1 batch each", Usage(**{
            f.name: getattr(event_batch(1, 1, query_rru, message_bytes), f.name) * events
            for f in fields(Usage)})),
        ("$disconnect", route_usage(routes["disconnect"])),
        ("connection minutes", Usage(ws_minutes=math.ceil(seconds / MINUTE))),
    ]


def long_poll_requests(seconds: float, moves: int) -> int:
    """GET ?wait=25 answers at each move of state or progress, or after 25 s:
    with `moves` moves spread evenly over `seconds`, one request per move and
    one per 25 s waited without one."""
    gap = seconds / moves
    return moves * (1 + math.floor(gap / LONG_POLL_SECONDS))


def follow_long_poll(seconds: float, moves: int, get_rru: float) -> Steps:
    """Requests of GET /jobs/{id}?wait=25 until the end: each reads the job
    once, then once a second while it waits; the API Lambda is billed for the
    whole wait."""
    requests = long_poll_requests(seconds, moves)
    reads = requests + seconds / POLL_EVERY_SECONDS
    return [(f"{requests} long polls, {reads:g} reads", Usage(
        api_requests=requests, lambda_requests=requests,
        lambda_gb_seconds=p.API_MEMORY_GB * (seconds + requests * p.API_BILLED_SECONDS),
        read_units=reads * get_rru))]


def follow_polling(seconds: float, get_rru: float) -> Steps:
    """GET /jobs/{id} once a second until it sees the end."""
    requests = math.ceil(seconds / POLL_EVERY_SECONDS)
    return [(f"{requests} GETs", api_request(requests) + Usage(read_units=requests * get_rru))]


def follow_rows(events_data: dict[str, Any]) -> list[dict[str, Any]]:
    """$ per million jobs followed to their end, by design and job length."""
    from bench.events import query_units

    counts = events_data["counts"]
    sleep, routes = counts["cases"]["sleep"], counts["routes"]
    events, message_bytes = sleep["events"], sleep["message_bytes"]
    moves = events - 1  # after the `added` the submitter saw in its answer
    query_rru = query_units(1, counts["watcher_items"]["subscription"])
    get_rru = routes["get"]["rru"]
    rows = []
    for seconds in FOLLOW_SECONDS:
        designs = {
            "WebSocket watcher, connected for the job": follow_websocket(
                seconds, events, routes, query_rru, message_bytes),
            "WebSocket watcher already connected (the job's events only)": [
                step for step in follow_websocket(seconds, events, routes, query_rru,
                                                  message_bytes) if "events" in step[0]],
            f"long poll (?wait={LONG_POLL_SECONDS})": follow_long_poll(seconds, moves, get_rru),
            "GET every second": follow_polling(seconds, get_rru),
        }
        for name, steps in designs.items():
            usage = total(steps)
            costs = dollars(usage)
            rows.append({"seconds": seconds, "design": name,
                         **{s: costs[s] * 1e6 for s in SERVICES},
                         "total": sum(costs.values()) * 1e6,
                         "api_requests": usage.api_requests, "messages": usage.ws_messages,
                         "rru": usage.read_units, "wru": usage.write_units,
                         "gb_seconds": usage.lambda_gb_seconds})
    return rows


def add_events(section: Section, measured: Section | None, leaf_per_million: float) -> None:
    """Job events priced per million events and per job followed (issue 17),
    beside (not in) the leaf job; when the events benchmark ran in this run."""
    if measured is None or "error" in measured.data:
        section.notes.append("Job events are priced when the events benchmark runs too "
                             "(`python -m bench --only events --only cost`).")
        return
    data = measured.data
    counts = data["counts"]
    subscription_bytes = counts["watcher_items"]["subscription"]
    message_bytes = counts["cases"]["sleep"]["message_bytes"]
    rows = event_rows(subscription_bytes, message_bytes)
    section.tables.append(Table(
        {"watchers": "watchers of the tenant", "per_batch": "events per batch",
         "invocations": "invocations", "rru": "RRU", "messages": "messages",
         **{s: f"{s} $" for s in SERVICES}, "total": "total $",
         "per_million_sends": "$ per million sends"}, rows,
        "Job events, $ per million events (not part of the leaf job)"))
    follow = follow_rows(data)
    section.tables.append(Table(
        {"seconds": "job s", "design": "watching one job to its end",
         **{s: f"{s} $" for s in SERVICES}, "total": "total $",
         "api_requests": "REST requests", "messages": "WS messages", "rru": "RRU",
         "wru": "WRU", "gb_seconds": "Lambda GB-s"}, follow,
        "Following one leaf job to its end, $ per million jobs followed "
        "(not part of the leaf job)"))
    records = counts["cases"]["sleep"]["records"]
    unwatched = {row["per_batch"]: row["total"] * records for row in rows
                 if row["watchers"] == 0}
    cheapest = {seconds: min((r for r in follow if r["seconds"] == seconds
                              and "already" not in r["design"]), key=lambda r: r["total"])
                for seconds in FOLLOW_SECONDS}
    sleep = counts["cases"]["sleep"]
    section.notes.append(
        f"Job events: the event function ({EVENT_MEMORY_GB * 1024:.0f} MB) is one invocation "
        f"per batch for an ASSUMED {EVENT_BATCH_SECONDS * 1000:.0f} ms per tenant in the "
        f"batch plus {EVENT_SEND_SECONDS * 1000:.0f} ms per send (sends are made one at a "
        "time); one eventually consistent Query per tenant per batch (0.5 RRU per 4 KB of "
        f"subscriptions, {subscription_bytes} B each); reading the stream is free; one "
        f"WebSocket message per watcher and event ({message_bytes} B, under 32 KB: 1 "
        "message). A batch holds one event at low traffic (the event source mapping polls "
        "several times a second) and up to 100 (the batch size app.py declares) under load. "
        "A connected watcher adds "
        f"${43_200 * p.API_GATEWAY_WS_MINUTE.dollars:.4f} of connection minutes a month "
        f"(43,200 minutes). The leaf job's ${leaf_per_million:.2f} per million leaves events "
        "out: with nobody watching, each write is still a stream record for the event "
        "function, and each batch with events still Queries its tenants' subscriptions "
        f"(watched or not): a leaf job's {records} records add "
        f"${unwatched[1]:.2f} per million jobs at one record per batch, "
        f"${unwatched[100]:.2f} in full batches.")
    section.notes.append(
        f"Following one job: a demo.sleep leaf with {sleep_note(sleep)}; each event in a "
        "batch of its own (the dearest case); the connection billed by the started minute "
        "(ASSUMED); $connect and $disconnect are not billed as messages, each runs the API's "
        f"function ({p.API_MEMORY_GB * 1024:.0f} MB x {p.API_BILLED_SECONDS * 1000:.0f} ms, "
        f"ASSUMED). The long poll answers at each of the job's {sleep['events'] - 1} moves "
        f"(state or progress) or after {LONG_POLL_SECONDS} s, reads the job once a second "
        "while it waits (a consistent GetItem, "
        f"{data['counts']['routes']['get']['rru']:g} RRU) and keeps the API function running "
        "the whole time. Cheapest: " + "; ".join(
            f"{seconds} s: {row['design']} (${row['total']:.2f} per million jobs)"
            for seconds, row in cheapest.items()) + ".")
    section.data["events"] = {
        "per_million_events": rows, "follow_one_job": follow,
        "unwatched_per_million_leaf_jobs": {str(k): v for k, v in unwatched.items()},
        "cheapest": {str(k): v["design"] for k, v in cheapest.items()},
        "assumptions": {"event_memory_gb": EVENT_MEMORY_GB,
                        "event_batch_seconds": EVENT_BATCH_SECONDS,
                        "event_send_seconds": EVENT_SEND_SECONDS,
                        "follow_seconds": list(FOLLOW_SECONDS),
                        "long_poll_seconds": LONG_POLL_SECONDS}}


# -- a TrueNAS client running one job (issue 18; not part of the leaf job) --------------

# Each JSON-RPC message runs the WebSocket message handler (app.events_message,
# a function of its own at Chalice's default 128 MB) for the API's ASSUMED
# duration; it is billed one message in and its answer out (32 KB units). The
# job's own create (its PutItem and StartExecution) is left out: any face pays
# it, and the leaf job prices it. The event function runs for every batch of
# the job's records anyway (watched or not: see the events table), so a call
# that waits adds only its own work there: the once-subscription's two writes
# and the answer's send, one round trip each.
TRUENAS_SECONDS = (10, 60)  # how long the followed job runs, its progress each second
TRUENAS_PROGRESS_EVERY = 1.0
TRUENAS_ANSWER_ROUND_TRIPS = 3  # DeleteItem, UpdateItem, PostToConnection
TRUENAS_WAYS = ("pytruenas", "events", "aiotruenas")


def truenas_message(rru: float, wru: float, frame_bytes: int, answer_bytes: int | None
                    ) -> Usage:
    """One message through the message handler: its invocation, its units,
    the frame in and (`answer_bytes` not None) its answer out."""
    messages = ws_messages(frame_bytes) + (ws_messages(answer_bytes)
                                           if answer_bytes is not None else 0)
    return Usage(lambda_requests=1, lambda_gb_seconds=p.API_MEMORY_GB * p.API_BILLED_SECONDS,
                 read_units=rru, write_units=wru, ws_messages=messages)


def client_units(figures: dict[str, Any]) -> tuple[float, float]:
    """(RRU, WRU) of a measured message, less the job's own PutItem."""
    rru = wru = 0.0
    for call in figures["by_call"]:
        if call["operation"] == "PutItem" and call["table"] == "jobs":
            continue
        if call["operation"] in ("GetItem", "Query"):
            rru += call["units"]
        else:
            wru += call["units"]
    return rru, wru


def truenas_measured_message(figures: dict[str, Any], answered: bool = True) -> Usage:
    rru, wru = client_units(figures)
    return truenas_message(rru, wru, figures["frame_bytes"],
                           figures["answer_bytes"] if answered else None)


def truenas_answer(figures: dict[str, Any]) -> Usage:
    """The event function's share of a waiting call: deleting the
    once-subscription, taking it off its connection, sending the answer (no
    invocation of its own; the subscriptions Query is made for the batch anyway)."""
    wru = sum(c["units"] for c in figures["by_call"] if c["operation"] != "Query")
    return Usage(lambda_gb_seconds=EVENT_MEMORY_GB * TRUENAS_ANSWER_ROUND_TRIPS
                 * EVENT_SEND_SECONDS, write_units=wru,
                 ws_messages=ws_messages(figures["answer_bytes"]))


def truenas_polls(way: str, seconds: float) -> int:
    """core.get_jobs calls a client makes following a job of `seconds`."""
    from bench.truenas import backoff_polls, fixed_polls

    if way == "pytruenas":
        return backoff_polls(seconds, TRUENAS_PROGRESS_EVERY)
    if way == "aiotruenas":
        return fixed_polls(seconds)
    return 0


def truenas_steps(way: str, seconds: float, measured: dict[str, Any]) -> Steps:
    """One job run by a TrueNAS client, by step: the call, then its polls
    (pytruenas, aiotruenas) or the event function's answer (legacy_jobs false)."""
    if way == "events":
        return [("call (legacy_jobs false): 1 message in, the subscription stored",
                 truenas_measured_message(measured["call_wait"], answered=False)),
                ("the event function's answer", truenas_answer(measured["answer"]))]
    polls = truenas_polls(way, seconds)
    poll = truenas_measured_message(measured["get_jobs"])
    return [("call (legacy_jobs true): the id answered",
             truenas_measured_message(measured["call_legacy"])),
            (f"{polls} core.get_jobs by id", Usage(**{
                f.name: getattr(poll, f.name) * polls for f in fields(Usage)}))]


TRUENAS_LABELS = {
    "pytruenas": "pytruenas: call + core.get_jobs, back-off 0.25-2 s (reset on change)",
    "events": "legacy_jobs false: one call, answered by the event function",
    "aiotruenas": "aiotruenas: call + core.get_jobs every 1 s",
}


def truenas_rows(measured: dict[str, Any]) -> list[dict[str, Any]]:
    """$ per million jobs run by a TrueNAS client, by way and job length."""
    rows = []
    for seconds in TRUENAS_SECONDS:
        for way in TRUENAS_WAYS:
            usage = total(truenas_steps(way, seconds, measured))
            costs = dollars(usage)
            rows.append({"seconds": seconds, "way": way, "design": TRUENAS_LABELS[way],
                         "polls": truenas_polls(way, seconds),
                         "invocations": usage.lambda_requests, "messages": usage.ws_messages,
                         "rru": usage.read_units, "wru": usage.write_units,
                         **{s: costs[s] * 1e6 for s in SERVICES},
                         "total": sum(costs.values()) * 1e6})
    return rows


def measured_data(section: Section, measured: Section | None, benchmark: str,
                  priced: str) -> dict[str, Any] | None:
    """What `benchmark` measured, or None (and a note saying how to run it)."""
    if measured is None or "error" in measured.data:
        section.notes.append(f"{priced} are priced when the {benchmark} benchmark runs too "
                             f"(`python -m bench --only {benchmark} --only cost`).")
        return None
    return measured.data


def add_truenas(section: Section, measured: Section | None, leaf_per_million: float) -> None:
    """A TrueNAS client running one job, priced by its way of following it
    (issue 18), beside (not in) the leaf job; when the truenas benchmark ran."""
    data = measured_data(section, measured, "truenas", "TrueNAS clients")
    if data is None:
        return
    rows = truenas_rows(data)
    section.tables.append(Table(
        {"seconds": "job s", "design": "way of following the job", "polls": "polls",
         "invocations": "handler invocations", "messages": "WS messages", "rru": "RRU",
         "wru": "WRU", **{s: f"{s} $" for s in SERVICES}, "total": "total $"}, rows,
        "A TrueNAS client running one job, $ per million jobs (not part of the leaf job)"))
    cheapest = {seconds: min((r for r in rows if r["seconds"] == seconds),
                             key=lambda r: r["total"]) for seconds in TRUENAS_SECONDS}
    by = {(r["seconds"], r["way"]): r for r in rows}
    section.notes.append(
        "A TrueNAS client running one job: each message runs the message handler "
        f"({p.API_MEMORY_GB * 1024:.0f} MB x {p.API_BILLED_SECONDS * 1000:.0f} ms, ASSUMED) "
        "and is billed 1 WebSocket message in and 1 out (its answer; under 32 KB each); "
        "request units as the truenas benchmark measured them, less the job's own create "
        "(any face pays it; the leaf job prices it). pytruenas polls `core.get_jobs` by id "
        f"at once, then after {PYTRUENAS_TEXT}; aiotruenas every "
        "1 s (`_JOB_POLL_INTERVAL`); the job's progress changes each second. legacy_jobs "
        "false: one message in, the once-subscription stored (2 WRU), and the event "
        "function's answer: its two writes and one send, "
        f"{TRUENAS_ANSWER_ROUND_TRIPS} round trips of an ASSUMED "
        f"{EVENT_SEND_SECONDS * 1000:.0f} ms in a batch it runs anyway. The session "
        "($connect, login, core.set_options) and its connection minutes are the same for "
        "all three and left out. Cheapest: " + "; ".join(
            f"{seconds} s: {row['design'].split(':')[0]} (${row['total']:.2f} per million "
            f"jobs, against ${by[(seconds, 'pytruenas')]['total']:.2f} for pytruenas and "
            f"${by[(seconds, 'aiotruenas')]['total']:.2f} for aiotruenas)"
            for seconds, row in cheapest.items())
        + f"; the leaf job itself is ${leaf_per_million:.2f} per million.")
    section.data["truenas"] = {
        "rows": rows, "cheapest": {str(k): v["way"] for k, v in cheapest.items()},
        "assumptions": {"handler_memory_gb": p.API_MEMORY_GB,
                        "handler_seconds": p.API_BILLED_SECONDS,
                        "answer_round_trips": TRUENAS_ANSWER_ROUND_TRIPS,
                        "answer_round_trip_seconds": EVENT_SEND_SECONDS,
                        "job_seconds": list(TRUENAS_SECONDS),
                        "progress_every_seconds": TRUENAS_PROGRESS_EVERY}}


# -- an async request followed with python-arango (not part of the leaf job) -----------

# python-arango's AsyncJob has no wait loop: a client calls status() (one
# GET /_api/job/{id}) until it answers done, then result() (one PUT). Each
# request runs the API Lambda (its ASSUMED duration) and no authorizer: the
# face checks the credential itself. The replay is one Express execution and
# one worker invocation, as the leaf job's run.
ARANGODB_POLLS = (1, 5, 30)


def arangodb_request(figures: dict[str, Any], count: float = 1) -> Usage:
    """`count` requests of a measured kind: API Gateway + the API Lambda (no
    authorizer), their request units and S3 calls."""
    return api_request(count) + Usage(read_units=count * figures["rru"],
                                      write_units=count * figures["wru"],
                                      s3_puts=count * sum(c.startswith("s3.")
                                                          for c in figures["calls"]))


def arangodb_replay(figures: dict[str, Any]) -> Usage:
    """The worker's replay: one Express execution and one worker invocation
    (the leaf job's run step), and the writes it made."""
    return Usage(lambda_requests=1,
                 lambda_gb_seconds=p.WORKER_MEMORY_GB * p.WORKER_BILLED_SECONDS,
                 express_executions=1,
                 express_gb_seconds=p.EXPRESS_MEMORY_GB * p.WORKER_BILLED_SECONDS,
                 read_units=figures["rru"], write_units=figures["wru"])


def arangodb_steps(polls: int, measured: dict[str, Any]) -> Steps:
    """One async request followed with python-arango: the request (202), the
    replay, `polls` status() calls (the last one sees it done) and one result()."""
    if polls < 1:
        raise ValueError("a client polls at least once before it fetches")
    pending = arangodb_request(measured["status_pending"], polls - 1)
    done = arangodb_request(measured["status_done"])
    return [
        ("accept: GET /_api/version, x-arango-async: store (202)",
         arangodb_request(measured["accept"])),
        ("replay: Express execution + worker", arangodb_replay(measured["replay"])),
        (f"{polls} status() (GET /_api/job/{{id}}): {polls - 1} x 204, 1 x 200",
         pending + done),
        ("result() (PUT /_api/job/{id}, once)", arangodb_request(measured["fetch"])),
    ]


def arangodb_key_extra(requests: float, key_rru: float) -> float:
    """$ a Basic API key adds to `requests` requests when no read is remembered:
    its consistent GetItem each, and the API Lambda waiting for it (the
    authorizer's ASSUMED read wait, now billed in the API Lambda)."""
    usage = Usage(read_units=requests * key_rru,
                  lambda_gb_seconds=requests * p.API_MEMORY_GB
                  * (AUTHORIZER_READ_SECONDS - AUTHORIZER_SECONDS))
    return sum(dollars(usage).values())


def arangodb_rows(measured: dict[str, Any], polls: tuple[int, ...] = ARANGODB_POLLS
                  ) -> list[dict[str, Any]]:
    """$ per million async requests followed with python-arango, by polls."""
    native_authorizer = sum(dollars(authorizer_run()).values())
    key_rru = measured["basic_first"]["rru"]
    rows = []
    for k in polls:
        usage = total(arangodb_steps(k, measured))
        costs = dollars(usage)
        requests = usage.api_requests
        rows.append({"polls": k, "requests": requests, "invocations": usage.lambda_requests,
                     "rru": usage.read_units, "wru": usage.write_units,
                     "express": usage.express_executions, "s3": usage.s3_puts,
                     **{s: costs[s] * 1e6 for s in SERVICES},
                     "total": sum(costs.values()) * 1e6,
                     "api_key": arangodb_key_extra(requests, key_rru) * 1e6,
                     "native_authorizer": requests * native_authorizer * 1e6})
    return rows


def arangodb_step_rows(measured: dict[str, Any]) -> list[dict[str, Any]]:
    """$ per million of each step on its own (one status poll), to compose."""
    rows = []
    for name, usage in [*arangodb_steps(1, measured)[:2],
                        ("one status() poll", arangodb_request(measured["status_pending"])),
                        arangodb_steps(1, measured)[3]]:
        costs = dollars(usage)
        rows.append({"step": name, **{s: costs[s] * 1e6 for s in SERVICES},
                     "total": sum(costs.values()) * 1e6,
                     "rru": usage.read_units, "wru": usage.write_units})
    return rows


def add_arangodb(section: Section, measured: Section | None, leaf_per_million: float) -> None:
    """An async request followed with python-arango, priced by its polls,
    beside (not in) the leaf job; when the arangodb benchmark ran."""
    data = measured_data(section, measured, "arangodb", "ArangoDB clients")
    if data is None:
        return
    rows = arangodb_rows(data)
    section.tables.append(Table(
        {"polls": "status() polls", "requests": "REST requests",
         "invocations": "Lambda invocations", "rru": "RRU", "wru": "WRU",
         "express": "Express executions", "s3": "S3 requests",
         **{s: f"{s} $" for s in SERVICES}, "total": "total $",
         "api_key": "+ Basic API key, never remembered $",
         "native_authorizer": "an authorizer per request would add $"}, rows,
        "An async request followed with python-arango, $ per million requests "
        "(not part of the leaf job)"))
    section.tables.append(Table(
        {"step": "step", **{s: f"{s} $" for s in SERVICES}, "total": "total $",
         "rru": "RRU", "wru": "WRU"}, arangodb_step_rows(data),
        "ArangoDB: each step, $ per million"))
    by = {row["polls"]: row for row in rows}
    section.notes.append(
        "An async request followed with python-arango: `GET /_api/version` with "
        "`x-arango-async: store` (202), the worker's replay (one Express execution and one "
        f"worker invocation, {p.WORKER_MEMORY_GB * 1024:.0f} MB x "
        f"{p.WORKER_BILLED_SECONDS * 1000:.0f} ms ASSUMED, as the leaf job's run), k "
        "status() polls and one result(). python-arango's AsyncJob has no wait loop: a "
        "client calls status() (one GET /_api/job/{id}) until it answers done, so k is the "
        "client's; priced at k = " + ", ".join(str(k) for k in ARANGODB_POLLS) + ": "
        + "; ".join(f"${by[k]['total']:.2f}" for k in ARANGODB_POLLS)
        + " per million. Each request is one API Gateway REST request and one API Lambda "
        f"invocation ({p.API_MEMORY_GB * 1024:.0f} MB x {p.API_BILLED_SECONDS * 1000:.0f} ms, "
        "ASSUMED) and no authorizer invocation: these routes are declared without API "
        "Gateway's authorizer and the face checks the credential in the API Lambda. With a "
        "JWT that check makes no call (the rows); a Basic API key costs one consistent "
        "GetItem when the container does not remember it (at most once per 60 s per "
        "container and key), priced in its column at its worst (every request reads, the "
        f"API Lambda waiting {(AUTHORIZER_READ_SECONDS - AUTHORIZER_SECONDS) * 1000:.0f} ms "
        "for it, ASSUMED). The native routes run the authorizer Lambda before every request "
        "(see Authorizing a request; the leaf job leaves it out): the last column is what it "
        "would add to the same requests with a JWT. The fetch's S3 DeleteObjects is priced "
        "as a PUT (as every S3 call here). The leaf job itself is "
        f"${leaf_per_million:.2f} per million.")
    section.data["arangodb"] = {
        "rows": rows, "steps": arangodb_step_rows(data), "polls": list(ARANGODB_POLLS),
        "assumptions": {"api_memory_gb": p.API_MEMORY_GB,
                        "api_seconds": p.API_BILLED_SECONDS,
                        "worker_seconds": p.WORKER_BILLED_SECONDS,
                        "key_read_wait_seconds": AUTHORIZER_READ_SECONDS
                        - AUTHORIZER_SECONDS}}


PYTRUENAS_TEXT = "0.25 s, doubling to at most 2 s, back to 0.25 s when state or progress changed"


def numbers_note(ops: dict[str, Any], measured: Section | None) -> str:
    """The leaf job's note: what job numbers add to it."""
    from chalicelib.numbering import BLOCK

    by_number = ops["create"].get("write_units_by_index", {}).get("by_number", 0)
    if measured is not None and "error" not in measured.data:
        reservation = float(measured.data["reservation_wru_per_job"])
        basis = "measured by the truenas benchmark"
    else:
        reservation = 1.0 / BLOCK
        basis = f"1 WRU per block of {BLOCK}, not measured in this run"
    per_job = by_number + reservation
    dollars_per_million = per_job * p.DYNAMODB_WRITE_UNIT.dollars * 1e6
    return (f"Numbers: +{per_job:.2f} WRU per leaf job (${dollars_per_million:.2f} per "
            f"million): the by_number index's put at create ({by_number} WRU, already in "
            f"the create's units above) and {reservation:.2f} WRU of a reservation ({basis}; "
            "one UpdateItem per 100 jobs a process creates, left out of the leaf job's "
            "figures).")


def sleep_note(sleep: dict[str, Any]) -> str:
    kinds = sleep["kinds"]
    return (f"{sleep['events']} events ({kinds['added']} added, {kinds['changed']} changed: "
            "RUNNING, 3 progress reports, SUCCESS), run for the job's length")


# -- a leaf job anchored to a resource (issue 20) ------------------------------------

# The leaf job's steps (ours/ours_on_express order) that write, by the names
# bench/cloudsigma.py measures their write units under.
ANCHORED_STEPS = ("create", "claim", "progress", "finish")
# calls.py's names for the same writes (the cost model's progress case).
CALLS_STEPS = {"create": "create", "claim": "claim", "progress": "progress_spread",
               "finish": "finish"}


def anchored_steps(steps: Steps, extra: Mapping[str, float]) -> Steps:
    """The leaf job's steps with the write units anchoring adds to each
    (`extra` by ANCHORED_STEPS name; the steps after them, the reads, add none)."""
    out = []
    for n, (name, usage) in enumerate(steps):
        added = extra.get(ANCHORED_STEPS[n], 0) if n < len(ANCHORED_STEPS) else 0
        out.append((name, usage + Usage(write_units=added)))
    return out


def anchored_rows(steps: Steps, anchored: Steps) -> list[dict[str, Any]]:
    """Per step and in total: write units and $ per million, without and with
    a resource, and what the resource adds."""
    rows = []
    for (name, plain), (_, with_resource) in zip(
            [*steps, ("total", total(steps))], [*anchored, ("total", total(anchored))],
            strict=True):
        plain_cost = sum(dollars(plain).values()) * 1e6
        anchored_cost = sum(dollars(with_resource).values()) * 1e6
        rows.append({"step": name, "wru": plain.write_units,
                     "wru_anchored": with_resource.write_units,
                     "extra_wru": with_resource.write_units - plain.write_units,
                     "total": plain_cost, "total_anchored": anchored_cost,
                     "extra": anchored_cost - plain_cost})
    return rows


def add_anchored(section: Section, measured: Section | None, ops: dict[str, Any],
                 progress: str, leaf_per_million: float) -> None:
    """The leaf job anchored to one resource, beside the leaf job: the same
    steps, each with the write units bench/cloudsigma.py measured it to add
    (priced when that benchmark ran in this run; the leaf job is unchanged)."""
    from bench.cloudsigma import extra_units

    units = (measured.data.get("leaf_units") if measured is not None
             and "error" not in measured.data else None)
    if not units:
        section.notes.append("A leaf job anchored to a resource is priced when the cloudsigma "
                             "benchmark runs too (`python -m bench --only cloudsigma --only "
                             "cost`).")
        return
    extra = extra_units(units)
    steps = ours_on_express(ops, progress)
    rows = anchored_rows(steps, anchored_steps(steps, extra))
    section.tables.append(Table(
        {"step": "step", "wru": "WRU, leaf job", "wru_anchored": "WRU, anchored",
         "extra_wru": "extra WRU", "total": "leaf job $ / million",
         "total_anchored": "anchored $ / million", "extra": "extra $ / million"}, rows,
        "A leaf job anchored to a resource, $ per million leaf jobs (beside the leaf job)"))
    whole = rows[-1]
    twin = {step: units["plain"][step]["write_units"] for step in ANCHORED_STEPS}
    same = all(twin[step] == ops[CALLS_STEPS[step]]["write_units"] for step in ANCHORED_STEPS)
    section.notes.append(
        "A leaf job anchored to a resource (issue 20: submitted with `\"resources\": "
        "[{\"type\": \"drive\", \"id\": \"d1\"}]`, so it carries tenant_resource and is "
        "in the sparse by_tenant_resource index, INCLUDE projection): the leaf job's steps, "
        "each with the write units the cloudsigma benchmark measured anchoring to add (an "
        "anchored bench.phases job against the same job without, from the item images): "
        + ", ".join(f"{step} +{extra[step]:g}" for step in ANCHORED_STEPS)
        + f" = +{whole['extra_wru']:g} WRU per job (the index's put at create; since issue 23 "
        "no state change and no progress write touches it), "
        f"${whole['extra']:.2f} more per million: ${whole['total_anchored']:.2f} against "
        f"${leaf_per_million:.2f} (the leaf job's target: < ${TARGET_PER_MILLION:.0f}). "
        "The job without a resource measured there "
        + ("wrote the same units as the calls benchmark's leaf job."
           if same else "wrote " + ", ".join(f"{s} {twin[s]}" for s in ANCHORED_STEPS)
           + " WRU, not quite the calls benchmark's leaf job; the extra is the difference "
           "between the two measured there.")
        + " More resources add nothing to the index (only the first anchors the job), "
        "only item bytes.")
    section.data["anchored"] = {"rows": rows, "extra_wru": extra, "resource_steps":
                                list(ANCHORED_STEPS), "twin_matches_calls": same}


# -- the section ----------------------------------------------------------------


def run(context: Any) -> Section:
    calls = context.results["calls"].data
    ops, progress = calls["operations"], calls["cost_model_progress"]
    transitions = context.results["transitions"].data["leaf"]["billed"]
    designs = {
        "ours": ours_on_express(ops, progress),
        "ours_standard": ours(ops, transitions, progress),
        "naive": naive(ops, progress),
        "floor": floor(ops, progress),
    }
    tables = {name: per_million(steps) for name, steps in designs.items()}
    totals = {name: sum(table["total"].values()) for name, table in tables.items()}
    item_bytes = max(ops["get"]["read_items_bytes"])
    list_rows = list_page_costs(item_bytes, ops["list_page"])
    section = build_section(designs, tables, totals, list_rows, ops, progress, transitions)
    add_authorization(section, context.results["credentials"], totals["ours"])
    return section


def complete(sections: Mapping[str, Section]) -> None:
    """What cost prices from the figures of benchmarks it does not need, once
    every benchmark has run and the sections are merged: each from this run,
    or kept from an earlier run by --merge (the report's header names the run
    each section came from). trees runs in a process of its own, so it is
    only there by now."""
    section, leaf = sections["cost"], sections["cost"].data["totals"]["ours"]
    calls = sections["calls"].data
    ops, progress = calls["operations"], calls["cost_model_progress"]
    add_cascade(section, sections.get("cascade"), leaf)
    add_events(section, sections.get("events"), leaf)
    add_truenas(section, sections.get("truenas"), leaf)
    add_arangodb(section, sections.get("arangodb"), leaf)
    add_anchored(section, sections.get("cloudsigma"), ops, progress, leaf)
    add_tree(section, sections.get("trees"))
    after = next((n for n, note in enumerate(section.notes)
                  if note.startswith("Global secondary indexes")), len(section.notes) - 1)
    section.notes.insert(after + 1, numbers_note(ops, sections.get("truenas")))


def add_cascade(section: Section, measured: Section | None, leaf_per_million: float) -> None:
    """The cancel of a many-child parent, priced when the cascade benchmark ran
    in this run (it is not a `need`: a failed or skipped cascade leaves the
    leaf job's figures alone)."""
    pricing = measured_pricing(measured)
    if not pricing:
        section.notes.append("The cancel of a 1,000-child parent is priced when the cascade "
                             "benchmark runs too (`python -m bench --only cascade --only cost`).")
        return
    rows = cascade_rows(pricing)
    children = pricing["children"]
    per_child = rows[-1]["total"]
    section.tables.append(part_table(
        rows, f"Cancel of a {children:,}-child parent, $ per cancel (not part of the leaf job)"))
    section.notes.append(
        f"Cancel of a {children:,}-child parent (all RUNNING): the calls the cascade benchmark "
        "counted x request units per call recorded with their items (a transaction's table "
        "writes at 2 units per KB, its index writes as any other); the cascade lengthens the "
        f"parent's Finish task by an ASSUMED {CASCADE_SECONDS_PER_CHILD * 1000:.0f} ms per "
        f"child (one transaction round trip); no transition is added. ${per_child * 1e6:.2f} "
        f"per million children cancelled, against ${leaf_per_million:.2f} per million leaf "
        "jobs run. The refused progress writes replace writes the children would have made.")
    section.data["cancel_cascade"] = {"children": children, "rows": rows,
                                      "seconds_per_child_assumed": CASCADE_SECONDS_PER_CHILD,
                                      "unpriced": pricing.get("unpriced", [])}


def step_rows(table: dict[str, dict[str, float]]) -> list[dict[str, Any]]:
    return [{"step": step, **{s: costs[s] for s in SERVICES}, "total": sum(costs.values())}
            for step, costs in table.items()]


def usage_rows(designs: dict[str, list[tuple[str, Usage]]]) -> list[dict[str, Any]]:
    usages = {name: total(steps) for name, steps in designs.items()}
    labels = {
        "api_requests": "API Gateway requests", "lambda_requests": "Lambda invocations",
        "lambda_gb_seconds": "Lambda GB-seconds (assumed durations)",
        "write_units": "DynamoDB write request units", "read_units": "DynamoDB read request units",
        "transitions": "Step Functions Standard transitions",
        "express_executions": "Step Functions Express executions",
        "s3_puts": "S3 requests",
    }
    return [{"quantity": label, **{name: getattr(usage, key) for name, usage in usages.items()}}
            for key, label in labels.items()]


def build_section(designs: dict[str, list[tuple[str, Usage]]],
                  tables: dict[str, dict[str, dict[str, float]]], totals: dict[str, float],
                  list_rows: list[dict[str, Any]], ops: dict[str, Any], progress: str,
                  transitions: int) -> Section:
    service_columns = {"step": "step", **{s: f"{s} $" for s in SERVICES}, "total": "total $"}
    compare_rows = [
        {"service": service, "floor": tables["floor"]["total"][service],
         "ours": tables["ours"]["total"][service],
         "ours_standard": tables["ours_standard"]["total"][service],
         "naive": tables["naive"]["total"][service],
         "above_floor": ratio_or_none(tables["ours"]["total"][service],
                                      tables["floor"]["total"][service]),
         "ratio": ratio_or_none(tables["naive"]["total"][service],
                                tables["ours"]["total"][service])}
        for service in SERVICES
    ]
    compare_rows.append({"service": "total", "floor": totals["floor"], "ours": totals["ours"],
                         "ours_standard": totals["ours_standard"], "naive": totals["naive"],
                         "above_floor": totals["ours"] / totals["floor"],
                         "ratio": totals["naive"] / totals["ours"]})
    met = totals["ours"] < TARGET_PER_MILLION
    burst_saving = ((ops[progress]["write_units"] - ops["progress_burst"]["write_units"])
                    * p.DYNAMODB_WRITE_UNIT.dollars * 1e6)
    fixed = tables["ours"]["total"]["API Gateway"] + tables["ours"]["total"]["Step Functions"]
    writes = ("create", "claim", progress, "finish")
    all_units = sum(ops[key]["write_units"] for key in writes)
    index_units = all_units - sum(ops[key]["write_units_table_only"] for key in writes)
    return Section(
        name="cost",
        title="Cost model: dollars per million leaf jobs",
        how=("measured counts of this run (DynamoDB request units modelled with the indexes of "
             "infra/template.yaml, billed transitions from the execution history) x AWS list "
             f"prices ({p.REGION}, read {p.PRICES_DATE}, bench/prices.py); Lambda durations "
             "assumed."),
        tables=[
            Table({"service": "service", "floor": "floor $", "ours": "ours $ (leaf on Express)",
                   "ours_standard": "ours, long-running method on Standard $",
                   "naive": "naive $", "above_floor": "ours / floor", "ratio": "naive / ours"},
                  compare_rows, "Per million leaf jobs, by service"),
            Table({"step": "step", "floor_wru": "floor WRU", "ours_wru": "ours WRU",
                   "naive_wru": "naive WRU", "floor": "floor $", "ours": "ours $",
                   "naive": "naive $", "above": "ours - floor $"},
                  floor_rows(designs, tables), "Ours against the floor and the naive design, "
                  "by step ($ per million leaf jobs)"),
            Table(service_columns, step_rows(tables["ours"]), "Ours, by step"),
            Table(service_columns, step_rows(tables["naive"]), "Naive, by step"),
            Table({"quantity": "per leaf job", "floor": "floor", "ours": "ours (Express)",
                   "ours_standard": "ours on Standard", "naive": "naive"}, usage_rows(designs),
                  "Usage per leaf job"),
            Table({"design": "list page", "calls": "DynamoDB calls", "read_units": "RRU",
                   "dynamodb": "DynamoDB $ / million pages",
                   "total": "with API Gateway + Lambda $ / million pages", "basis": "basis"},
                  list_rows, "List pages (not part of the leaf job)"),
        ],
        notes=[
            f"A leaf job: create, {PROGRESS_REPORTS} progress reports, finish, {READS} reads. "
            f"Progress uses the measured `{progress}` case (3 reports more than an interval "
            "apart: 3 writes); reports within one interval cost 1 write, "
            f"${burst_saving:.2f} less per million jobs.",
            f"Lambda: API handler {p.API_MEMORY_GB * 1024:.0f} MB x "
            f"{p.API_BILLED_SECONDS * 1000:.0f} ms per request, worker "
            f"{p.WORKER_MEMORY_GB * 1024:.0f} MB x {p.WORKER_BILLED_SECONDS * 1000:.0f} ms per "
            "job (both ASSUMED, warm; the method's own run time is excluded since any design "
            "pays it). Init (cold start) time is not modelled.",
            "Ours: a leaf job of a method not declared long_running runs as one Express "
            f"execution ({p.EXPRESS_MEMORY_GB * 1024:.0f} MB for the worker's assumed "
            "duration), billed per run, not per transition; every write also pays for the "
            "global secondary indexes it touches (see the calls section). Long-running "
            f"methods run on Standard: {transitions} billed transition(s) per job (measured "
            "from the history).",
            f"Naive: {NAIVE_STATES} Standard transitions, no indexes, one write per progress "
            "call.",
            "Floor (issue 23): what no design avoids on this stack: the same 3 REST requests, "
            "invocations, Express run and reads as ours, and one single-unit write per state "
            f"change and per progress report ({sum(FLOOR_WRITES)} write units), no index. "
            f"Ours is ${totals['ours'] - totals['floor']:.2f} per million above it: its index "
            "writes, less what coalescing the progress reports saves.",
            f"Fixed part: API Gateway (3 REST requests) and the workflow cost ${fixed:.2f} per "
            "million leaf jobs before any write.",
            f"Global secondary indexes: {index_units} of the {all_units} write units per leaf job "
            f"({100 * index_units / all_units:.0f}%) are index writes. The indexes every job is "
            "in (by_tenant, by_tenant_method, by_tenant_user, by_number) key on and project "
            "only what a job never changes, so they take one put at create; the state lives "
            "in two sparse indexes a job enters once each (by_active while unfinished: a put "
            "at create, a delete at the finish; by_tenant_state once finished: a put). The "
            "claim and progress writes touch no index (issue 23).",
            "The naive design's Scan cost shows only on list reads, priced per page below; "
            f"item size {max(ops['get']['read_items_bytes'])} bytes (the measured finished job).",
        ],
        checks=[Check("$ per million leaf jobs", f"< ${TARGET_PER_MILLION:.0f}",
                      f"${totals['ours']:.2f}", met),
                Check("write units per leaf job (issue 23)", f"<= {TARGET_WRITE_UNITS}",
                      " + ".join(f"{key} {ops[key]['write_units']:g}" for key in writes)
                      + f" = {all_units:g} (floor 6)", all_units <= TARGET_WRITE_UNITS),
                Check("$ per million leaf jobs (issue 23)",
                      f"<= ${TARGET_PER_MILLION_ISSUE_23:.0f}", f"${totals['ours']:.2f}",
                      totals["ours"] <= TARGET_PER_MILLION_ISSUE_23)],
        data={"per_million": tables, "totals": totals,
              "usage_per_job": {name: vars(total(steps)) for name, steps in designs.items()},
              "list_pages": list_rows,
              "assumptions": {"api_memory_gb": p.API_MEMORY_GB,
                              "api_billed_seconds": p.API_BILLED_SECONDS,
                              "worker_memory_gb": p.WORKER_MEMORY_GB,
                              "worker_billed_seconds": p.WORKER_BILLED_SECONDS,
                              "express_memory_gb": p.EXPRESS_MEMORY_GB,
                              "naive_states": NAIVE_STATES, "progress_case": progress}},
    )


def floor_rows(designs: dict[str, Steps],
               tables: dict[str, dict[str, dict[str, float]]]) -> list[dict[str, Any]]:
    """Each step's write units and $ per million: the floor, ours, naive (the
    three name their steps alike)."""
    compared = ("floor", "ours", "naive")
    usages = {d: {**dict(designs[d]), "total": total(designs[d])} for d in compared}
    rows = []
    for step in usages["ours"]:
        costs = {d: sum(tables[d][step].values()) for d in compared}
        rows.append({"step": step, **{f"{d}_wru": usages[d][step].write_units for d in compared},
                     **costs, "above": costs["ours"] - costs["floor"]})
    return rows


def ratio_or_none(a: float, b: float) -> float | None:
    return a / b if b else None


def prices_section(context: Any) -> Section:
    rows = [{"item": name, "price": price.published_as, "source": price.source}
            for name, price in p.ALL.items()]
    return Section(
        name="prices",
        title="Prices used",
        how=f"AWS list prices, {p.REGION}, on-demand, no free tier, read {p.PRICES_DATE}.",
        tables=[Table({"item": "item", "price": "price", "source": "source"}, rows)],
        data={"date": p.PRICES_DATE, "region": p.REGION,
              "prices": {name: {"dollars_per_unit": price.dollars, "unit": price.unit,
                                "published_as": price.published_as, "source": price.source}
                         for name, price in p.ALL.items()}},
    )
