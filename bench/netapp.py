"""The NetApp Service Engine face: the AWS calls of its requests
(GET /v2.1/jobs/{id} of a leaf job and of a parent with its job_tasks, by
UUID and by number; a page of GET /v2.1/jobs, and the count behind its
total_records; POST /v2.1/jobs).

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

from bench.counting import CallCounter
from bench.local_aws import LocalAws, local_aws
from bench.section import Check, Row, Section, Table

TENANT = "bench-netapp"
USER = "bench"
LEAF_JOBS = 30  # more than one page of PAGE jobs: total_records needs a count
PAGE = 20
DRIVES = 3
BACKGROUND = "background"
LISTED = LEAF_JOBS + 1 + DRIVES  # the parent's children are the tenant's jobs too


ROWS = (
    Row("get_leaf", "`GET /v2.1/jobs/{uuid}`, a finished leaf job", "GetItem",
        ("dynamodb.GetItem",)),
    Row("get_parent", f"`GET /v2.1/jobs/{{uuid}}`, a demo.server_clone with {DRIVES} "
        "job_tasks", "GetItem + BatchGetItem (its children, by key)",
        ("dynamodb.GetItem", "dynamodb.BatchGetItem")),
    Row("get_number", "`GET /v2.1/jobs/{number}`, a finished leaf job",
        "Query by_number + the record", None),
    Row("get_wait", "`GET /v2.1/jobs/{uuid}?wait=1`, a finished job (it does not move)",
        "measured (one GetItem a second while it waits)", None),
    Row("list_page", f"`GET /v2.1/jobs?limit={PAGE}` ({LISTED} jobs, one a parent: not the "
        "last page)", "measured (the page, its parent's tasks, a count for total_records)",
        None),
    Row("list_all", f"`GET /v2.1/jobs?limit=100` ({LISTED} jobs: one page)",
        "measured (no count: the page saw the end)", None),
    Row("submit", "`POST /v2.1/jobs` (demo.echo)", "PutItem + StartExecution",
        ("dynamodb.PutItem", "stepfunctions.StartExecution")),
)


class NetApp:
    """The face's routes through the Chalice test client, as one caller."""

    def __init__(self, aws: LocalAws, authorization: str) -> None:
        self.aws = aws
        self.authorization = authorization

    def send(self, method: str, path: str, body: Any = None) -> Any:
        response = self.aws.http.http.request(
            method, path, body=json.dumps(body) if body is not None else b"",
            headers={"Content-Type": "application/json", "Authorization": self.authorization})
        return response.status_code, json.loads(response.body) if response.body else None


def measure() -> dict[str, Any]:
    from chalicelib.authn import mint
    from local.emulated import LOCAL_JWT_SECRET

    jwt = "Bearer " + mint(LOCAL_JWT_SECRET, TENANT, USER, ["TENANT_ADMIN"], 24 * 3600)
    with local_aws() as aws:
        netapp = NetApp(aws, jwt)
        counter = CallCounter(aws.app_clients(), images=aws.raw.dynamodb, key_names=("id",))
        counter.default_label = BACKGROUND
        with counter.attached():
            return requests(aws, netapp, counter)


def requests(aws: LocalAws, netapp: NetApp, counter: CallCounter) -> dict[str, Any]:
    out: dict[str, Any] = {}

    def measured(label: str, method: str, path: str, status: int, body: Any = None) -> Any:
        started = time.perf_counter()
        with counter.phase(label):
            code, answer = netapp.send(method, path, body)
        if code != status:
            raise RuntimeError(f"{method} {path} answered {code}: {answer}")
        out[label] = {"calls": [f"{c.service}.{c.operation}" for c in counter.calls(label)],
                      "status": code, "seconds": time.perf_counter() - started}
        return answer

    warm = submitted(netapp, {"action": "demo.echo"})  # the first reserves job numbers
    aws.wait_for_execution(warm["id"])
    leaf = measured("submit", "POST", "/v2.1/jobs", 202, {"action": "demo.echo"})
    leaf = leaf["result"]["records"][0]
    for _ in range(LEAF_JOBS - 2):
        aws.wait_for_execution(submitted(netapp, {"action": "demo.echo"})["id"])
    parent = submitted(netapp, {"action": "demo.server_clone", "request_payload": {
        "server": "srv-1", "drives": [f"drv-{n}" for n in range(DRIVES)], "seconds": 0}})
    for job_id in (leaf["id"], parent["id"]):
        aws.wait_for_execution(job_id)
    time.sleep(0.5)  # the parent's children finish in their own executions

    number = aws.item(leaf["id"])["number"]["N"]  # type: ignore[index]
    measured("get_leaf", "GET", f"/v2.1/jobs/{leaf['id']}", 200)
    tasks = measured("get_parent", "GET", f"/v2.1/jobs/{parent['id']}", 200)
    out["get_parent"]["job_tasks"] = len(tasks["result"]["records"][0]["job_tasks"])
    measured("get_number", "GET", f"/v2.1/jobs/{number}", 200)
    measured("get_wait", "GET", f"/v2.1/jobs/{leaf['id']}?wait=1", 200)
    page = measured("list_page", "GET", f"/v2.1/jobs?limit={PAGE}", 200)
    out["list_page"]["total_records"] = page["result"]["total_records"]
    whole = measured("list_all", "GET", "/v2.1/jobs?limit=100", 200)
    out["list_all"]["total_records"] = whole["result"]["total_records"]
    return out


def submitted(netapp: NetApp, body: dict[str, Any]) -> dict[str, Any]:
    code, answer = netapp.send("POST", "/v2.1/jobs", body)
    if code != 202:
        raise RuntimeError(f"POST /v2.1/jobs answered {code}: {answer}")
    return dict(answer["result"]["records"][0])


def calls_text(calls: list[str]) -> str:
    counted = Counter(calls)
    return ", ".join(f"{n} {k.split('.', 1)[1]}" if n > 1 else k.split(".", 1)[1]
                     for k, n in counted.items()) or "none"


def run(context: Any) -> Section:
    return build_section(measure())


def build_section(measured: dict[str, Any]) -> Section:
    rows, checks = [], []
    for row in ROWS:
        found = measured[row.key]
        ok = None if row.calls is None else Counter(found["calls"]) == Counter(row.calls)
        rows.append({"request": row.label, "calls": calls_text(found["calls"]),
                     "status": found["status"], "budget": row.budget,
                     "met": "" if ok is None else ok})
        if ok is not None:
            checks.append(Check(f"NetApp {row.key}", row.budget,
                                calls_text(found["calls"]), ok))
    total = LISTED
    checks += [
        Check("NetApp job_tasks shown", f"{DRIVES}", str(measured["get_parent"]["job_tasks"]),
              measured["get_parent"]["job_tasks"] == DRIVES),
        Check("NetApp total_records", f"{total} on both pages",
              f"{measured['list_page']['total_records']}, "
              f"{measured['list_all']['total_records']}",
              measured["list_page"]["total_records"] == total ==
              measured["list_all"]["total_records"]),
    ]
    return Section(
        name="netapp",
        title="NetApp face: AWS calls per request of GET and POST /v2.1/jobs",
        how=("in-process on moto: the face's routes through the Chalice test client (no "
             "authorizer: the face checks a JWT, no call), a tenant of its own; calls "
             "counted on the app's DynamoDB, Step Functions and S3 clients."),
        tables=[Table({"request": "request", "calls": "AWS calls", "status": "status",
                       "budget": "budget", "met": "met"}, rows,
                      "AWS calls per request (each one API Lambda invocation, no authorizer)")],
        notes=[
            "A record shows its first job_tasks (at most chalicelib.faces.netapp.job_record."
            "JOB_TASKS_SHOWN, 20) read by key in one BatchGetItem per parent: a page of "
            "parents costs one BatchGetItem per parent on it.",
            "total_records: a page that reached the end of the list knows it; any other "
            "page counts the matches (up to chalicelib.listing.COUNT_READ_LIMIT, from the "
            "index alone when the filters allow), which the list_page row shows.",
        ],
        checks=checks,
        data={**measured, "leaf_jobs": LEAF_JOBS, "page": PAGE, "drives": DRIVES},
    )
