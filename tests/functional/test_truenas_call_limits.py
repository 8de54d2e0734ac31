"""JSON-RPC -32000 "too many concurrent calls" (issue 18, item 2). The
middleware runs at most 20 calls of a connection at once (ws_handler/rpc.py,
SoftHardSemaphore(10, 20)) and answers the 21st with -32000 and no data.
Here a call is in flight only while it waits for its job's end
(legacy_jobs false): a connection holds at most 20 such waits
(chalicelib.events.subscribing.MAX_SUBSCRIPTIONS, core.subscribe's
included), and one more is answered -32000; the connection stays open."""

from __future__ import annotations

from chalice.test import Client

from local.provision import Provisioned
from tests.functional.test_truenas_jobs import Nas, aws, flush, new_key, sent
from tests.helpers import wait_until
from tests.methods_for_tests import gate

__all__ = ["aws", "sent"]  # the fixtures of the TrueNAS job tests, used here too

TOO_MANY = {"code": -32000, "message": "Maximum number of concurrent calls (20) has exceeded"}


def frame(request_id: int, method: str, *params: object) -> dict[str, object]:
    return {"jsonrpc": "2.0", "id": request_id, "method": method, "params": list(params)}


def test_a_call_over_twenty_waiting_on_a_connection_is_refused_with_32000(
    client: Client, aws: Provisioned
) -> None:
    ann = Nas(new_key(client))
    waiting = Nas(new_key(client), legacy_jobs=False)
    name = f"limit-{id(waiting)}"
    running = ann.result("test.blocking", {"gate": name})

    held = [waiting.send(frame(n, "core.job_wait", running)) for n in range(1, 21)]
    over_wait = waiting.send(frame(21, "core.job_wait", running))
    over_job = waiting.send(frame(22, "demo.echo", {"n": 22}))
    ping = waiting.call("core.ping", id=23)
    gate(name).set()
    ann.wait(running)
    flush(aws)
    released = [m for m in waiting.received() if "id" in m]
    after = waiting.send(frame(24, "demo.echo", {"n": 24}))
    late: list[dict[str, object]] = []
    wait_until(lambda: (flush(aws), late.extend(waiting.received()), late)[2], bool)

    assert held == [[]] * 20  # each waits for the job's end
    assert over_wait == [{"jsonrpc": "2.0", "error": TOO_MANY, "id": 21}]
    assert over_job == [{"jsonrpc": "2.0", "error": TOO_MANY, "id": 22}]
    assert ann.result("core.get_jobs", [["method", "=", "demo.echo"]], {"count": True}) == 1
    assert ping["result"] == "pong" and not waiting.closed
    assert sorted(m["id"] for m in released) == list(range(1, 21))
    assert {m.get("result") for m in released} == {"released"}
    assert after == [] and late == [{"jsonrpc": "2.0", "result": {"n": 24}, "id": 24}]


def test_core_subscribe_takes_one_of_the_twenty_places(client: Client, aws: Provisioned) -> None:
    waiting = Nas(new_key(client), legacy_jobs=False)
    ann = Nas(new_key(client))
    name = f"limit-sub-{id(waiting)}"
    running = ann.result("test.blocking", {"gate": name})
    waiting.result("core.subscribe", "core.get_jobs")

    held = [waiting.send(frame(n, "core.job_wait", running)) for n in range(1, 20)]
    over = waiting.send(frame(20, "core.job_wait", running))
    gate(name).set()
    ann.wait(running)

    assert held == [[]] * 19
    assert over == [{"jsonrpc": "2.0", "error": TOO_MANY, "id": 20}]
