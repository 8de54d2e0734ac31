"""Sub-job trees: what a parent's fan-in counters mean."""

from __future__ import annotations

import uuid

from chalicelib import tree
from chalicelib.models import ChildPolicy, ChildSpec, Job, Progress
from chalicelib.states import JobState
from tests.unit.samples import a_job


def a_parent(**counters: object) -> Job:
    fields: dict[str, object] = {"state": JobState.RUNNING, "child_total": 4,
                                 "child_pending": 4}
    fields.update(counters)
    return a_job(**fields)


def test_a_child_id_is_a_uuid_derived_from_its_parent_and_position() -> None:
    first = tree.child_id("parent-1", 0)

    assert first == tree.child_id("parent-1", 0)
    assert uuid.UUID(first).version == 5
    assert len({first, tree.child_id("parent-1", 1), tree.child_id("parent-2", 0)}) == 3


def test_a_job_without_children_has_no_summary_and_is_never_ready() -> None:
    job = a_job(state=JobState.RUNNING)

    assert tree.summary(job) is None
    assert not tree.ready(job) and not tree.waiting_for_children(job)


def test_the_summary_counts_children_by_state() -> None:
    job = a_job(child_total=10, child_pending=4, child_succeeded=3, child_failed=2,
                child_aborted=1)

    summary = tree.summary(job)

    assert summary is not None
    assert summary.model_dump() == {"total": 10, "active": 4, "SUCCESS": 3, "FAILED": 2,
                                    "ABORTED": 1}


def test_failures_count_failed_and_aborted_children() -> None:
    assert tree.failures(a_job(child_total=5, child_failed=2, child_aborted=1)) == 3
    assert tree.failures(a_job(child_total=5)) == 0


def test_a_parent_is_ready_once_no_child_is_pending() -> None:
    assert not tree.ready(a_parent(child_pending=1, child_succeeded=3))
    assert tree.ready(a_parent(child_pending=0, child_succeeded=4))


def test_under_the_fail_policy_one_failed_child_makes_the_parent_ready() -> None:
    job = a_parent(child_pending=3, child_failed=1, on_child_failure=ChildPolicy.FAIL)

    assert tree.ready(job)


def test_under_the_continue_policy_a_failed_child_does_not() -> None:
    job = a_parent(child_pending=3, child_aborted=1, on_child_failure=ChildPolicy.CONTINUE)

    assert not tree.ready(job)


def test_a_parent_waits_for_children_while_unfinished_and_some_are_pending() -> None:
    assert tree.waiting_for_children(a_parent(child_pending=1))
    assert not tree.waiting_for_children(a_parent(child_pending=0))
    assert not tree.waiting_for_children(a_parent(child_pending=1, state=JobState.ABORTED))


def test_rolled_up_progress_is_the_finished_share_of_the_weights() -> None:
    job = a_parent(child_total=3, child_pending=1, child_weight_total=3,
                   child_weight_done=2, progress=Progress(percent=5, extra={"k": "v"}))

    progress = tree.rolled_up(job)

    assert progress.percent == 66  # rounded down: 100 % only once all are done
    assert progress.description == "2 of 3 sub-jobs finished"
    assert progress.extra == {"k": "v"}


def test_rolled_up_progress_without_weights_is_zero() -> None:
    assert tree.rolled_up(a_parent(child_pending=4)).percent == 0


def spec(*children: ChildSpec) -> ChildSpec:
    return ChildSpec(method="demo.echo", children=list(children) or None)


def test_nodes_and_depth_count_every_level_of_a_declared_tree() -> None:
    specs = [spec(spec(), spec(spec())), spec()]

    assert tree.count_nodes(specs) == 5
    assert tree.depth(specs) == 3
    assert (tree.count_nodes([]), tree.depth([])) == (0, 0)
