"""Sub-job trees under moto, with the real state machine: declared and
spawned children, fan-in on a task token, roll-up, policies, cascade cancel,
crashes, deadlines and repaired starts."""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError

import app as job_app
from chalicelib import wiring
from chalicelib.caller import Caller
from chalicelib.clock import system_clock
from chalicelib.creation import START_ATTEMPTS
from chalicelib.fanout import WaitForChildren
from chalicelib.service import idempotent_job_id
from chalicelib.tree import child_id
from chalicelib.wiring import services
from local import seam
from local.provision import Provisioned
from tests.helpers import (
    CallRecorder,
    JobsClient,
    is_finished,
    state_machine_with_run_timeout,
    sweeper_at,
    wait_until,
)
from tests.methods_for_tests import gate


def names(count: int) -> list[str]:
    return [str(uuid.uuid4()) for _ in range(count)]


def stubborn(gate_name: str, **extra: Any) -> dict[str, Any]:
    return {"method": "test.stubborn", "params": {"gate": gate_name}, **extra}


def echo(**params: Any) -> dict[str, Any]:
    return {"method": "demo.echo", "params": params}


def tree(jobs: JobsClient, job_id: str, depth: int = 3) -> dict[str, Any]:
    answer = jobs.request("GET", f"/jobs/{job_id}?children=tree&depth={depth}")
    assert answer.status == 200, answer.body
    return answer.body


def all_nodes(node: dict[str, Any]) -> list[dict[str, Any]]:
    return [node] + [n for child in node.get("children", []) for n in all_nodes(child)]


def test_a_declared_three_level_tree_runs_every_job_and_reads_back_nested(
    jobs: JobsClient,
) -> None:
    answer = jobs.submit("demo.group", {}, description="clone server", children=[
        echo(drive=1),
        {"method": "demo.group", "children": [echo(part="a"), echo(part="b")]},
        {"method": "demo.group", "children": [
            {"method": "demo.group", "children": [echo(deep=True)]}]},
    ])
    assert answer.status == 202, answer.body
    root_id = answer.body["id"]

    root = jobs.wait_for(root_id)
    shown = tree(jobs, root_id, depth=4)
    nodes = all_nodes(shown)

    assert root["state"] == "SUCCESS" and root["outcome"] == "NORMAL"
    assert root["children_summary"] == {
        "total": 3, "active": 0, "SUCCESS": 3, "FAILED": 0, "ABORTED": 0}
    assert len(nodes) == 8 and {n["state"] for n in nodes} == {"SUCCESS"}
    assert [c["method"] for c in shown["children"]] == ["demo.echo", "demo.group", "demo.group"]
    assert shown["children"][0]["result"] == {"drive": 1}
    assert [c["result"] for c in shown["children"][1]["children"]] == [
        {"part": "a"}, {"part": "b"}]
    deepest = shown["children"][2]["children"][0]["children"][0]
    assert deepest["result"] == {"deep": True}
    assert deepest["parent_id"] == shown["children"][2]["children"][0]["id"]
    assert all(n["root_id"] == root_id for n in nodes[1:])
    assert root["parent_id"] is None and root["progress"]["percent"] == 100


def test_get_shows_the_first_level_by_default_and_none_on_request(jobs: JobsClient) -> None:
    root_id = jobs.submit("demo.group", {}, children=[
        {"method": "demo.group", "children": [echo(n=1)]}]).body["id"]
    jobs.wait_for(root_id)

    first = jobs.get(root_id).body
    bare = jobs.request("GET", f"/jobs/{root_id}?children=none").body

    assert [c["method"] for c in first["children"]] == ["demo.group"]
    assert "children" not in first["children"][0]  # one level unless asked
    assert first["children_truncated"] is False
    assert "children" not in bare and bare["children_summary"]["total"] == 1


def test_a_spawning_handler_aggregates_its_childrens_results(jobs: JobsClient) -> None:
    job_id = jobs.submit("demo.fanout", {"count": 12}).body["id"]

    job = jobs.wait_for(job_id)

    assert job["state"] == "SUCCESS", job
    assert job["result"] == {
        "children": {"total": 12, "active": 0, "SUCCESS": 12, "FAILED": 0, "ABORTED": 0},
        "succeeded": 12, "index_sum": sum(range(12))}
    assert len(job["children"]) == 12
    assert [c["arguments"] for c in job["children"]] == [{"index": n} for n in range(12)]
    assert {c["parent_id"] for c in job["children"]} == {job_id}


def test_children_page_through_their_own_route_and_the_parent_id_filter(
    jobs: JobsClient,
) -> None:
    job_id = jobs.submit("demo.fanout", {"count": 7}).body["id"]
    jobs.wait_for(job_id)

    seen: list[str] = []
    path = f"/jobs/{job_id}/children?limit=3"
    while True:
        page = jobs.request("GET", path).body
        seen += [record["id"] for record in page["records"]]
        if not page["next_token"]:
            break
        path = f"/jobs/{job_id}/children?limit=3&next_token={page['next_token']}"
    listed = jobs.request("GET", f"/jobs?parent_id={job_id}&limit=100").body
    failed_only = jobs.request("GET", f"/jobs/{job_id}/children?state=FAILED").body

    assert len(seen) == len(set(seen)) == 7
    assert {r["id"] for r in listed["records"]} == set(seen)
    assert failed_only["records"] == []
    assert jobs.request("GET", f"/jobs/{uuid.uuid4()}/children").status == 404
    conflicting = jobs.request("GET", f"/jobs/{job_id}/children?parent_id=other")
    assert conflicting.status == 400 and "parent_id" in conflicting.body["error"]["message"]


def test_a_failed_child_fails_the_parent_at_once_and_aborts_its_siblings(
    jobs: JobsClient,
) -> None:
    (held,) = names(1)
    job_id = jobs.submit("demo.group", {}, children=[
        stubborn(held), {"method": "demo.fail", "params": {"message": "disk 2 is gone"}},
    ]).body["id"]

    job = jobs.wait_for(job_id)
    sibling = jobs.wait_for(job["children"][0]["id"])
    gate(held).set()

    assert job["state"] == "FAILED" and job["outcome"] == "ERROR"
    failed_child = job["children"][1]["id"]
    assert "1 of 2 sub-jobs did not succeed" in job["error"]
    assert failed_child in job["error"] and "disk 2 is gone" in job["error"]
    assert sibling["state"] == "ABORTED"  # its gate never opened: the cascade ended it
    assert sibling["error"] == f"parent job {job_id} ended FAILED"


def test_under_continue_the_parent_succeeds_and_reports_partial_failures(
    jobs: JobsClient,
) -> None:
    job_id = jobs.submit("demo.fanout", {"count": 6, "fail_every": 3},
                         on_child_failure="continue").body["id"]

    job = jobs.wait_for(job_id)

    assert job["state"] == "SUCCESS" and job["outcome"] == "PARTIAL_FAILURES"
    assert job["children_summary"] == {
        "total": 6, "active": 0, "SUCCESS": 4, "FAILED": 2, "ABORTED": 0}
    assert job["result"]["succeeded"] == 4
    assert job["result"]["index_sum"] == 0 + 1 + 3 + 4
    assert [c["state"] for c in job["children"]] == ["SUCCESS", "SUCCESS", "FAILED"] * 2


def test_progress_rolls_up_by_weight_while_children_run(jobs: JobsClient) -> None:
    light, heavy = names(2)
    job_id = jobs.submit("demo.group", {}, on_child_failure="continue", children=[
        stubborn(heavy, weight=3), stubborn(light, weight=1)]).body["id"]
    wait_until(lambda: jobs.get(job_id).body,
               lambda j: (j.get("children_summary") or {}).get("total") == 2)

    gate(heavy).set()
    three_quarters = jobs.wait_for(job_id, lambda j: j["children_summary"]["SUCCESS"] == 1)
    gate(light).set()
    done = jobs.wait_for(job_id)

    assert three_quarters["state"] == "RUNNING"
    assert three_quarters["progress"]["percent"] == 75
    assert three_quarters["progress"]["description"] == "1 of 2 sub-jobs finished"
    assert done["state"] == "SUCCESS" and done["progress"]["percent"] == 100


def test_cancelling_a_parent_aborts_every_unfinished_descendant(jobs: JobsClient) -> None:
    top, deep = names(2)
    root_id = jobs.submit("demo.group", {}, children=[
        echo(quick=True),
        stubborn(top),
        {"method": "demo.group", "children": [stubborn(deep)]},
    ]).body["id"]
    running = wait_until(lambda: tree(jobs, root_id), lambda t: sum(
        n["state"] == "RUNNING" and n["method"] == "test.stubborn" for n in all_nodes(t)) == 2)
    assert running["children"][0]["state"] == "SUCCESS"

    answer = jobs.request("POST", f"/jobs/{root_id}/cancel")
    after = wait_until(lambda: tree(jobs, root_id),
                       lambda t: all(is_finished(n) for n in all_nodes(t)))
    gate(top).set()
    gate(deep).set()

    assert answer.status == 200 and answer.body["state"] == "ABORTED"
    states = {n["method"] + ":" + (n["arguments"].get("gate") or ""): n["state"]
              for n in all_nodes(after)}
    assert states == {"demo.group:": "ABORTED", "demo.echo:": "SUCCESS",
                      f"test.stubborn:{top}": "ABORTED", f"test.stubborn:{deep}": "ABORTED"}
    middle = after["children"][2]
    assert middle["state"] == "ABORTED" and middle["children"][0]["state"] == "ABORTED"
    assert after["children_summary"]["active"] == 0
    assert after["children_summary"]["ABORTED"] == 2


def test_cancelling_one_child_under_continue_leaves_its_siblings_running(
    jobs: JobsClient,
) -> None:
    first, second = names(2)
    job_id = jobs.submit("test.relay", {"gates": [first, second]}).body["id"]
    parent = wait_until(lambda: jobs.get(job_id).body, lambda j: len(j.get("children", [])) == 2
                        and all(c["state"] == "RUNNING" for c in j["children"]))
    cancelled, sibling = parent["children"]

    assert jobs.request("POST", f"/jobs/{cancelled['id']}/cancel").status == 200
    meanwhile = jobs.get(job_id).body
    gate(second).set()
    done = jobs.wait_for(job_id)
    gate(first).set()

    assert meanwhile["state"] == "RUNNING" and meanwhile["on_child_failure"] == "continue"
    assert meanwhile["children"][1]["state"] == "RUNNING"
    assert done["state"] == "SUCCESS" and done["outcome"] == "PARTIAL_FAILURES"
    assert done["children_summary"]["ABORTED"] == 1 and done["children_summary"]["SUCCESS"] == 1
    assert done["result"] == [None, "finished anyway"]
    assert jobs.get(sibling["id"]).body["state"] == "SUCCESS"


def crash_the_children_of(method: str) -> Any:
    """A worker that dies (as an OOM kill would) while running `method`."""
    def worker(event: dict[str, Any], context: Any) -> Any:
        if event.get("action") == "run":
            job = services().store.get(event["job_id"])
            if job is not None and job.method == method:
                services().store.mark_running(job.id, job.tenant_id, "2026-01-01T00:00:00.000Z")
                raise MemoryError("Runtime exited with error: signal: killed")
        return job_app.worker(event, context)
    return worker


def test_a_crashing_child_is_failed_and_its_parent_ends_by_its_policy(
    jobs: JobsClient, aws: Provisioned
) -> None:
    seam.install({aws.worker_function: crash_the_children_of("demo.sleep")})
    doomed = {"method": "demo.sleep", "params": {"seconds": 0.1}}
    strict = jobs.submit("demo.group", {}, children=[echo(n=1), doomed]).body["id"]
    lenient = jobs.submit("demo.group", {}, on_child_failure="continue",
                          children=[echo(n=1), doomed]).body["id"]

    strict_job, lenient_job = jobs.wait_for(strict), jobs.wait_for(lenient)

    for parent in (strict_job, lenient_job):
        crashed = parent["children"][1]
        assert crashed["state"] == "FAILED"
        assert "worker stopped before finishing" in crashed["error"]
    assert strict_job["state"] == "FAILED" and "worker stopped" in strict_job["error"]
    assert lenient_job["state"] == "SUCCESS"
    assert lenient_job["outcome"] == "PARTIAL_FAILURES"


def test_a_child_whose_task_times_out_is_failed_and_its_parent_ends_by_its_policy(
    jobs: JobsClient, aws: Provisioned, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every job runs on the template's own machine with Run cut to 10 s: the
    # parents' short Runs fit, a child that blocks on its gate does not.
    monkeypatch.setenv("JOBS_STATE_MACHINE_ARN", state_machine_with_run_timeout(aws, 10))
    monkeypatch.setenv("JOBS_EXPRESS_STATE_MACHINE_ARN", "")
    wiring.reset()
    held, held_too = names(2)
    strict = jobs.submit("demo.group", {}, children=[
        echo(n=1), {"method": "test.blocking", "params": {"gate": held}}]).body["id"]
    lenient = jobs.submit("demo.group", {}, on_child_failure="continue", children=[
        echo(n=1), {"method": "test.blocking", "params": {"gate": held_too}}]).body["id"]

    strict_job, lenient_job = jobs.wait_for(strict, timeout=60), jobs.wait_for(lenient, timeout=60)
    gate(held).set()
    gate(held_too).set()

    for parent in (strict_job, lenient_job):
        timed_out = parent["children"][1]
        assert timed_out["state"] == "FAILED" and "States.Timeout" in timed_out["error"]
        assert parent["children"][0]["state"] == "SUCCESS"
    assert strict_job["state"] == "FAILED" and strict_job["error"].startswith(
        f"1 of 2 sub-jobs did not succeed; the first, {strict_job['children'][1]['id']} "
        "(test.blocking), FAILED:")
    assert "States.Timeout" in strict_job["error"]
    assert lenient_job["state"] == "SUCCESS"
    assert lenient_job["outcome"] == "PARTIAL_FAILURES"
    assert lenient_job["children_summary"]["FAILED"] == 1


def test_a_parent_whose_children_miss_its_deadline_fails_and_aborts_them(
    jobs: JobsClient,
) -> None:
    (held,) = names(1)
    job_id = jobs.submit("demo.group", {}, children_timeout=2,
                         children=[echo(n=1), stubborn(held)]).body["id"]

    job = jobs.wait_for(job_id, timeout=60)
    straggler = jobs.wait_for(job["children"][1]["id"])
    gate(held).set()

    assert job["state"] == "FAILED"
    assert "1 of 2 sub-jobs did not finish within the 2 s children_timeout" in job["error"]
    assert straggler["state"] == "ABORTED"
    assert job["children"][0]["state"] == "SUCCESS"


def test_a_child_whose_start_failed_is_started_by_the_sweeper(jobs: JobsClient) -> None:
    key = str(uuid.uuid4())
    # ids derive from the caller and the key, so known up front
    parent_id = idempotent_job_id(Caller("default", "tester"), key)
    unlucky = child_id(parent_id, 1)
    refused: list[str] = []

    def refuse_the_second_child(params: dict[str, Any], **_: Any) -> None:
        if params["name"] == unlucky:
            refused.append(unlucky)
            raise EndpointConnectionError(endpoint_url="https://states.us-east-1.amazonaws.com")

    events = services().clients.stepfunctions.meta.events
    events.register("provide-client-params.states.StartExecution", refuse_the_second_child)
    answer = jobs.request("POST", "/jobs", {"method": "demo.fanout", "params": {"count": 2}},
                          headers={"Idempotency-Key": key})
    waiting = wait_until(lambda: jobs.get(parent_id).body, lambda j: len(refused) == START_ATTEMPTS
                         and (j.get("children_summary") or {}).get("SUCCESS") == 1)
    events.unregister("provide-client-params.states.StartExecution", refuse_the_second_child)

    early = sweeper_at(system_clock).sweep()
    late = sweeper_at(lambda: system_clock() + 3600).sweep()
    done = jobs.wait_for(parent_id)

    assert answer.body["id"] == parent_id
    assert len(refused) == START_ATTEMPTS  # retried, then left to the sweeper
    assert waiting["state"] == "RUNNING" and waiting["children"][1]["state"] == "WAITING"
    assert early.restarted == []  # not stalled yet
    assert late.restarted == [unlucky]
    assert done["state"] == "SUCCESS" and done["result"]["index_sum"] == 1


def test_spawning_from_a_method_not_registered_to_spawn_fails_clearly(
    jobs: JobsClient,
) -> None:
    job = jobs.wait_for(jobs.submit("test.spawns_unannounced", {}).body["id"])

    assert job["state"] == "FAILED"
    assert "spawns_children=True" in job["error"]
    assert job["children_summary"] is None


def test_bad_children_are_refused_naming_the_child_and_nothing_is_created(
    jobs: JobsClient,
) -> None:
    cases = {
        "children[1].children[0]: unknown method; known methods: ": [
            echo(), {"method": "demo.group", "children": [{"method": "nope"}]}],
        "children[0]: invalid params for demo.sleep": [
            {"method": "demo.sleep", "params": {"seconds": -1}}],
        "children.0.weight": [{"method": "demo.echo", "weight": 0}],
        "children.0.on_child_failure": [{"method": "demo.echo", "on_child_failure": "maybe"}],
        "children.0.<unknown field>": [{"method": "demo.echo", "colour": "red"}],
    }
    for expected, children in cases.items():
        answer = jobs.submit("demo.group", {}, children=children)
        assert answer.status == 400, (expected, answer.body)
        assert expected in answer.body["error"]["message"], answer.body

    too_deep: dict[str, Any] = echo()
    for _ in range(9):
        too_deep = {"method": "demo.group", "children": [too_deep]}
    deep = jobs.submit("demo.group", {}, children=[too_deep])
    assert deep.status == 400 and "at most 8 levels" in deep.body["error"]["message"]
    assert jobs.submit("demo.group", {}, children_timeout=0).status == 400
    assert jobs.request("GET", "/jobs?limit=100").body["records"] == []


def test_a_run_invoked_again_for_a_waiting_parent_goes_back_to_waiting(
    jobs: JobsClient,
) -> None:
    (held,) = names(1)
    job_id = jobs.submit("demo.group", {}, children=[stubborn(held)]).body["id"]
    jobs.wait_for(job_id, lambda j: (j.get("children_summary") or {}).get("total") == 1)

    with pytest.raises(WaitForChildren):  # a Lambda retry of Run: the Catch routes it on
        services().worker.run(job_id, "default")
    gate(held).set()

    assert jobs.wait_for(job_id)["state"] == "SUCCESS"


def test_the_children_of_a_transient_parent_are_listed_with_it(jobs: JobsClient) -> None:
    job_id = jobs.submit("demo.fanout", {"count": 3}, transient=True).body["id"]
    jobs.wait_for(job_id)

    page = jobs.request("GET", f"/jobs/{job_id}/children").body
    default_list = jobs.request("GET", "/jobs").body

    assert len(page["records"]) == 3 and all(r["transient"] for r in page["records"])
    assert default_list["records"] == []  # transient jobs stay out of plain lists


def test_a_thousand_children_complete_with_exact_call_counts(jobs: JobsClient) -> None:
    children = 1_000
    recorder = CallRecorder(services().clients.dynamodb, services().clients.stepfunctions)
    job_id = jobs.submit("demo.fanout", {"count": children}).body["id"]

    job = wait_until(lambda: jobs.request("GET", f"/jobs/{job_id}?children=none").body,
                     is_finished, timeout=280)
    ids = {child_id(job_id, n) for n in range(children)}
    calls = Counter(recorder.names())
    per_job = Counter((name, _target(params)) for name, params in recorder.calls
                      if name in ("UpdateItem", "TransactWriteItems", "StartExecution"))

    assert job["state"] == "SUCCESS"
    assert job["result"]["index_sum"] == sum(range(children))
    assert job["children_summary"] == {
        "total": children, "active": 0, "SUCCESS": children, "FAILED": 0, "ABORTED": 0}
    # Each child: written in a batch, started once, marked RUNNING once, finished once
    # in a transaction that also counts it on the parent; the parent woken once.
    assert calls["BatchWriteItem"] == children // 25
    assert calls["StartExecution"] == children + 1
    assert calls["TransactWriteItems"] == children
    assert calls["SendTaskSuccess"] == 1
    assert calls["Scan"] == 0
    assert all(per_job[("UpdateItem", child)] == 1 for child in ids)  # marked RUNNING
    assert all(per_job[("TransactWriteItems", child)] == 1 for child in ids)
    assert all(per_job[("StartExecution", child)] == 1 for child in ids)
    # The parent: RUNNING, counters, token, wake, finish; nothing per child.
    parent_writes = [params for name, params in recorder.calls
                     if name == "UpdateItem" and _target(params) == job_id]
    wake_attempts = [p for p in parent_writes
                     if "woken_token" in p["ExpressionAttributeNames"].values()]
    # The parent: RUNNING, counters, token, finish; nothing per child. Children
    # that see it ready together all try to wake it; one write wins.
    assert len(parent_writes) - len(wake_attempts) == 4
    assert 1 <= len(wake_attempts) <= children
    # Fan-in does not grow the parent's history: the same events as for 2 children.
    small = jobs.wait_for(jobs.submit("demo.fanout", {"count": 2}).body["id"])
    assert small["state"] == "SUCCESS"
    assert history_events(job_id) == history_events(small["id"]) < 40


def history_events(job_id: str) -> int:
    """The whole history of a finished job's execution (the record says SUCCESS
    a moment before Step Functions writes its last events)."""
    workflow = services().workflow
    wait_until(lambda: workflow.status(job_id), lambda status: status == "SUCCEEDED")
    pages = services().clients.stepfunctions.get_paginator("get_execution_history").paginate(
        executionArn=workflow.execution_arn(job_id))
    return sum(len(page["events"]) for page in pages)


def _target(params: dict[str, Any]) -> str | None:
    if "name" in params:
        return str(params["name"])
    if "TransactItems" in params:
        return str(params["TransactItems"][0]["Update"]["Key"]["id"]["S"])
    return params.get("Key", {}).get("id", {}).get("S")
