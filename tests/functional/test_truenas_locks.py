"""A call that joins a locked job through the TrueNAS face (issue 18, item 5)
with legacy_jobs false: its request id is appended to the job's
message_ids (a `changed` event says so), and it gets its own late answer,
the job's result, when the job ends. (legacy_jobs true is covered in
tests/functional/test_truenas_jobs.py.)"""

from __future__ import annotations

from chalice.test import Client

from local.provision import Provisioned
from tests.functional.test_truenas_jobs import Nas, aws, flush, new_key, sent, updates
from tests.methods_for_tests import gate

__all__ = ["aws", "sent"]  # the fixtures of the TrueNAS job tests, used here too


def call(nas: Nas, request_id: int, method: str, params: dict[str, str]) -> list[dict]:
    return nas.send({"jsonrpc": "2.0", "id": request_id, "method": method, "params": [params]})


def test_with_legacy_jobs_false_a_lock_join_appends_the_id_and_answers_it_at_the_end(
    client: Client, aws: Provisioned
) -> None:
    waiting = Nas(new_key(client), legacy_jobs=False)
    other = Nas(new_key(client), legacy_jobs=False)  # ann again, on a second connection
    watcher = Nas(new_key(client))
    watcher.result("core.subscribe", "core.get_jobs")
    name = f"lock-late-{id(waiting)}"
    params = {"gate": name, "key": "tank"}

    assert call(waiting, 1, "test.locked", params) == []
    assert call(waiting, 2, "test.locked", params) == []  # joins: no answer yet either
    assert call(other, 3, "test.locked", params) == []
    flush(aws)
    before = updates(watcher.received())
    number = before[0]["id"]
    job = watcher.job(number)
    gate(name).set()
    watcher.wait(number)
    flush(aws)
    after = watcher.received()
    answers = waiting.received() + other.received()

    assert {u["id"] for u in before} == {number}  # one job: the calls joined it
    assert job["message_ids"] == [1, 2, 3] and job["state"] in ("WAITING", "RUNNING")
    assert before[0]["msg"] == "added" and before[0]["fields"]["message_ids"] == [1]
    grown = [u["fields"]["message_ids"] for u in before]  # (the job may start meanwhile)
    assert [ids for i, ids in enumerate(grown) if i == 0 or ids != grown[i - 1]] == \
        [[1], [1, 2], [1, 2, 3]]
    assert all(u["msg"] == "changed" for u in before[1:])
    assert sorted((a for a in answers if "id" in a), key=lambda a: a["id"]) == [
        {"jsonrpc": "2.0", "result": "done", "id": request_id} for request_id in (1, 2, 3)]
    assert updates(after, number)[-1]["fields"]["state"] == "SUCCESS"
