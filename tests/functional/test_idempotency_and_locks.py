"""Idempotency-Key replays, and TrueNAS-style dedup of locked methods."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import boto3

from chalicelib.caller import Caller
from chalicelib.models import SubmitRequest
from chalicelib.wiring import services
from local.provision import Provisioned
from tests.helpers import JobsClient, wait_until
from tests.methods_for_tests import gate


def post(jobs: JobsClient, body: dict, key: str | None = None, request_id: str | None = None):  # type: ignore[no-untyped-def, type-arg]
    headers = {}
    if key:
        headers["Idempotency-Key"] = key
    if request_id:
        headers["X-Request-Id"] = request_id
    return jobs.request("POST", "/jobs", body, headers=headers)


def executions(aws: Provisioned) -> list[str]:
    sfn = boto3.client("stepfunctions")
    names: list[str] = []
    for machine in (aws.state_machine_arn, aws.express_state_machine_arn):
        names += [e["name"] for e in sfn.list_executions(stateMachineArn=machine)["executions"]]
    return sorted(names)


def test_a_retried_post_with_the_same_key_returns_the_same_job_with_200(
    jobs: JobsClient, aws: Provisioned
) -> None:
    body = {"method": "demo.echo", "params": {"n": 1}}

    first, again = post(jobs, body, "order-17"), post(jobs, body, "order-17")

    assert (first.status, again.status) == (202, 200)
    assert again.body["id"] == first.body["id"]
    assert again.headers["Location"] == f"/jobs/{first.body['id']}"
    jobs.wait_for(first.body["id"])
    assert executions(aws) == [first.body["id"]]


def test_the_same_key_with_another_body_is_409(jobs: JobsClient, aws: Provisioned) -> None:
    first = post(jobs, {"method": "demo.echo", "params": {"n": 1}}, "order-18")

    other = post(jobs, {"method": "demo.echo", "params": {"n": 2}}, "order-18")

    assert other.status == 409
    assert other.body["error"]["details"] == {"job_id": first.body["id"]}
    assert "different request body" in other.body["error"]["message"]


def test_the_job_id_is_derived_from_tenant_and_key(aws: Provisioned) -> None:
    jobs = services().jobs
    request = SubmitRequest(method="demo.echo", params={})

    a = jobs.submit(request, Caller("tenant-a", request_id="r1"), "same-key").job
    b = jobs.submit(request, Caller("tenant-b", request_id="r2"), "same-key").job
    a_again = jobs.submit(request, Caller("tenant-a", request_id="r3"), "same-key")

    assert a.id != b.id
    assert a_again.job.id == a.id and not a_again.created


def test_a_key_belongs_to_its_user_within_a_tenant(aws: Provisioned) -> None:
    jobs = services().jobs
    request = SubmitRequest(method="demo.echo", params={})

    ann = jobs.submit(request, Caller("acme", "ann", request_id="r1"), "shared-key")
    bob = jobs.submit(request, Caller("acme", "bob", request_id="r2"), "shared-key")
    bob_other = jobs.submit(SubmitRequest(method="demo.echo", params={"n": 2}),
                            Caller("acme", "bob", request_id="r3"), "shared-key-2")
    ann_other = jobs.submit(SubmitRequest(method="demo.echo", params={"n": 3}),
                            Caller("acme", "ann", request_id="r4"), "shared-key-2")

    assert ann.created and bob.created and bob_other.created and ann_other.created
    assert len({ann.job.id, bob.job.id, bob_other.job.id, ann_other.job.id}) == 4
    assert (bob.job.user_id, ann_other.job.user_id) == ("bob", "ann")


def test_simultaneous_duplicates_create_one_job_and_one_execution(aws: Provisioned) -> None:
    jobs = services().jobs
    request = SubmitRequest(method="demo.echo", params={"burst": True})

    def submit(n: int):  # type: ignore[no-untyped-def]
        return jobs.submit(request, Caller("default", request_id=f"r{n}"), "burst-key")

    with ThreadPoolExecutor(max_workers=8) as pool:
        submissions = list(pool.map(submit, range(16)))

    assert sum(s.created for s in submissions) == 1
    assert len({s.job.id for s in submissions}) == 1
    job_id = submissions[0].job.id
    wait_until(lambda: services().store.get(job_id), lambda job: job.state.is_terminal)
    assert executions(aws) == [job_id]


def test_a_malformed_idempotency_key_is_400(jobs: JobsClient) -> None:
    answer = post(jobs, {"method": "demo.echo", "params": {}}, "bad key with spaces")

    assert answer.status == 400
    assert "Idempotency-Key" in answer.body["error"]["message"]


def test_a_locked_method_joins_the_unfinished_job_holding_its_lock(
    jobs: JobsClient, aws: Provisioned
) -> None:
    name = str(uuid.uuid4())
    body = {"method": "test.locked", "params": {"gate": name, "key": "tank"}}
    first = post(jobs, body, request_id="call-1")

    joined = post(jobs, body, request_id="call-2")
    gate(name).set()

    assert (first.status, joined.status) == (202, 200)
    assert joined.body["joined"] is True
    assert joined.body["id"] == first.body["id"]
    assert joined.body["message_ids"] == ["call-1", "call-2"]
    assert jobs.wait_for(first.body["id"])["message_ids"] == ["call-1", "call-2"]
    assert executions(aws) == [first.body["id"]]


def test_a_finished_lock_holder_lets_the_next_submit_start_a_new_job(jobs: JobsClient) -> None:
    name = str(uuid.uuid4())
    gate(name).set()
    body = {"method": "test.locked", "params": {"gate": name, "key": "pool2"}}
    first = post(jobs, body)
    jobs.wait_for(first.body["id"])

    second = post(jobs, body)

    assert second.status == 202
    assert second.body["id"] != first.body["id"]
    assert "joined" not in second.body


def test_different_lock_keys_do_not_join(jobs: JobsClient) -> None:
    name = str(uuid.uuid4())
    a = post(jobs, {"method": "test.locked", "params": {"gate": name, "key": "a"}})
    b = post(jobs, {"method": "test.locked", "params": {"gate": name, "key": "b"}})
    gate(name).set()

    assert a.body["id"] != b.body["id"]
    assert (a.status, b.status) == (202, 202)


def test_simultaneous_submits_of_a_locked_method_make_exactly_one_job(aws: Provisioned) -> None:
    name = str(uuid.uuid4())
    jobs = services().jobs
    request = SubmitRequest(method="test.locked", params={"gate": name, "key": "race"})

    def submit(n: int):  # type: ignore[no-untyped-def]
        return jobs.submit(request, Caller("default", request_id=f"call-{n}"))

    with ThreadPoolExecutor(max_workers=8) as pool:
        submissions = list(pool.map(submit, range(12)))
    holder = services().store.get(submissions[0].job.id)
    gate(name).set()

    assert sum(s.created for s in submissions) == 1
    assert len({s.job.id for s in submissions}) == 1
    assert holder is not None
    assert sorted(holder.message_ids) == sorted(f"call-{n}" for n in range(12))
