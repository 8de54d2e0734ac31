"""Removing jobs (issue 7, ArangoDB semantics): DELETE one job, the finished
jobs before a stamp, or all finished jobs of the caller; and fetch a result
once, with exactly one winner among concurrent consumers."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from chalicelib.blobs import result_key
from chalicelib.wiring import services
from local.provision import Provisioned
from tests.helpers import CallRecorder, JobsClient, token_for
from tests.methods_for_tests import gate


def finished_job(jobs: JobsClient, method: str = "demo.echo",
                 params: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    job_id = jobs.submit(method, {"n": 1} if params is None else params, **extra).body["id"]
    return jobs.wait_for(job_id, timeout=60)


def objects_of(aws: Provisioned, job_id: str) -> int:
    listed = services().clients.s3.list_objects_v2(Bucket=aws.bucket_name,
                                                    Prefix=f"jobs/{job_id}/")
    return int(listed.get("KeyCount", 0))


def test_deleting_a_job_removes_its_record_and_its_stored_result(
    jobs: JobsClient, aws: Provisioned
) -> None:
    job = finished_job(jobs, "test.big_result", {"size": 40_000})
    stored_before = objects_of(aws, job["id"])

    deleted = jobs.request("DELETE", f"/jobs/{job['id']}")
    again = jobs.request("DELETE", f"/jobs/{job['id']}")

    assert stored_before == 1  # the result, too big for the record
    assert deleted.status == 200 and deleted.body == {"deleted": 1, "more": False}
    assert jobs.get(job["id"]).status == 404
    assert objects_of(aws, job["id"]) == 0
    assert again.status == 404
    assert jobs.request("DELETE", "/jobs/00000000-0000-4000-8000-000000000000").status == 404


def test_deleting_a_running_job_does_not_stop_it_and_it_never_comes_back(
    jobs: JobsClient, aws: Provisioned
) -> None:
    job_id = jobs.submit("test.stubborn", {"gate": "delete-running"}).body["id"]
    jobs.wait_for(job_id, lambda j: j["state"] == "RUNNING")

    deleted = jobs.request("DELETE", f"/jobs/{job_id}")
    gate("delete-running").set()
    execution = services().workflow.execution_arn(job_id)
    sfn = services().clients.stepfunctions
    from tests.helpers import wait_until
    status = wait_until(lambda: sfn.describe_execution(executionArn=execution)["status"],
                        lambda s: s != "RUNNING", timeout=30)

    assert deleted.body == {"deleted": 1, "more": False}
    assert status == "SUCCEEDED"  # it ran to its end
    assert services().store.get(job_id) is None  # and its finish recreated nothing


def test_deleting_a_parent_deletes_its_whole_tree(jobs: JobsClient, aws: Provisioned) -> None:
    children = [{"method": "demo.group", "children": [{"method": "demo.echo"}] * 2}] * 2
    parent = finished_job(jobs, "demo.group", {}, children=children)
    tree_ids = [parent["id"]] + [c["id"] for c in jobs.request(
        "GET", f"/jobs/{parent['id']}?children=tree&depth=2").body["children"]]

    deleted = jobs.request("DELETE", f"/jobs/{parent['id']}")

    assert parent["state"] == "SUCCESS"
    assert deleted.body == {"deleted": 7, "more": False}
    assert all(jobs.get(job_id).status == 404 for job_id in tree_ids)
    listed = jobs.request("GET", "/jobs?limit=100").body
    assert listed["records"] == []


def test_deleting_the_finished_jobs_created_before_a_stamp(jobs: JobsClient,
                                                           aws: Provisioned) -> None:
    old = [finished_job(jobs) for _ in range(3)]
    time.sleep(1.1)
    stamp = time.time()
    time.sleep(0.1)
    new = finished_job(jobs)
    running = jobs.submit("test.stubborn", {"gate": "delete-expired"}).body["id"]

    answer = jobs.request("DELETE", f"/jobs?expired_before={stamp}")
    gate("delete-expired").set()

    assert answer.status == 200 and answer.body == {"deleted": 3, "more": False}
    assert all(jobs.get(job["id"]).status == 404 for job in old)
    assert jobs.get(new["id"]).status == 200
    assert jobs.get(running).status == 200  # unfinished jobs stay


def test_deleting_every_finished_job_of_the_caller(jobs: JobsClient, aws: Provisioned) -> None:
    done = [finished_job(jobs) for _ in range(3)] + [finished_job(jobs, "demo.fail", {})]
    running = jobs.submit("test.stubborn", {"gate": "delete-all"}).body["id"]
    jobs.wait_for(running, lambda j: j["state"] == "RUNNING")

    answer = jobs.request("DELETE", "/jobs")
    gate("delete-all").set()

    assert answer.body == {"deleted": 4, "more": False}
    assert all(jobs.get(job["id"]).status == 404 for job in done)
    assert jobs.get(running).status == 200
    assert jobs.request("DELETE", "/jobs?expired_before=-1").status == 400
    assert jobs.request("DELETE", "/jobs?stamp=1").status == 400


def test_a_result_is_fetched_once_and_the_job_goes_with_it(jobs: JobsClient,
                                                           aws: Provisioned) -> None:
    job = finished_job(jobs, "test.big_result", {"size": 40_000})

    peek = jobs.request("GET", f"/jobs/{job['id']}/result")
    consumed = jobs.request("GET", f"/jobs/{job['id']}/result?consume=true")
    again = jobs.request("GET", f"/jobs/{job['id']}/result?consume=true")

    assert peek.status == 200 and peek.body["result"] == {"blob": "x" * 40_000}
    assert consumed.status == 200
    assert consumed.body == {"id": job["id"], "state": "SUCCESS",
                             "result": {"blob": "x" * 40_000}, "error": None}
    assert again.status == 404
    assert jobs.get(job["id"]).status == 404
    assert objects_of(aws, job["id"]) == 0
    listed = services().clients.s3.list_objects_v2(Bucket=aws.bucket_name,
                                                    Prefix=result_key(job["id"]))
    assert listed.get("KeyCount", 0) == 0


def test_a_pending_result_answers_204_and_removes_nothing(jobs: JobsClient,
                                                          aws: Provisioned) -> None:
    job_id = jobs.submit("test.stubborn", {"gate": "consume-pending"}).body["id"]

    pending = jobs.request("GET", f"/jobs/{job_id}/result?consume=true")
    gate("consume-pending").set()
    jobs.wait_for(job_id)
    consumed = jobs.request("GET", f"/jobs/{job_id}/result?consume=true")

    assert pending.status == 204 and pending.body == ""
    assert consumed.status == 200 and consumed.body["state"] == "SUCCESS"


def test_concurrent_consumers_of_one_result_have_exactly_one_winner(
    jobs: JobsClient, aws: Provisioned
) -> None:
    job = finished_job(jobs, "demo.echo", {"prize": 1})

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(
            lambda _: jobs.request("GET", f"/jobs/{job['id']}/result?consume=true"), range(20)))

    winners = [a for a in answers if a.status == 200]
    assert len(winners) == 1 and winners[0].body["result"] == {"prize": 1}
    assert sorted(a.status for a in answers) == [200] + [404] * 19


def test_a_users_finished_jobs_are_found_with_one_query(jobs: JobsClient) -> None:
    ann = jobs.as_caller(token_for(user="ann", roles=()))
    bob = jobs.as_caller(token_for(user="bob", roles=()))
    anns = [finished_job(ann), finished_job(ann, "demo.fail", {})]
    bobs = finished_job(bob)
    queries = CallRecorder(services().clients.dynamodb, api_only=True)

    answer = ann.request("DELETE", "/jobs")

    assert answer.body == {"deleted": 2, "more": False}
    # The user's index does not key on the state: all three in one pass, not three.
    assert queries.names().count("Query") == 1
    assert all(ann.get(job["id"]).status == 404 for job in anns)
    assert bob.get(bobs["id"]).status == 200
