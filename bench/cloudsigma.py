"""The CloudSigma 2.0 face: the AWS calls of its requests (GET
/api/2.0/jobs/{uuid}/ of a leaf job and of a demo.server_clone with its
nested children; a list with limit=20 and with limit=0, what CloudSigma's
library sends; the schema, which needs no call).

Also, for the cost model (issue 20): the write units per step of a leaf job
anchored to a resource (`"resources": [{"type": "drive", "id": "d1"}]` at
submit: the job carries `tenant_resource` and sits in the sparse
by_tenant_resource index) beside the same leaf job without one, measured as
the calls benchmark measures the leaf job (`calls.run_leaf_job`: a
bench.phases job, its writes priced from the item images with the indexes
of infra/template.yaml).

Everything runs in-process on moto (bench.local_aws), through the Chalice
test client. The routes are declared without API Gateway's authorizer (the
face checks the credential itself) and are called with a JWT, which costs
no AWS call, so every call counted is the route's own. A tenant of its own
keeps the lists exact. The worker runs in moto's threads: its calls carry
the counter's default label and are not counted against a request.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from typing import Any

from bench import calls as leaf_calls
from bench.counting import CallCounter
from bench.dynamo_units import TableShape
from bench.local_aws import LocalAws, local_aws
from bench.section import Check, Row, Section, Table
from chalicelib import keys

TENANT = "bench-cloudsigma"
USER = "bench"
API = "/api/2.0/jobs"
LEAF_JOBS = 31
DRIVES = ("d1", "d2", "d3")
LISTED = LEAF_JOBS + 1 + len(DRIVES)  # the parent's children are the tenant's jobs too
PAGE = 20
BACKGROUND = "background"
RESOURCE = {"type": "drive", "id": "d1"}
# The leaf job's write steps, as calls.run_leaf_job names them (progress: the
# spread case, 3 reports more than an interval apart, as the cost model uses).
STEPS = ("create", "claim", "progress", "finish")


ROWS = (
    Row("get_leaf", "`GET /api/2.0/jobs/{uuid}/`, a finished leaf job (demo.echo)", "GetItem",
        ("dynamodb.GetItem",)),
    Row("get_parent", f"`GET /api/2.0/jobs/{{uuid}}/`, a demo.server_clone with "
        f"{len(DRIVES)} drive_clone children, nested",
        "GetItem + BatchGetItem (its children, by key)",
        ("dynamodb.GetItem", "dynamodb.BatchGetItem")),
    Row("list_page", f"`GET /api/2.0/jobs/?limit={PAGE}` ({LISTED} jobs, one a parent)",
        "measured (the page, its parent's children, a count for total_count)", None),
    Row("list_all", f"`GET /api/2.0/jobs/?limit=0` ({LISTED} jobs; what the cloudsigma "
        "library sends)", "measured (every page, each parent's children, no count)", None),
    Row("schema", "`GET /api/2.0/jobs/schema/`", "none", ()),
)


class CloudSigma:
    """The face's routes (and POST /jobs to make jobs) through the Chalice
    test client, as one caller."""

    def __init__(self, aws: LocalAws, authorization: str) -> None:
        self.aws = aws
        self.authorization = authorization

    def send(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        response = self.aws.http.http.request(
            method, path, body=json.dumps(body) if body is not None else b"",
            headers={"Content-Type": "application/json", "Authorization": self.authorization})
        return response.status_code, json.loads(response.body) if response.body else None

    def submitted(self, method: str, params: dict[str, Any]) -> str:
        code, answer = self.send("POST", "/jobs", {"method": method, "params": params})
        if code != 202:
            raise RuntimeError(f"POST /jobs answered {code}: {answer}")
        return str(answer["id"])


def measure() -> dict[str, Any]:
    from chalicelib.authn import mint
    from local.emulated import LOCAL_JWT_SECRET

    jwt = "Bearer " + mint(LOCAL_JWT_SECRET, TENANT, USER, ["TENANT_ADMIN"], 24 * 3600)
    with local_aws() as aws:
        face = CloudSigma(aws, jwt)
        counter = CallCounter(aws.app_clients(), images=aws.raw.dynamodb, key_names=("id",))
        counter.default_label = BACKGROUND
        with counter.attached():
            return requests(aws, face, counter)


def requests(aws: LocalAws, face: CloudSigma, counter: CallCounter) -> dict[str, Any]:
    out: dict[str, Any] = {}

    def measured(label: str, path: str) -> Any:
        started = time.perf_counter()
        with counter.phase(label):
            code, answer = face.send("GET", path)
        if code != 200:
            raise RuntimeError(f"GET {path} answered {code}: {answer}")
        out[label] = {"calls": [f"{c.service}.{c.operation}" for c in counter.calls(label)],
                      "status": code, "seconds": time.perf_counter() - started}
        return answer

    leaf = ""
    for _ in range(LEAF_JOBS):
        leaf = face.submitted("demo.echo", {})
        aws.wait_for_execution(leaf)
    parent = face.submitted("demo.server_clone",
                            {"server": "s1", "drives": list(DRIVES), "seconds": 0})
    aws.wait_for_execution(parent)
    wait_for_children(aws, parent, len(DRIVES))

    measured("get_leaf", f"{API}/{leaf}/")
    shown = measured("get_parent", f"{API}/{parent}/")
    out["get_parent"]["children"] = len(shown["children"])
    page = measured("list_page", f"{API}/?limit={PAGE}")
    out["list_page"]["objects"] = len(page["objects"])
    out["list_page"]["total_count"] = page["meta"]["total_count"]
    whole = measured("list_all", f"{API}/?limit=0")
    out["list_all"]["objects"] = len(whole["objects"])
    out["list_all"]["total_count"] = whole["meta"]["total_count"]
    measured("schema", f"{API}/schema/")
    return out


def wait_for_children(aws: LocalAws, parent: str, children: int, timeout: float = 60) -> None:
    """The parent's children finish in executions of their own."""
    deadline = time.monotonic() + timeout
    while True:
        item = aws.item(parent) or {}
        if item.get("state", {}).get("S") == "SUCCESS":
            found = int(item.get("child_total", {}).get("N", "0"))
            if found == children:
                break
        if time.monotonic() > deadline:
            raise TimeoutError(f"{parent}'s {children} children never finished")
        time.sleep(0.05)


# -- a leaf job anchored to a resource (issue 20), for the cost model ----------------


class AnchoredAws(LocalAws):
    """LocalAws whose submit names RESOURCE, so that calls.run_leaf_job
    measures an anchored leaf job exactly as it measures the plain one."""

    def submit(self, method: str, params: dict[str, Any] | None = None) -> str:
        answer = self.request("POST", "/jobs", {"method": method, "params": params or {},
                                                "resources": [RESOURCE]})
        if answer.status != 202:
            raise RuntimeError(f"POST /jobs answered {answer.status}: {answer.body}")
        return str(answer.body["id"])


def measure_leaf_units() -> dict[str, Any]:
    """Write units per step of a bench.phases leaf job, without and with one
    resource, measured side by side in one moto (create, claim and finish
    from a burst run as calls.py takes them, progress from a spread run)."""
    from local.provision import load_template

    with local_aws(progress_interval=leaf_calls.PROGRESS_INTERVAL) as aws:
        shape = TableShape.from_template(load_template())
        anchored_aws = AnchoredAws(aws.provisioned, aws.http, aws.raw)
        counter = CallCounter(aws.app_clients(), images=aws.raw.dynamodb, key_names=shape.keys)
        out: dict[str, Any] = {}
        with counter.attached():
            for name, runner in (("plain", aws), ("anchored", anchored_aws)):
                burst = leaf_calls.run_leaf_job(runner, counter, gap=0.0)
                spread = leaf_calls.run_leaf_job(runner, counter, gap=leaf_calls.SPREAD_GAP)
                phases = {"create": burst["create"], "claim": burst["claim"],
                          "progress": spread["progress"], "finish": burst["finish"]}
                out[name] = {step: step_units(leaf_calls.operation_figures(phases[step], shape))
                             for step in STEPS}
    return out


def step_units(figures: dict[str, Any]) -> dict[str, Any]:
    """The write units of one step: total, the table's, by index, and each write."""
    return {"write_units": figures["write_units"],
            "table_units": figures["write_units_table_only"],
            "by_index": figures["write_units_by_index"],
            "writes": [{"operation": w["operation"], "item_bytes": w["item_bytes"],
                        "units": w["units"]} for w in figures["writes"]]}


def extra_units(units: dict[str, Any]) -> dict[str, int]:
    """Write units an anchored leaf job adds per step (anchored - plain)."""
    return {step: units["anchored"][step]["write_units"] - units["plain"][step]["write_units"]
            for step in STEPS}


# -- the section ----------------------------------------------------------------------


def run(context: Any) -> Section:
    measured = measure()
    measured["leaf_units"] = measure_leaf_units()
    return build_section(measured)


def calls_text(calls: list[str]) -> str:
    counted = Counter(calls)
    return ", ".join(f"{n} {k.split('.', 1)[1]}" if n > 1 else k.split(".", 1)[1]
                     for k, n in counted.items()) or "none"


def index_text(step: dict[str, Any]) -> str:
    return ", ".join(f"{name} {cost}" for name, cost in sorted(step["by_index"].items())) \
        or "none"


def unit_rows(units: dict[str, Any]) -> list[dict[str, Any]]:
    extra = extra_units(units)
    rows = []
    for step in STEPS:
        plain, anchored = units["plain"][step], units["anchored"][step]
        rows.append({"step": step, "plain": plain["write_units"],
                     "plain_indexes": index_text(plain), "anchored": anchored["write_units"],
                     "anchored_indexes": index_text(anchored), "extra": extra[step]})
    rows.append({"step": "total", "plain": sum(r["plain"] for r in rows), "plain_indexes": "",
                 "anchored": sum(r["anchored"] for r in rows), "anchored_indexes": "",
                 "extra": sum(extra.values())})
    return rows


def build_section(measured: dict[str, Any]) -> Section:
    rows, checks = [], []
    for row in ROWS:
        found = measured[row.key]
        ok = None if row.calls is None else Counter(found["calls"]) == Counter(row.calls)
        rows.append({"request": row.label, "calls": calls_text(found["calls"]),
                     "status": found["status"], "budget": row.budget,
                     "met": "" if ok is None else ok})
        if ok is not None:
            checks.append(Check(f"CloudSigma {row.key}", row.budget,
                                calls_text(found["calls"]), ok))
    shown = [(measured["list_page"]["objects"], PAGE),
             (measured["list_all"]["objects"], LISTED)]
    totals = (measured["list_page"]["total_count"], measured["list_all"]["total_count"])
    checks += [
        Check("CloudSigma children nested", f"{len(DRIVES)}",
              str(measured["get_parent"]["children"]),
              measured["get_parent"]["children"] == len(DRIVES)),
        Check("CloudSigma objects shown", f"{PAGE}, then {LISTED}",
              f"{shown[0][0]}, {shown[1][0]}", all(a == b for a, b in shown)),
        Check("CloudSigma total_count", f"{LISTED} on both", f"{totals[0]}, {totals[1]}",
              totals[0] == totals[1] == LISTED),
    ]
    tables = [Table({"request": "request", "calls": "AWS calls", "status": "status",
                     "budget": "budget", "met": "met"}, rows,
                    "AWS calls per request (each one API Lambda invocation, no authorizer)")]
    notes = [
        "A job shows its children nested (chalicelib.faces.cloudsigma.sub_jobs: at most 100 "
        "of one parent, 500 per answer, 10 levels) read by key, one BatchGetItem per parent "
        "with children (per 100 of them): a list with k parents on it costs k BatchGetItems "
        "more.",
        "limit=0 (all; the cloudsigma library always sends it) walks the whole list in pages "
        "of 250 (chalicelib.faces.cloudsigma.job_window, at most 1,000 jobs): a Query and a "
        "BatchGetItem per 100 records of each page, and knows its total_count; limit=20 stops "
        "early and counts the matches for total_count (a Query over the index, "
        "chalicelib.listing).",
    ]
    units = measured.get("leaf_units")
    if units:
        extra = extra_units(units)
        tables.append(Table(
            {"step": "leaf job step", "plain": "WRU, no resource",
             "plain_indexes": "index WRU, no resource", "anchored": "WRU, one resource",
             "anchored_indexes": "index WRU, one resource", "extra": "extra WRU"},
            unit_rows(units), "Write units per step of a leaf job, without and with one "
            "resource (priced in the cost section)"))
        only_index = all(
            units["anchored"][s]["table_units"] == units["plain"][s]["table_units"]
            and extra[s] == units["anchored"][s]["by_index"].get(keys.BY_TENANT_RESOURCE, 0)
            for s in STEPS)
        checks.append(Check(
            "anchoring adds only by_tenant_resource writes", "extra WRU = that index's, "
            "table WRU unchanged, progress +0",
            ", ".join(f"{s} +{extra[s]}" for s in STEPS),
            only_index and extra["progress"] == 0))
        notes.append(
            "Leaf job anchored to a resource: bench.phases submitted with `\"resources\": "
            f"[{json.dumps(RESOURCE)}]` against the same job without, each measured as the "
            "calls benchmark measures the leaf job (calls.run_leaf_job; write units from the "
            "item images with the indexes of infra/template.yaml). The sparse "
            "by_tenant_resource index (INCLUDE: the listing attributes, which a job never "
            "changes after its creation, issue 23) takes a put at create and nothing after; "
            "progress writes touch no index.")
    return Section(
        name="cloudsigma",
        title="CloudSigma face: AWS calls per request of GET /api/2.0/jobs/",
        how=("in-process on moto: the face's routes through the Chalice test client (no "
             "authorizer: the face checks a JWT, no call), a tenant of its own; calls "
             "counted on the app's DynamoDB, Step Functions and S3 clients."),
        tables=tables,
        notes=notes,
        checks=checks,
        data={**measured, "leaf_jobs": LEAF_JOBS, "listed": LISTED, "page": PAGE,
              "drives": len(DRIVES), "resource": RESOURCE},
    )
