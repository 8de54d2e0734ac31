"""Items read per list page, at 1,000 and 100,000 jobs (issue 4).

The table is filled with records built exactly as the service writes them
(`items.to_item`), put straight into moto's table (its `put_item`, what its
BatchWriteItem does for each item, without the request and response round
trip through botocore: the filling is not measured, and at 100,000 records
that round trip was half the benchmark's time); the app's client sees none
of it. Then one page of 50 is asked through the Chalice app for
each kind of filter, and a hook on the app's DynamoDB client records every
call and DynamoDB's own ScannedCount (items read). A Scan-based design reads
the whole table for the same page; that is the naive column.
"""

from __future__ import annotations

import random
import time
import urllib.parse
from typing import Any

from bench.local_aws import LocalAws, local_aws
from bench.section import Check, Section, Table

PAGE = 50
SIZES = (1_000, 100_000)
QUICK_SIZES = (1_000, 20_000)
QUERIES = {
    "state (index by_tenant_state)": {"state": "SUCCESS"},
    "method (index by_tenant_method)": {"method": "disk.clone"},
    "no filter (index by_tenant, newest first)": {},
    "state + time range (key condition)": {"state": "FAILED",
                                           "created_after": "2026-01-01T00:00:00Z"},
    "state + a non-indexed filter (progress.percent >= 50)": {
        "state": "RUNNING", "filters": '[["progress.percent", ">=", 50]]'},
}
STATES = ("WAITING", "RUNNING", "SUCCESS", "FAILED", "ABORTED")
METHODS = ("demo.echo", "disk.clone", "config.export", "drive.backup")
# Issue 23's skewed tenant, in the same table beside the uniform one (and in the
# same by_active partition, so its unfinished entries are one key range among
# the other tenant's): as many finished jobs as the table size, 99% SUCCESS and
# 1% FAILED, plus SKEW_UNFINISHED RUNNING and as many WAITING, alternating.
SKEW_UNFINISHED = 100
SKEW_QUERIES = {
    "FAILED of a tenant whose jobs 99% succeeded (by_tenant_state, sparse)": {
        "state": "FAILED"},
    "RUNNING of a tenant with only 200 unfinished jobs (by_active, its key range)": {
        "state": "RUNNING"},
    "WAITING of the same tenant (by_active)": {"state": "WAITING"},
}


def skew_tenant() -> str:
    """A tenant name in the default tenant's by_active partition."""
    from chalicelib import keys

    n = 0
    while keys.active_shard(f"skewed{n}") != keys.active_shard("default"):
        n += 1
    return f"skewed{n}"


def run(context: Any) -> Section:
    rows: list[dict[str, Any]] = []
    data: dict[str, Any] = {}
    for size in (QUICK_SIZES if context.quick else SIZES):
        with local_aws() as aws:
            started = time.perf_counter()
            fill(aws, size)
            filled = time.perf_counter() - started
            for label, params in QUERIES.items():
                figures = one_page(aws, params)
                figures["table_items"] = size
                rows.append(row(size, label, figures))
                data[f"{size}:{label}"] = figures
            data[f"{size}:fill_seconds"] = filled
            # Issue 23: a second tenant, skewed, in the same table.
            tenant = skew_tenant()
            fill_skewed(aws, size, tenant)
            for label, params in SKEW_QUERIES.items():
                figures = one_page(aws, params, tenant)
                figures["table_items"] = 2 * size + 2 * SKEW_UNFINISHED
                rows.append(row(size, label, figures))
                data[f"{size}:{label}"] = figures
    return build_section(rows, data)


def fill(aws: LocalAws, count: int) -> None:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    from chalicelib import items

    backend = dynamodb_backends[DEFAULT_ACCOUNT_ID][aws.raw.dynamodb.meta.region_name]
    table = aws.provisioned.table_name
    rng = random.Random(count)
    for n in range(count):
        backend.put_item(table, items.to_item(make_job(rng, n)))


def fill_skewed(aws: LocalAws, count: int, tenant: str) -> None:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    from chalicelib import items
    from chalicelib.states import JobState

    backend = dynamodb_backends[DEFAULT_ACCOUNT_ID][aws.raw.dynamodb.meta.region_name]
    table = aws.provisioned.table_name
    rng = random.Random(-count)
    # RUNNING and WAITING alternate: half of the tenant's by_active range is
    # the other unfinished state (a page reads 2x its size, the budget).
    unfinished = [JobState.RUNNING, JobState.WAITING] * SKEW_UNFINISHED
    total = count + len(unfinished)
    # The unfinished ones spread over the whole time range, oldest to newest.
    spots = {n * total // len(unfinished): state for n, state in enumerate(unfinished)}
    for n in range(total):
        state = spots.get(n) or (JobState.FAILED if n % 100 == 50 else JobState.SUCCESS)
        job = make_job(rng, n, state=state, tenant=tenant)
        backend.put_item(table, items.to_item(job))


def make_job(rng: random.Random, n: int, state: Any = None,
             tenant: str = "default") -> Any:
    from chalicelib.clock import iso
    from chalicelib.models import Job, Progress
    from chalicelib.states import JobState

    created = 1_780_000_000 + n * 3.0
    state = JobState(state or rng.choice(STATES))
    return Job(
        id=f"{rng.getrandbits(128):032x}", method=rng.choice(METHODS), state=state,
        progress=Progress(percent=rng.choice([None, 10, 50, 90])),
        time_created=iso(created), time_updated=iso(created + 1), tenant_id=tenant,
        time_finished=iso(created + 2) if state.is_terminal else None,
        expires_at=int(time.time()) + 86_400 if state.is_terminal else None,
    )


def one_page(aws: LocalAws, params: dict[str, str], tenant: str = "default") -> dict[str, Any]:
    client = aws.app_clients()["dynamodb"]
    calls: list[tuple[str, int]] = []

    def after(parsed: dict[str, Any], model: Any, **_: Any) -> None:
        calls.append((model.name, int(parsed.get("ScannedCount", 0) or 0)))

    client.meta.events.register("after-call.dynamodb.*", after, unique_id="bench-listing")
    try:
        query = urllib.parse.urlencode({**params, "limit": str(PAGE)})
        answer = aws.request("GET", f"/jobs?{query}", tenant=tenant)
    finally:
        client.meta.events.unregister("after-call.dynamodb.*", unique_id="bench-listing")
    if answer.status != 200:
        raise RuntimeError(f"GET /jobs?{query} answered {answer.status}: {answer.body}")
    names = [name for name, _ in calls]
    return {
        "returned": answer.body["returned_records"],
        "items_read": sum(scanned for _, scanned in calls),
        "queries": names.count("Query"),
        "batch_gets": names.count("BatchGetItem"),
        "scans": names.count("Scan"),
        "calls": names,
    }


def row(size: int, label: str, figures: dict[str, Any]) -> dict[str, Any]:
    ratio = figures["items_read"] / PAGE
    return {
        "jobs": f"{size:,}", "query": label, "returned": figures["returned"],
        "items_read": figures["items_read"], "calls": " + ".join(figures["calls"]),
        "ratio": ratio, "naive": f"{size:,} (Scan)",
        "met": figures["scans"] == 0 and figures["queries"] <= 2 and ratio <= 2,
    }


def build_section(rows: list[dict[str, Any]], data: dict[str, Any]) -> Section:
    indexed = [r for r in rows if "non-indexed" not in r["query"]]
    return Section(
        name="listing",
        title="List pages: items read per page",
        how=("the table filled with records as the service writes them (put into moto's table "
             "directly), then "
             f"one page of {PAGE} through the Chalice app per query; items read = the sum of "
             "DynamoDB's ScannedCount over the app's calls (hook on its client). moto walks "
             "the whole table on every Query, so time says nothing here; items read do."),
        tables=[Table({"jobs": "jobs in table", "query": "query", "returned": "returned",
                       "items_read": "items read", "calls": "calls",
                       "ratio": "items read / page", "naive": "naive (Scan) reads",
                       "met": "1-2 Queries, 0 Scans, <= 2x page"}, rows)],
        notes=["The non-indexed filter reads index items until the page fills or the "
               "request's read budget (2x the page, at least 100) runs out; what did not fit "
               "continues with next_token, so its ratio can reach 2 but not exceed it."],
        checks=[Check("list page on an indexed filter", "1-2 Queries, 0 Scans, <= 2x page",
                      ", ".join(f"{r['jobs']}: {r['items_read']} read" for r in indexed),
                      all(r["met"] for r in indexed))],
        data=data,
    )
