"""A new record's runner is chosen in one place: Standard for whatever may
outlive Express's five minutes or wait on a task token, Express otherwise."""

from __future__ import annotations

import chalicelib.methods  # noqa: F401  (registers the demo methods)
from chalicelib import tree
from chalicelib.basics import Basics
from chalicelib.creation import JobFactory
from chalicelib.models import ChildSpec, SubmitRequest
from chalicelib.numbering import JobNumbers
from chalicelib.registry import registry
from chalicelib.settings import Settings
from chalicelib.workflow import Workflow
from tests.unit.samples import a_job

SETTINGS = Settings(table_name="jobs", bucket_name="files", state_machine_arn="standard")


def factory(express_arn: str = "express") -> JobFactory:
    # No call reaches a client: choosing a runner and building a record are
    # pure (the records here are given their numbers, so none is reserved).
    return JobFactory(Workflow(None, "standard", express_arn),
                      Basics(registry, SETTINGS, lambda: 1_800_000_000.0),
                      JobNumbers(blocks=None))  # type: ignore[arg-type]


def runner_of(method: str, express_arn: str = "express", **request: object) -> str:
    built = factory(express_arn).new_job(
        registry.get(method), {}, SubmitRequest.model_validate({"method": method, **request}),
        id="j", tenant_id="acme", number=1)
    return built.runner or ""


def test_a_short_leaf_job_runs_on_express() -> None:
    assert runner_of("demo.echo") == "express"


def test_long_jobs_parents_and_jobs_with_files_run_on_standard() -> None:
    assert runner_of("demo.sleep") == "standard"  # long_running
    assert runner_of("demo.fanout") == "standard"  # aggregates its children
    assert runner_of("demo.export") == "standard"  # writes a file
    assert runner_of("demo.checksum") == "standard"  # reads a file
    assert runner_of("demo.echo", children=[{"method": "demo.echo"}]) == "standard"


def test_without_an_express_machine_everything_runs_on_standard() -> None:
    assert runner_of("demo.echo", express_arn="") == "standard"


def test_a_child_inherits_its_parents_scope_and_derives_its_id() -> None:
    parent = a_job(state="RUNNING", transient=True)

    child = factory().child(parent, ChildSpec(method="demo.echo", params={"n": 1}), 3,
                              number=12)

    assert child.id == tree.child_id(parent.id, 3) and child.parent_id == parent.id
    assert child.root_id == parent.id and child.runner == "express"
    assert (child.tenant_id, child.user_id, child.transient) == ("acme", "alice", True)
    assert child.state.value == "WAITING" and child.arguments == {"n": 1}
    assert child.number == 12
