"""Jobs through the TrueNAS face (issue 18, items 5 to 8), raw JSON-RPC 2.0
frames through the app's WebSocket handlers as API Gateway calls them; job
events from the jobs table's real stream (moto) handed to the app's stream
handler; what the app sends read from the management API's calls.

What the clients' own tests (tests/e2e/test_truenas_clients.py) do not
reach: legacy_jobs false, the order of an answer and its job's events, the
error shapes of job calls, integer ids."""

from __future__ import annotations

import errno
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from chalice.test import Client

import app as job_app
from chalicelib.wiring import services
from local.emulated import emulated_aws
from local.provision import Provisioned
from local.streams import deliver_pending
from tests.helpers import CallRecorder, JobsClient, token_for, wait_until
from tests.methods_for_tests import gate
from tests.sockets import ENDPOINT, Watcher, recording_sends


@pytest.fixture
def aws() -> Iterator[Provisioned]:
    with emulated_aws({"JOBS_EVENTS_ENDPOINT": ENDPOINT,
                       "JOBS_PROGRESS_INTERVAL": "0.2"}) as provisioned:
        yield provisioned


@pytest.fixture(autouse=True)
def sent(aws: Provisioned) -> CallRecorder:
    return recording_sends()


def new_key(client: Client, tenant: str = "acme", user: str = "ann") -> str:
    answer = JobsClient(client, token_for(tenant, user, ())).request(
        "POST", "/api_keys", {"name": "nas"})
    assert answer.status == 201, answer.body
    return str(answer.body["key"])


class Nas(Watcher):
    """A TrueNAS client's connection, logged in with an API key."""

    def __init__(self, key: str | None = None, legacy_jobs: bool = True) -> None:
        super().__init__()
        if not legacy_jobs:
            self.call("core.set_options", {"legacy_jobs": False})
        if key is not None:
            assert self.call("auth.login_with_api_key", key)["result"] is True

    def call(self, method: str, *params: Any, id: Any = 1) -> dict[str, Any]:
        answers = self.send({"jsonrpc": "2.0", "id": id, "method": method,
                             "params": list(params)})
        assert len(answers) == 1, answers
        return answers[0]

    def result(self, method: str, *params: Any, id: Any = 1) -> Any:
        answer = self.call(method, *params, id=id)
        assert "error" not in answer, answer
        return answer["result"]

    def job(self, number: int) -> dict[str, Any]:
        (job,) = self.result("core.get_jobs", [["id", "=", number]])
        return dict(job)

    def wait(self, number: int) -> dict[str, Any]:
        return wait_until(lambda: self.job(number),
                          lambda job: job["state"] in ("SUCCESS", "FAILED", "ABORTED"))


def flush(aws: Provisioned) -> None:
    deliver_pending(aws, job_app.job_events)


def updates(messages: list[dict[str, Any]], number: int | None = None) -> list[dict[str, Any]]:
    return [m["params"] for m in messages if m.get("method") == "collection_update"
            and (number is None or m["params"]["id"] == number)]


def test_a_method_called_by_name_answers_its_integer_job_id_and_runs(client: Client) -> None:
    nas = Nas(new_key(client))

    positional = nas.result("demo.sleep", 0.2, 2, id=11)
    named = nas.result("demo.echo", {"word": "hi"}, id="twelve")

    assert isinstance(positional, int) and isinstance(named, int) and positional != named
    job = nas.wait(positional)
    assert job["id"] == positional and job["method"] == "demo.sleep"
    assert job["arguments"] == [{"seconds": 0.2, "steps": 2}]
    assert job["message_ids"] == [11] and nas.wait(named)["message_ids"] == ["twelve"]
    assert job["progress"]["percent"] == 100
    assert set(job["time_started"]) == {"$date"} and isinstance(job["time_started"]["$date"], int)
    assert nas.wait(named)["result"] == {"word": "hi"}


def test_with_legacy_jobs_false_the_answer_comes_after_the_jobs_added_event(
    client: Client, aws: Provisioned
) -> None:
    nas = Nas(new_key(client), legacy_jobs=False)
    assert isinstance(nas.result("core.subscribe", "core.get_jobs"), str)

    assert nas.send({"jsonrpc": "2.0", "id": 42, "method": "demo.sleep",
                     "params": [{"seconds": 0.4, "steps": 2}]}) == []  # not yet
    wait_until(lambda: JobsClient(client, token_for("acme", "ann")).request(
        "GET", "/jobs?method=demo.sleep").body["records"],
        lambda jobs: jobs and jobs[0]["state"] == "SUCCESS")
    flush(aws)
    messages = nas.received()

    answers = [m for m in messages if m.get("id") == 42]
    assert answers == [{"jsonrpc": "2.0", "result": {"slept": 0.4, "steps": 2}, "id": 42}]
    added = next(i for i, m in enumerate(messages)
                 if m.get("method") == "collection_update" and m["params"]["msg"] == "added")
    assert messages[added]["params"]["fields"]["message_ids"] == [42]
    assert added < messages.index(answers[0])  # clients match the call on the event first
    number = messages[added]["params"]["id"]
    assert updates(messages, number)[-1]["fields"]["state"] == "SUCCESS"


def test_with_legacy_jobs_false_a_failed_job_answers_its_error(
    client: Client, aws: Provisioned
) -> None:
    nas = Nas(new_key(client), legacy_jobs=False)

    assert nas.send({"jsonrpc": "2.0", "id": 5, "method": "demo.fail",
                     "params": [{"message": "disk on fire"}]}) == []
    wait_until(lambda: (flush(aws), nas.received())[1], bool)
    # received() was read by the loop: the answer is the last thing it saw
    answer = nas.recorder.calls[-1][1]
    body = json.loads(answer["Data"])

    assert body["id"] == 5 and body["error"]["code"] == -32001
    assert body["error"]["message"] == "Method call error"
    assert "disk on fire" in body["error"]["data"]["reason"]


def test_core_subscribe_sends_collection_updates_with_the_whole_record(
    client: Client, aws: Provisioned
) -> None:
    nas = Nas(new_key(client))
    other = Nas(new_key(client, user="bob"))
    assert Nas().call("core.subscribe", "core.get_jobs")["error"]["data"]["error"] == 207
    assert nas.call("core.subscribe", "nothing.here")["error"]["data"]["error"] == errno.ENOENT
    subscription = nas.result("core.subscribe", "core.get_jobs")
    other.result("core.subscribe", "*")

    number = nas.result("demo.sleep", {"seconds": 0.6, "steps": 3})
    nas.wait(number)
    flush(aws)

    seen = updates(nas.received(), number)
    assert seen[0]["msg"] == "added"
    assert {u["collection"] for u in seen} == {"core.get_jobs"}
    assert any(0 < (u["fields"]["progress"]["percent"] or 0) < 100 for u in seen)
    assert seen[-1]["msg"] == "changed" and seen[-1]["fields"]["state"] == "SUCCESS"
    assert all(u["fields"]["id"] == number for u in seen)
    assert updates(other.received()) == []  # bob sees none of ann's jobs

    assert nas.result("core.unsubscribe", subscription) is None
    nas.result("demo.echo", {})
    flush(aws)
    assert updates(nas.received()) == []


def test_core_get_jobs_takes_the_query_language_and_options(client: Client) -> None:
    nas = Nas(new_key(client))
    bob = Nas(new_key(client, user="bob"))
    numbers = [nas.result("demo.echo", {"n": n}) for n in range(3)]
    for number in numbers:
        nas.wait(number)
    bob.wait(bob.result("demo.echo", {}))

    mine = nas.result("core.get_jobs", [["method", "=", "demo.echo"]],
                      {"order_by": ["-id"], "select": ["id", "state"]})
    first = nas.result("core.get_jobs", [], {"order_by": ["id"], "get": True})
    count = nas.result("core.get_jobs", [["id", "in", numbers[:2]]], {"count": True})
    since = min((nas.job(n)["time_started"] for n in numbers), key=lambda t: t["$date"])
    later = nas.result("core.get_jobs", [["time_started", ">=", since]], {"limit": 2,
                                                                        "offset": 1})

    assert mine == [{"id": n, "state": "SUCCESS"} for n in sorted(numbers, reverse=True)]
    assert first["id"] == numbers[0] and count == 2
    assert [job["id"] for job in later] == numbers[1:3]
    missing = nas.call("core.get_jobs", [["id", "=", 10**9]], {"get": True})
    assert missing["error"]["data"]["error"] == errno.ENOENT
    wrong = nas.call("core.get_jobs", [["nope", "=", 1]])
    assert wrong["error"]["code"] == -32602


def test_wrong_params_of_a_job_method_are_invalid_params_naming_the_field(
    client: Client
) -> None:
    nas = Nas(new_key(client))

    wrong_type = nas.call("demo.sleep", "soon")["error"]
    too_many = nas.call("demo.sleep", 1, 2, 3)["error"]

    assert wrong_type["code"] == -32602 and wrong_type["message"] == "Invalid params"
    assert [entry[0] for entry in wrong_type["data"]["extra"]] == ["seconds"]
    assert wrong_type["data"]["extra"][0][2] == errno.EINVAL
    assert too_many["code"] == -32602 and "Too many arguments" in too_many["data"]["reason"]


def test_core_job_abort_aborts_and_answers_null_also_for_a_finished_job(
    client: Client
) -> None:
    nas = Nas(new_key(client))
    number = nas.result("demo.sleep", {"seconds": 30, "steps": 300})
    wait_until(lambda: nas.job(number), lambda job: job["state"] == "RUNNING")

    assert nas.result("core.job_abort", number) is None
    assert nas.wait(number)["state"] == "ABORTED"
    assert nas.result("core.job_abort", number) is None
    assert nas.call("core.job_abort", 10**9)["error"]["data"]["error"] == errno.ENOENT


def test_core_job_wait_answers_the_outcome_or_a_mirroring_job(
    client: Client, aws: Provisioned
) -> None:
    legacy = Nas(new_key(client))
    waiting = Nas(new_key(client), legacy_jobs=False)
    done = legacy.result("demo.echo", {"x": 1})
    legacy.wait(done)
    name = f"wait-{id(legacy)}"
    running = legacy.result("test.blocking", {"gate": name})

    assert waiting.result("core.job_wait", done, id=3) == {"x": 1}  # ended: at once
    assert waiting.send({"jsonrpc": "2.0", "id": 4, "method": "core.job_wait",
                         "params": [running]}) == []
    mirror = legacy.result("core.job_wait", running)
    gate(name).set()
    legacy.wait(running)
    flush(aws)

    assert waiting.received()[-1] == {"jsonrpc": "2.0", "result": "released", "id": 4}
    assert isinstance(mirror, int) and mirror != running
    assert legacy.wait(mirror)["result"] == "released"


def test_a_lock_join_appends_the_callers_request_id_and_sends_changed(
    client: Client, aws: Provisioned
) -> None:
    nas = Nas(new_key(client))
    nas.result("core.subscribe", "core.get_jobs")
    name = f"lock-{id(nas)}"

    first = nas.result("test.locked", {"gate": name, "key": "tank"}, id=1)
    joined = nas.result("test.locked", {"gate": name, "key": "tank"}, id=2)
    flush(aws)
    seen = updates(nas.received(), first)
    gate(name).set()
    nas.wait(first)

    assert joined == first
    assert seen[0]["msg"] == "added" and seen[0]["fields"]["message_ids"] == [1]
    assert any(u["msg"] == "changed" and u["fields"]["message_ids"] == [1, 2] for u in seen)


def test_core_download_answers_the_job_and_a_link_without_the_request_id(
    client: Client
) -> None:
    nas = Nas(new_key(client))

    number, link = nas.result("core.download", "demo.export", [{"size": 2000}], "out.bin",
                              False)

    assert isinstance(number, int) and link.startswith("/_download/")
    assert "auth_token=" in link
    fetched = client.http.request("GET", link, headers={"Accept": "*/*"})
    assert fetched.status_code == 200 and len(fetched.body) == 2000
    assert nas.wait(number)["message_ids"] == []
    refused = nas.call("core.download", "demo.echo", [], "x", False)["error"]
    assert refused["data"]["error"] == errno.EINVAL


def test_core_get_methods_says_every_method_is_a_job(client: Client) -> None:
    nas = Nas(new_key(client))

    demo = nas.result("core.get_methods", "demo")

    assert demo["demo.sleep"]["job"] is True and "core.job_wait" not in demo
    assert demo["demo.export"]["downloadable"] is True
    assert "core.http_request" not in nas.result("core.get_methods", "core")
    # The ArangoDB face's replay runs as a stored caller: no client makes one.
    assert nas.call("core.http_request", {})["error"]["code"] == -32601


def test_call_budgets_of_a_job_call_and_of_polling_it(client: Client) -> None:
    """Exact AWS calls per message (the connection's record is read first,
    each time): a job call is the job's create; polling a job by id reads
    one by_number entry and one record; waiting for the end adds the
    subscription (listed on the connection, then stored)."""
    nas = Nas(new_key(client))
    waiting = Nas(new_key(client), legacy_jobs=False)
    nas.result("demo.echo", {})  # this process's block of numbers is reserved
    clients = services().clients
    calls = CallRecorder(clients.dynamodb, clients.stepfunctions)

    number = nas.result("demo.echo", {"n": 1})
    call, mark = calls.in_main_thread(), len(calls.calls)
    nas.result("core.get_jobs", [["id", "=", number]])
    poll, mark = calls.in_main_thread(since=mark), len(calls.calls)
    waiting.send({"jsonrpc": "2.0", "id": 9, "method": "demo.echo", "params": [{}]})
    wait = calls.in_main_thread(since=mark)

    assert call == ["GetItem", "PutItem", "StartExecution"]
    assert poll == ["GetItem", "Query", "GetItem"]
    assert wait == ["GetItem", "UpdateItem", "PutItem", "PutItem", "StartExecution"]


def test_another_users_jobs_cannot_be_waited_for_aborted_or_read(client: Client) -> None:
    ann = Nas(new_key(client))
    bob = Nas(new_key(client, user="bob"))
    eve = Nas(new_key(client, tenant="evil", user="eve"))
    number = ann.result("demo.sleep", {"seconds": 30, "steps": 300})

    for other in (bob, eve):
        for method in ("core.job_abort", "core.job_wait"):
            assert other.call(method, number)["error"]["data"]["error"] == errno.ENOENT
        assert other.result("core.get_jobs", [["id", "=", number]]) == []
    assert ann.job(number)["state"] in ("WAITING", "RUNNING")
    ann.result("core.job_abort", number)


def test_no_secret_reaches_a_truenas_answer_record_or_notification(
    client: Client, aws: Provisioned
) -> None:
    password = "hunter2-Truenas-Secret"
    nas = Nas(new_key(client), legacy_jobs=False)
    nas.result("core.subscribe", "core.get_jobs")

    assert nas.send({"jsonrpc": "2.0", "id": 1, "method": "demo.secret",
                     "params": ["ann", password]}) == []
    assert nas.send({"jsonrpc": "2.0", "id": 2, "method": "demo.secret",
                     "params": [{"username": "ann", "password": password, "fail": True}]}) == []
    wait_until(lambda: nas.result("core.get_jobs", [["method", "=", "demo.secret"],
                                                    ["state", "in", ["SUCCESS", "FAILED"]]],
                                  {"count": True}), lambda n: n == 2)
    records = nas.result("core.get_jobs", [["method", "=", "demo.secret"]])
    flush(aws)
    sent = [json.loads(params["Data"]) for name, params in nas.recorder.calls
            if name == "PostToConnection" and params["ConnectionId"] == nas.id]

    assert {m.get("id") for m in sent if "result" in m or "error" in m} >= {1, 2}
    assert records and password not in json.dumps(records)
    assert password not in json.dumps(sent)


def test_raw_result_shows_a_full_admin_the_result_unredacted_and_no_one_else(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    """core.get_jobs's `extra.raw_result`, as GET /jobs?raw_result=true: the
    result unredacted for a FULL_ADMIN only, each time an audit line; the
    arguments stay masked for everyone (tests/functional/test_secrets.py)."""
    password = "hunter2-Raw-Result"
    ann = Nas(new_key(client))
    number = ann.result("demo.secret", {"username": "ann", "password": password})
    assert ann.wait(number)["state"] == "SUCCESS"
    root_key = JobsClient(client, token_for("acme", "root", ("FULL_ADMIN",))).request(
        "POST", "/api_keys", {"name": "root"}).body["key"]
    root = Nas(str(root_key))
    tenant_admin = Nas(str(JobsClient(client, token_for("acme", "boss")).request(
        "POST", "/api_keys", {"name": "boss"}).body["key"]))
    raw = {"extra": {"raw_result": True}}
    by_id = [["id", "=", number]]

    with caplog.at_level(logging.INFO, logger="jobapi.audit"):
        (shown,) = root.result("core.get_jobs", by_id, raw)
        got = root.result("core.get_jobs", by_id, {**raw, "get": True})
    (plain,) = root.result("core.get_jobs", by_id)
    (own,) = ann.result("core.get_jobs", by_id, raw)
    (admins,) = tenant_admin.result("core.get_jobs", by_id, raw)

    assert shown["result"]["password_used"] == password and got["result"] == shown["result"]
    assert shown["arguments"] == [{"username": "ann", "password": "********", "fail": False}]
    for masked in (plain, own, admins):
        assert masked["result"]["password_used"] == "********"
        assert password not in json.dumps(masked)
    audits = [r.getMessage() for r in caplog.records if r.name == "jobapi.audit"]
    assert len(audits) == 2 and all("raw_result: user root of tenant acme" in a for a in audits)
