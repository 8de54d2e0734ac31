"""Whatever the interleaving of worker, cancel and progress, exactly one
terminal write wins and no terminal state is ever overwritten."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from chalicelib.clock import iso, system_clock
from chalicelib.errors import TransitionRejected
from chalicelib.models import Job, Outcome, Progress
from chalicelib.states import JobState
from chalicelib.wiring import services
from local.provision import Provisioned

ROUNDS = 15


def new_job() -> Job:
    now = iso(system_clock())
    job = Job(id=str(uuid.uuid4()), method="demo.sleep", abortable=True, time_created=now,
              time_updated=now, tenant_id="default")
    services().store.create(job)  # no execution: the test drives every write itself
    return job


def race(actions: dict[str, Callable[[], Any]]) -> dict[str, bool]:
    """Run the actions at the same moment; report which ones were accepted."""
    barrier = threading.Barrier(len(actions))
    accepted: dict[str, bool] = {}

    def run(name: str, action: Callable[[], Any]) -> None:
        barrier.wait()
        try:
            action()
            accepted[name] = True
        except TransitionRejected:
            accepted[name] = False

    threads = [threading.Thread(target=run, args=item) for item in actions.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return accepted


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_finish_cancel_and_progress_racing_on_a_running_job(
    aws: Provisioned, round_: int
) -> None:
    store, now = services().store, iso(system_clock())
    job = store.mark_running(new_job().id, "default", now)

    accepted = race({
        "SUCCESS": lambda: store.finish(job, Outcome(state=JobState.SUCCESS, result=1), now),
        "FAILED": lambda: store.finish(job, Outcome(state=JobState.FAILED, error="x"), now),
        "ABORTED": lambda: store.abort(job, now, "aborted by request", None, now),
        "progress-1": lambda: store.report_progress(job.id, Progress(percent=10), now),
        "progress-2": lambda: store.report_progress(job.id, Progress(percent=20), now),
    })
    final = store.get(job.id)

    winners = [name for name in ("SUCCESS", "FAILED", "ABORTED") if accepted[name]]
    assert len(winners) == 1
    assert final is not None and final.state.value == winners[0]
    assert (final.result == 1) == (winners[0] == "SUCCESS")
    with pytest.raises(TransitionRejected):
        store.finish(job, Outcome(state=JobState.SUCCESS), now)
    assert store.get(job.id).state == final.state  # type: ignore[union-attr]


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_marking_running_and_cancel_racing_on_a_waiting_job(aws: Provisioned, round_: int) -> None:
    store, now = services().store, iso(system_clock())
    job = new_job()

    accepted = race({
        "run": lambda: store.mark_running(job.id, "default", now),
        "run-again": lambda: store.mark_running(job.id, "default", now),
        "abort": lambda: store.abort(job, now, "aborted by request", None, None),
    })
    final = store.get(job.id)

    assert sum(accepted.values()) == 1
    assert final is not None
    expected = JobState.ABORTED if accepted["abort"] else JobState.RUNNING
    assert final.state is expected


def test_cancels_racing_real_finishes_leave_consistent_jobs(aws: Provisioned) -> None:
    """Cancel short jobs at every moment of their life through the real worker:
    each ends ABORTED without a result or SUCCESS with one, and stays so."""
    import time

    from chalicelib.caller import Caller
    from chalicelib.errors import Conflict
    from chalicelib.models import SubmitRequest
    from tests.helpers import wait_until

    service, caller = services().jobs, Caller("default", request_id="r")
    request = SubmitRequest(method="demo.sleep", params={"seconds": 0.3, "steps": 3})
    submitted = [service.submit(request, caller).job.id for _ in range(12)]
    outcomes: dict[str, str] = {}
    for delay, job_id in enumerate(submitted):
        time.sleep(0.05 * delay % 0.5)
        try:
            outcomes[job_id] = service.cancel(job_id, caller).state.value
        except Conflict:
            outcomes[job_id] = "finished first"

    finals = {job_id: wait_until(lambda j=job_id: services().store.get(j),
                                 lambda job: job.state.is_terminal) for job_id in submitted}
    time.sleep(0.5)  # any late write from a worker would land by now
    for job_id, job in finals.items():
        again = services().store.get(job_id)
        assert again is not None and again.state is job.state
        if job.state is JobState.ABORTED:
            assert outcomes[job_id] == "ABORTED" and job.result is None
        else:
            assert job.state is JobState.SUCCESS and outcomes[job_id] == "finished first"
            assert job.result == {"slept": 0.3, "steps": 3}
