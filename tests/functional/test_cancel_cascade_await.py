"""The README's recipe for awaiting a cancel's cascade (issue 14): a cancelled
parent answers ABORTED at once, and its execution aborts the children just
after. Polling the parent's `children_summary.active` until it is 0 (and the
same on each child that is itself a parent) sees every descendant ended."""

from __future__ import annotations

import time
import uuid
from typing import Any

from tests.helpers import TERMINAL, JobsClient, wait_until
from tests.methods_for_tests import gate

POLL_SECONDS = 0.1
GIVE_UP_SECONDS = 30


def await_cascade(jobs: JobsClient, job_id: str) -> None:
    """The README's recipe: poll GET /jobs/{id}?children=none until
    children_summary.active is 0, then do the same for each child that has
    children of its own."""
    deadline = time.monotonic() + GIVE_UP_SECONDS
    while True:
        job = jobs.request("GET", f"/jobs/{job_id}?children=none").body
        summary = job.get("children_summary")
        if summary is None or summary["active"] == 0:
            break
        assert time.monotonic() < deadline, job
        time.sleep(POLL_SECONDS)
    for child in children(jobs, job_id):
        if child.get("children_summary"):
            await_cascade(jobs, child["id"])


def children(jobs: JobsClient, job_id: str) -> list[dict[str, Any]]:
    page = jobs.request("GET", f"/jobs/{job_id}/children?limit=1000&order_by=time_created")
    assert page.status == 200, page.body
    return list(page.body["records"])


def descendants(jobs: JobsClient, job_id: str) -> list[dict[str, Any]]:
    found = []
    for child in children(jobs, job_id):
        found.append(jobs.get(child["id"]).body)
        found += descendants(jobs, child["id"])
    return found


def test_a_cancelled_fanout_is_awaited_by_its_childrens_count(jobs: JobsClient) -> None:
    sleep = {"seconds": 20, "steps": 200}
    parent_id = jobs.submit("demo.fanout", {"count": 12, "method": "demo.sleep",
                                            "params": sleep}).body["id"]
    wait_until(lambda: children(jobs, parent_id),
               lambda kids: len(kids) == 12 and all(k["state"] == "RUNNING" for k in kids))

    cancelled = jobs.request("POST", f"/jobs/{parent_id}/cancel")
    await_cascade(jobs, parent_id)

    assert cancelled.status == 200 and cancelled.body["state"] == "ABORTED"
    states = [child["state"] for child in descendants(jobs, parent_id)]
    assert states == ["ABORTED"] * 12
    assert jobs.get(parent_id).body["children_summary"] == {
        "total": 12, "active": 0, "SUCCESS": 0, "FAILED": 0, "ABORTED": 12}


def test_the_recipe_awaits_a_nested_tree_to_its_leaves(jobs: JobsClient) -> None:
    gates = [str(uuid.uuid4()) for _ in range(4)]
    stubborn = [{"method": "test.stubborn", "params": {"gate": name}} for name in gates]
    root_id = jobs.submit("demo.group", {}, children=[
        stubborn[0],
        {"method": "demo.group", "children": [
            stubborn[1], {"method": "demo.group", "children": stubborn[2:]}]},
    ]).body["id"]
    wait_until(lambda: descendants(jobs, root_id), lambda found: sum(
        job["state"] == "RUNNING" and job["method"] == "test.stubborn" for job in found) == 4)

    try:
        cancelled = jobs.request("POST", f"/jobs/{root_id}/cancel")
        await_cascade(jobs, root_id)
        found = descendants(jobs, root_id)
    finally:
        for name in gates:  # the handlers ignore the cancel: let them return
            gate(name).set()

    assert cancelled.status == 200 and cancelled.body["state"] == "ABORTED"
    assert len(found) == 6 and all(job["state"] in TERMINAL for job in found)
    assert {job["state"] for job in found} == {"ABORTED"}
