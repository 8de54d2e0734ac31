"""An execution whose task times out still leaves its job FAILED with a reason:
the template's own definition, with only the task timeout shortened."""

from __future__ import annotations

import uuid

from chalicelib.caller import Caller
from chalicelib.creation import JobFactory
from chalicelib.models import SubmitRequest
from chalicelib.service import JobService
from chalicelib.wiring import services
from chalicelib.workflow import Workflow
from local.provision import Provisioned
from tests.helpers import state_machine_with_run_timeout, wait_until
from tests.methods_for_tests import gate


def test_a_task_that_times_out_fails_the_job_with_the_reason(aws: Provisioned) -> None:
    name = str(uuid.uuid4())
    wired = services()
    short = Workflow(wired.clients.stepfunctions, state_machine_with_run_timeout(aws, 1))
    service = JobService(wired.store, JobFactory(short, wired.basics, wired.numbers), wired.results,
                         wired.fanout, wired.transfers, wired.blobs, wired.basics)
    job = service.submit(SubmitRequest(method="test.blocking", params={"gate": name}),
                         Caller("default", request_id="r")).job

    failed = wait_until(lambda: services().store.get(job.id),
                        lambda j: j is not None and j.state.is_terminal, timeout=30)
    gate(name).set()

    assert failed.state.value == "FAILED"
    assert "States.Timeout" in failed.error
