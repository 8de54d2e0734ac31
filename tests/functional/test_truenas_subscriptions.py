"""TrueNAS collection_update events beyond the first subscription test
(tests/functional/test_truenas_jobs.py): `core.subscribe ["*"]` delivers the
owner's events; deleting a job sends `removed` (no fields) to a subscriber,
and answers a call still waiting for that job's end with ENOENT. Raw
JSON-RPC frames through the app's handlers, events from moto's stream."""

from __future__ import annotations

import errno
import json
import urllib.parse

from chalice.test import Client

from chalicelib.wiring import services
from local.provision import Provisioned
from tests.functional.test_truenas_jobs import Nas, aws, flush, new_key, sent, updates
from tests.helpers import JobsClient, token_for, wait_until
from tests.methods_for_tests import gate

__all__ = ["aws", "sent"]  # the fixtures of the TrueNAS job tests, used here too


def rest_id(client: Client, number: int, user: str = "ann") -> str:
    """The job's uuid (what DELETE /jobs/{id} takes), from its number."""
    filters = urllib.parse.quote(json.dumps([["number", "=", number]]))
    body = JobsClient(client, token_for("acme", user, ())).request(
        "GET", f"/jobs?filters={filters}").body
    (job,) = body["records"]
    return str(job["id"])


def delete(client: Client, number: int) -> str:
    job_id = rest_id(client, number)
    answer = JobsClient(client, token_for("acme", "ann", ())).request("DELETE", f"/jobs/{job_id}")
    assert answer.status == 200 and answer.body["deleted"] == 1, answer.body
    return job_id


def test_subscribing_to_star_delivers_the_owners_added_and_changed_events(
    client: Client, aws: Provisioned
) -> None:
    nas = Nas(new_key(client))
    subscription = nas.result("core.subscribe", "*")

    number = nas.result("demo.sleep", {"seconds": 0.4, "steps": 2})
    nas.wait(number)
    flush(aws)
    seen = updates(nas.received(), number)

    assert isinstance(subscription, str)
    assert seen[0]["msg"] == "added" and len(seen) >= 2
    assert {u["msg"] for u in seen[1:]} == {"changed"}
    assert {u["collection"] for u in seen} == {"core.get_jobs"}
    assert seen[0]["fields"]["state"] == "WAITING" and seen[0]["fields"]["id"] == number
    assert seen[-1]["fields"]["state"] == "SUCCESS"
    assert seen[-1]["fields"]["result"] == {"slept": 0.4, "steps": 2}


def test_deleting_a_subscribed_job_sends_removed_with_its_number_and_no_fields(
    client: Client, aws: Provisioned
) -> None:
    nas = Nas(new_key(client))
    nas.result("core.subscribe", "core.get_jobs")
    number = nas.result("demo.echo", {"x": 1})
    nas.wait(number)
    flush(aws)
    nas.received()  # its added and changed events

    delete(client, number)
    flush(aws)
    messages = nas.received()

    assert messages == [{"jsonrpc": "2.0", "method": "collection_update",
                         "params": {"msg": "removed", "collection": "core.get_jobs",
                                    "id": number}}]
    assert nas.result("core.get_jobs", [["id", "=", number]]) == []


def test_a_call_waiting_for_a_job_removed_before_its_end_gets_enoent_once(
    client: Client, aws: Provisioned
) -> None:
    ann = Nas(new_key(client))
    waiting = Nas(new_key(client), legacy_jobs=False)
    name = f"removed-{id(waiting)}"

    assert waiting.send({"jsonrpc": "2.0", "id": 77, "method": "test.stubborn",
                         "params": [{"gate": name}]}) == []
    number = wait_until(lambda: ann.result("core.get_jobs", [["method", "=", "test.stubborn"],
                                                             ["state", "=", "RUNNING"]]),
                        bool)[0]["id"]
    flush(aws)
    assert [m for m in waiting.received() if "id" in m] == []  # still running: no answer
    job_id = delete(client, number)
    flush(aws)
    answers = [m for m in waiting.received() if "id" in m]
    gate(name).set()  # the job runs on to its end, deleted
    sfn = services().clients.stepfunctions
    execution = services().workflow.execution_arn(job_id)
    wait_until(lambda: sfn.describe_execution(executionArn=execution)["status"],
               lambda status: status != "RUNNING")
    flush(aws)

    assert len(answers) == 1 and answers[0]["id"] == 77
    error = answers[0]["error"]
    assert error["code"] == -32001 and error["message"] == "Method call error"
    assert error["data"]["error"] == errno.ENOENT and error["data"]["errname"] == "ENOENT"
    assert "removed before it ended" in error["data"]["reason"]
    assert [m for m in waiting.received() if "id" in m] == []  # answered exactly once
