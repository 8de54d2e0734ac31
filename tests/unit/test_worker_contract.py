"""The state machines of infra/template.yaml and the worker agree on what they
say to each other: the actions and fields of a task, the error names of the
Catch rules, and the answer (chalicelib.worker_contract)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest

import chalicelib
from chalicelib.states import JobState
from chalicelib.worker import STEERING_ERRORS, Worker
from chalicelib.worker_contract import TOKEN_ACTIONS, Action, Task, TaskResult
from local.provision import load_template

WAIT_FOR_TOKEN = "arn:aws:states:::lambda:invoke.waitForTaskToken"
# Error names Step Functions and the Lambda service raise themselves.
BUILT_IN_ERRORS = ("States.", "Lambda.")


def state_machines() -> dict[str, dict[str, Any]]:
    resources = load_template()["Resources"]
    return {name: resource["Properties"]["Definition"] for name, resource in resources.items()
            if resource["Type"] == "AWS::StepFunctions::StateMachine"}


def all_states() -> Iterator[tuple[str, dict[str, Any]]]:
    for machine, definition in state_machines().items():
        for name, state in definition["States"].items():
            yield f"{machine}.{name}", state


def worker_tasks() -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    """Each state that invokes the worker, with the event it sends."""
    for name, state in all_states():
        if state["Resource"] == "${WorkerArn}":
            yield name, state, state["Parameters"]
        elif state["Resource"] == WAIT_FOR_TOKEN:
            assert state["Parameters"]["FunctionName"] == "${WorkerArn}", name
            yield name, state, state["Parameters"]["Payload"]


def error_names() -> set[str]:
    rules = [rule for _, state in all_states()
             for rule in state.get("Catch", []) + state.get("Retry", [])]
    return {error for rule in rules for error in rule["ErrorEquals"]}


def raised_names() -> set[str]:
    """The names of the exceptions chalicelib raises (`raise Name(...)`)."""
    raised = set()
    for path in Path(chalicelib.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) \
                    and isinstance(node.exc.func, ast.Name):
                raised.add(node.exc.func.id)
    return raised


def test_the_template_sends_every_action_the_worker_takes_and_no_other() -> None:
    sent = {event["action"] for _, _, event in worker_tasks()}

    assert sent == {action.value for action in Action}


def test_the_worker_has_a_step_for_every_action() -> None:
    assert set(Worker.STEPS) == set(Action)


def test_every_field_a_task_sends_is_one_the_worker_reads() -> None:
    readable = {field.name for field in fields(Task)}
    for name, _, event in worker_tasks():
        sent = {key.removesuffix(".$") for key in event}
        action = Action(event["action"])

        assert sent <= readable, name
        assert ("token" in sent) == (action in TOKEN_ACTIONS), name
        assert ("failure" in sent) == (action is Action.CRASHED), name


def test_every_error_a_catch_or_retry_names_is_built_in_or_raised_by_the_worker() -> None:
    ours = {name for name in error_names() if not name.startswith(BUILT_IN_ERRORS)}

    # Lambda names an unhandled error by its exception's class name.
    assert ours == {error.__name__ for error in STEERING_ERRORS}
    assert ours <= raised_names()


def test_no_state_reads_a_field_of_the_worker_answer() -> None:
    for name, state, _ in worker_tasks():
        assert "ResultSelector" not in state and "OutputPath" not in state, name
        assert state.get("End") is True or state["ResultPath"] is None, name


@pytest.mark.parametrize(("answer", "json"), [
    (TaskResult("j", "SUCCESS", ran=True), {"job_id": "j", "state": "SUCCESS", "ran": True}),
    (TaskResult("j", JobState.ABORTED, ran=False),
     {"job_id": "j", "state": "ABORTED", "ran": False}),
    (TaskResult("j", "RUNNING", waiting=True),
     {"job_id": "j", "state": "RUNNING", "waiting": True}),
    (TaskResult("j", "missing"), {"job_id": "j", "state": "missing"}),
    (TaskResult("j", None), {"job_id": "j", "state": None}),
])
def test_an_answer_carries_only_the_fields_that_apply(
    answer: TaskResult, json: dict[str, Any]
) -> None:
    assert answer.as_dict() == json
    assert type(answer.as_dict()["state"]) in (str, type(None))


@pytest.mark.parametrize("action", [None, "", "unheard-of"])
def test_an_event_without_a_known_action_runs_the_job(action: str | None) -> None:
    event = {"job_id": "j", "tenant_id": "t"} | ({} if action is None else {"action": action})

    assert Task.from_event(event) == Task(Action.RUN, "j", "t")


@pytest.mark.parametrize("action", sorted(TOKEN_ACTIONS))
def test_a_wait_without_its_token_fails_the_invocation(action: Action) -> None:
    with pytest.raises(KeyError):
        Task.from_event({"action": action.value, "job_id": "j", "tenant_id": "t"})


def test_a_crash_report_carries_its_failure() -> None:
    failure = {"Error": "States.Timeout", "Cause": "too slow"}
    event = {"action": "crashed", "job_id": "j", "tenant_id": "t", "failure": failure}

    assert Task.from_event(event) == Task(Action.CRASHED, "j", "t", failure=failure)
