"""Backfill for issue 23's index layout: run once after the code that writes
it is deployed (README.md, "Changing the indexes of a deployed stack").

A job created by earlier code and still unfinished then lacks what the new
layout keys on:
- `active_key` ("<tenant>#<created_key>"), the sort key of by_active (it was
  created_key), so the job is in no by_active partition: neither the
  sweeper nor a state=WAITING/RUNNING listing sees it;
- its `active_shard` was derived from the job id; now from the tenant
  ("active#N"), so a tenant's unfinished jobs are one key range;
- `tenant_state` was set in every state; by_tenant_state now holds finished
  jobs only (an unfinished job's entry there is never read, only paid for).

Only items carrying active_shard need anything (unfinished jobs, and aborted
ones whose execution may still run: "stopping#N", kept as it is); a finished
job enters no changed index again. Each fix is one conditional UpdateItem on
the values the scan saw; a job that moved on meanwhile is read again and,
while it still carries active_shard (claimed, say), fixed on what it holds
now, so one pass misses none; a finished one is left to the code that
finished it: never put back into by_active. Running it again changes nothing.

    python -m chalicelib.backfill --table jobapi-prod-jobs [--start-key JSON]

It Scans the table once (a one-off: a page at a time, filtered to the items
with active_shard) and prints where it stopped if interrupted.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from chalicelib import keys
from chalicelib.states import JobState

ACTIVE_PREFIX = f"active{keys.SEPARATOR}"
UNFINISHED = frozenset(state.value for state in JobState if state.is_active)
PROJECTION = "id, tenant_id, created_key, active_shard, active_key, tenant_state, #state"
SETTLE_ATTEMPTS = 3  # a job moves on a few times in its life at most


@dataclass
class BackfillReport:
    scanned: int = 0  # items read by the Scan
    candidates: int = 0  # items with active_shard
    updated: list[str] = field(default_factory=list)
    moved_on: list[str] = field(default_factory=list)  # changed since the scan: left alone
    next_key: dict[str, Any] | None = None  # where an interrupted run resumes


def wanted(item: dict[str, Any]) -> dict[str, Any]:
    """The attributes to set (plain strings) and to remove (None) on one
    scanned item so it follows the new layout; empty when it does already."""
    tenant = item["tenant_id"]["S"]
    created = item["created_key"]["S"]
    shard = item["active_shard"]["S"]
    state = item.get("state", {}).get("S")
    changes: dict[str, Any] = {}
    active_key = keys.active_key(tenant, created)
    if item.get("active_key", {}).get("S") != active_key:
        changes["active_key"] = active_key
    if shard.startswith(ACTIVE_PREFIX) and shard != keys.active_shard(tenant):
        changes["active_shard"] = keys.active_shard(tenant)
    if state in UNFINISHED and "tenant_state" in item:
        changes["tenant_state"] = None
    return changes


def fix(client: Any, table: str, item: dict[str, Any]) -> bool | None:
    """Apply `wanted` to one item, conditioned on the shard and state the scan
    saw. True: updated; None: nothing to do; False: it moved on meanwhile."""
    changes = wanted(item)
    if not changes:
        return None
    names = {"#shard": "active_shard", "#state": "state"}
    values: dict[str, Any] = {":seen_shard": item["active_shard"]}
    condition = "#shard = :seen_shard"
    if "state" in item:
        condition += " AND #state = :seen_state"
        values[":seen_state"] = item["state"]
    sets, removes = [], []
    for n, (name, value) in enumerate(sorted(changes.items())):
        names[f"#a{n}"] = name
        if value is None:
            removes.append(f"#a{n}")
        else:
            values[f":a{n}"] = {"S": value}
            sets.append(f"#a{n} = :a{n}")
    expression = " ".join(part for part in (
        "SET " + ", ".join(sets) if sets else "",
        "REMOVE " + ", ".join(removes) if removes else "") if part)
    try:
        client.update_item(TableName=table, Key={"id": item["id"]},
                           UpdateExpression=expression, ConditionExpression=condition,
                           ExpressionAttributeNames=names, ExpressionAttributeValues=values)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            return False
        raise
    return True


def settle(client: Any, table: str, item: dict[str, Any]) -> bool | None:
    """`fix` one scanned item; when it moved on since (a claim, a cancel),
    read it again and fix what it holds now, while it still carries
    active_shard. False: it left by_active meanwhile (finished), untouched."""
    for _ in range(SETTLE_ATTEMPTS):
        done = fix(client, table, item)
        if done is not False:
            return done
        now = client.get_item(TableName=table, Key={"id": item["id"]}, ConsistentRead=True,
                              ProjectionExpression=PROJECTION,
                              ExpressionAttributeNames={"#state": "state"}).get("Item")
        if now is None or "active_shard" not in now:
            return False
        item = now
    return False


def backfill(client: Any, table: str, start_key: dict[str, Any] | None = None,
             page: int = 1000, max_pages: int | None = None) -> BackfillReport:
    """Scan `table` from `start_key` and fix every item that needs it; stops
    after `max_pages` pages (None: the whole table), saying where it stopped."""
    report = BackfillReport()
    request: dict[str, Any] = {
        "TableName": table, "Limit": page,
        "FilterExpression": "attribute_exists(active_shard)",
        "ProjectionExpression": PROJECTION,
        "ExpressionAttributeNames": {"#state": "state"}}
    if start_key:
        request["ExclusiveStartKey"] = start_key
    pages = 0
    while True:
        answer = client.scan(**request)
        pages += 1
        report.scanned += int(answer.get("ScannedCount", 0))
        for item in answer.get("Items", []):
            if "tenant_id" not in item or "created_key" not in item:
                continue  # not a job (no other item carries active_shard today)
            report.candidates += 1
            done = settle(client, table, item)
            if done:
                report.updated.append(item["id"]["S"])
            elif done is False:
                report.moved_on.append(item["id"]["S"])
        report.next_key = answer.get("LastEvaluatedKey")
        if report.next_key is None or (max_pages is not None and pages >= max_pages):
            return report
        request["ExclusiveStartKey"] = report.next_key


def main(argv: list[str] | None = None) -> int:
    import boto3

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--table", required=True, help="the jobs table, jobapi-<stage>-jobs")
    parser.add_argument("--start-key", help="resume: the JSON a stopped run printed")
    parser.add_argument("--max-pages", type=int, default=None)
    args = parser.parse_args(argv)
    start = json.loads(args.start_key) if args.start_key else None
    report = backfill(boto3.client("dynamodb"), args.table, start, max_pages=args.max_pages)
    print(json.dumps({"scanned": report.scanned, "candidates": report.candidates,
                      "updated": len(report.updated), "moved_on": len(report.moved_on),
                      "next_key": report.next_key}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
