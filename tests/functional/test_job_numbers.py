"""Job numbers (issue 18, item 4): every job, whichever face created it, has
an integer number unique within its tenant, reserved in blocks, and found
by one Query of the by_number index."""

from __future__ import annotations

import json
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from chalicelib.numbering import JobNumbers
from chalicelib.wiring import services
from tests.functional.test_call_budgets import recorder
from tests.helpers import JobsClient, token_for


def listed(jobs: JobsClient, filters: list[list[Any]]) -> dict[str, Any]:
    query = urllib.parse.urlencode({"filters": json.dumps(filters)})
    answer = jobs.request("GET", f"/jobs?{query}")
    assert answer.status == 200, answer.body
    return answer.body


def ids(page: dict[str, Any]) -> list[str]:
    return [job["id"] for job in page["records"]]


def test_every_job_and_child_has_a_number_unique_in_its_tenant(jobs: JobsClient) -> None:
    parent = jobs.submit("demo.fanout", {"count": 5}).body
    finished = jobs.wait_for(parent["id"])
    children = jobs.request("GET", f"/jobs/{parent['id']}/children?limit=10").body["records"]

    numbers = [parent["number"], *(child["number"] for child in children)]
    assert finished["number"] == parent["number"]
    assert all(isinstance(n, int) and n > 0 for n in numbers)
    assert len(set(numbers)) == 6


def test_processes_reserving_at_once_never_hand_out_a_number_twice(jobs: JobsClient) -> None:
    """Four processes (allocators over the same table, blocks of 7) take
    numbers from eight threads each: every number is taken once."""
    store = services().store
    processes = [JobNumbers(store, block=7) for _ in range(4)]

    def take(worker: int) -> list[int]:
        return [n for _ in range(25) for n in processes[worker % 4].take("acme")]

    with ThreadPoolExecutor(max_workers=32) as pool:
        taken = [n for numbers in pool.map(take, range(32)) for n in numbers]

    assert len(taken) == 32 * 25 == len(set(taken))


def test_a_fan_out_numbers_all_its_children_from_one_reservation(jobs: JobsClient) -> None:
    calls = recorder()

    parent = jobs.submit("demo.fanout", {"count": 150}).body
    jobs.wait_for(parent["id"], timeout=120)

    reservations = [p for name, p in calls.calls if name == "UpdateItem"
                    and p["Key"]["id"]["S"].startswith("numbers#")]
    assert len(reservations) == 2  # the parent's block (100), then the children's 150 at once
    assert reservations[1]["ExpressionAttributeValues"][":size"] == {"N": "150"}


def test_a_number_filter_reads_one_index_entry_and_one_record(jobs: JobsClient) -> None:
    wanted = jobs.submit("demo.echo", {}).body
    for _ in range(5):
        jobs.submit("demo.echo", {})
    calls = recorder()

    page = listed(jobs, [["number", "=", wanted["number"]]])

    assert ids(page) == [wanted["id"]] and page["records"][0]["number"] == wanted["number"]
    # The API's own calls (the jobs' workers may still be writing meanwhile).
    assert calls.in_main_thread() == ["Query", "GetItem"]
    assert next(params for name, params in calls.calls
                if name == "Query")["IndexName"] == "by_number"


def test_an_id_filter_reads_the_record_alone(jobs: JobsClient) -> None:
    wanted = jobs.submit("demo.echo", {}).body
    calls = recorder()

    page = listed(jobs, [["id", "=", wanted["id"]], ["method", "=", "demo.echo"]])
    none = listed(jobs, [["id", "=", wanted["id"]], ["method", "=", "demo.sleep"]])

    assert ids(page) == [wanted["id"]] and ids(none) == []
    assert calls.in_main_thread() == ["GetItem", "GetItem"]


def test_numbers_are_per_tenant_and_scoped_like_every_read(jobs: JobsClient) -> None:
    ann = jobs.as_caller(token_for("acme", "ann", ()))
    bob = jobs.as_caller(token_for("acme", "bob", ()))
    eve = jobs.as_caller(token_for("evil", "eve", ()))
    anns = ann.submit("demo.echo", {}).body
    eves = eve.submit("demo.echo", {}).body

    assert anns["number"] == eves["number"] == 1  # each tenant counts its own
    assert ids(listed(ann, [["number", "=", 1]])) == [anns["id"]]
    assert ids(listed(eve, [["number", "=", 1]])) == [eves["id"]]
    assert ids(listed(bob, [["number", "=", 1]])) == []  # ann's, in bob's tenant
    assert ids(listed(eve, [["id", "=", anns["id"]]])) == []
    assert ids(listed(ann, [["number", "=", 999]])) == []
    assert ids(listed(ann, [["number", "=", 1], ["number", "=", 2]])) == []
