"""Billed state transitions per job, from the execution history.

Rule: Step Functions Standard bills one transition each time a state is
entered, so a transition is a `*StateEntered` event; a Task retry re-runs the
state and is billed again, so every task scheduled beyond the first of its
state counts too (none on the success path). ExecutionStarted/Succeeded and
the Lambda events inside a Task state are not transitions.
"""

from __future__ import annotations

from typing import Any

from bench.local_aws import local_aws
from bench.section import Check, Section, Table

TARGET = 2  # billed transitions per leaf job on the success path
SCHEDULED = ("LambdaFunctionScheduled", "TaskScheduled", "ActivityScheduled")


def run(context: Any) -> Section:
    with local_aws() as aws:
        job_id = aws.submit("demo.echo", {"bench": "transitions"})
        status = aws.wait_for_execution(job_id)
        history = execution_history(aws.raw.stepfunctions, aws.execution_arn(job_id))
        # A parent with one Standard child (demo.sleep is long_running).
        parent_id = aws.request("POST", "/jobs", {"method": "demo.group", "children": [
            {"method": "demo.sleep", "params": {"seconds": 0, "steps": 1}}]}).body["id"]
        parent_status = aws.wait_for_execution(parent_id)
        child_id = aws.request("GET", f"/jobs/{parent_id}").body["children"][0]["id"]
        child_status = aws.wait_for_execution(child_id)
        parent = billed_transitions(
            execution_history(aws.raw.stepfunctions, aws.execution_arn(parent_id)))
        child = billed_transitions(
            execution_history(aws.raw.stepfunctions, aws.execution_arn(child_id)))
    leaf = billed_transitions(history)
    rows: list[dict[str, Any]] = [
        {"job": "leaf (demo.echo, success path)", "transitions": leaf["billed"],
         "states": " -> ".join(leaf["states"]), "execution": status,
         "target": f"<= {TARGET}", "met": leaf["billed"] <= TARGET},
        {"job": "parent (demo.group, any number of children)", "transitions": parent["billed"],
         "states": " -> ".join(parent["states"]), "execution": parent_status,
         "target": "-", "met": None},
        {"job": "child (demo.sleep, Standard, success path)", "transitions": child["billed"],
         "states": " -> ".join(child["states"]), "execution": child_status,
         "target": f"<= {TARGET}", "met": child["billed"] <= TARGET},
    ]
    return Section(
        name="transitions",
        title="State transitions per job",
        how=("`get_execution_history` of a demo.echo job, and of a demo.group parent and its "
             "demo.sleep child, run by the real state machine definition in moto; billed "
             "transitions = `*StateEntered` events + Task retries."),
        tables=[Table({"job": "job", "transitions": "billed transitions",
                       "states": "states entered", "execution": "execution",
                       "target": "target", "met": "met"}, rows)],
        notes=[
            "History events: " + ", ".join(leaf["events"]) + ".",
            "AWS: \"Step Functions counts a state transition each time a step of your workflow "
            "is executed\"; starting and ending an execution are not steps.",
        ],
        checks=[Check("transitions per leaf job", f"<= {TARGET}", str(leaf["billed"]),
                      leaf["billed"] <= TARGET)],
        data={"leaf": leaf, "parent": parent, "child": child},
    )


def execution_history(sfn: Any, arn: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for page in sfn.get_paginator("get_execution_history").paginate(executionArn=arn):
        events.extend(page["events"])
    return events


def billed_transitions(events: list[dict[str, Any]]) -> dict[str, Any]:
    types = [event["type"] for event in events]
    entered = [event for event in events if event["type"].endswith("StateEntered")]
    states = [event.get("stateEnteredEventDetails", {}).get("name", "?") for event in entered]
    retries = count_retries(types)
    return {"billed": len(entered) + retries, "entered": len(entered), "retries": retries,
            "states": states, "events": types}


def count_retries(types: list[str]) -> int:
    """Tasks scheduled again within one state are retries."""
    retries, scheduled_in_state = 0, 0
    for kind in types:
        if kind.endswith("StateEntered"):
            scheduled_in_state = 0
        elif kind in SCHEDULED:
            scheduled_in_state += 1
            retries += scheduled_in_state > 1
    return retries
