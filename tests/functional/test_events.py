"""Job events (issue 17) in-process: the jobs table's real stream records
(moto's DynamoDB Streams) handed to the app's stream handler as Lambda's
event source mapping would, and the app's replies and events sent through
API Gateway's management API (moto's, which keeps what each connection was
sent). The same over a real WebSocket: tests/e2e/test_events_over_http.py."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
from chalice.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import app as job_app
from local.emulated import emulated_aws
from local.provision import Provisioned
from local.streams import deliver_pending
from tests.helpers import CallRecorder, JobsClient, token_for
from tests.sockets import ENDPOINT, Watcher, recording_sends


@pytest.fixture
def aws() -> Iterator[Provisioned]:
    with emulated_aws({"JOBS_EVENTS_ENDPOINT": ENDPOINT,
                       "JOBS_PROGRESS_INTERVAL": "0.2"}) as provisioned:
        yield provisioned


@pytest.fixture(autouse=True)
def sent(aws: Provisioned) -> CallRecorder:
    return recording_sends()


def bearer(tenant: str = "acme", user: str = "ann", roles: tuple[str, ...] = ()) -> str:
    return f"Bearer {token_for(tenant, user, roles)}"


def flush(aws: Provisioned) -> dict[str, Any]:
    """Hands every stream record written so far to the app's stream handler."""
    return deliver_pending(aws, job_app.job_events)


def events_of(messages: list[dict[str, Any]], job_id: str) -> list[dict[str, Any]]:
    return [m for m in messages if m.get("type") == "event" and m["job_id"] == job_id]


def test_a_watcher_sees_a_job_added_then_changed_in_revision_order_up_to_its_end(
    client: Client, aws: Provisioned
) -> None:
    watcher = Watcher(bearer())
    assert watcher.connected["statusCode"] == 200
    assert watcher.send({"type": "subscribe", "id": "mine", "query": {
        "method": "demo.sleep"}}) == [{"type": "subscribed", "id": "mine"}]
    ann = JobsClient(client, token_for("acme", "ann", ()))

    job_id = ann.submit("demo.sleep", {"seconds": 0.6, "steps": 3}).body["id"]
    finished = ann.wait_for(job_id)
    ann.submit("demo.echo", {})  # another method: not this subscription's
    flush(aws)

    events = events_of(watcher.received(), job_id)
    assert next(e["event"] for e in events) == "added"
    assert events[-1]["job"]["state"] == "SUCCESS" and "state" in events[-1]["fields"]
    revisions = [e["revision"] for e in events]
    assert revisions == sorted(set(revisions)) and revisions[0] == 1
    assert revisions[-1] == finished["revision"]
    assert {e["id"] for e in events} == {"mine"}
    assert all(e["job"]["method"] == "demo.sleep" for e in watcher.received() if "job" in e)


def test_reads_carry_the_revision_each_write_counts(client: Client, aws: Provisioned) -> None:
    ann = JobsClient(client, token_for("acme", "ann", ()))
    created = ann.submit("demo.echo", {}).body

    finished = ann.wait_for(created["id"])

    assert created["revision"] == 1
    assert finished["revision"] >= 3  # created, running, finished: each one write


def test_cancel_and_consume_are_events_and_nothing_follows_the_end(
    client: Client, aws: Provisioned
) -> None:
    watcher = Watcher(bearer())
    watcher.send({"type": "subscribe", "id": "all", "query": {}})
    ann = JobsClient(client, token_for("acme", "ann", ()))
    running = ann.submit("demo.sleep", {"seconds": 30, "steps": 300}).body["id"]
    ann.wait_for(running, lambda job: job["state"] == "RUNNING")
    assert ann.request("POST", f"/jobs/{running}/cancel").status == 200
    done = ann.submit("demo.echo", {"x": 1}).body["id"]
    ann.wait_for(done)
    ann.wait_for(running)
    assert ann.request("GET", f"/jobs/{done}/result?consume=true").status == 200
    flush(aws)

    received = watcher.received()
    cancelled, consumed = events_of(received, running), events_of(received, done)
    end = next(i for i, e in enumerate(cancelled) if e["job"]["state"] == "ABORTED")
    assert all(e["event"] == "removed" for e in cancelled[end + 1:])
    assert [e["event"] for e in consumed][-1] == "removed"
    finish = next(i for i, e in enumerate(consumed) if e["job"]["state"] == "SUCCESS")
    assert [e["event"] for e in consumed[finish + 1:]] == ["removed"]


def test_a_snapshot_then_live_events_lose_nothing(client: Client, aws: Provisioned) -> None:
    ann = JobsClient(client, token_for("acme", "ann", ()))
    before = [ann.submit("demo.echo", {"n": n}).body["id"] for n in range(3)]
    for job_id in before:
        ann.wait_for(job_id)
    flush(aws)  # what happened before the watcher came is not an event to it
    watcher = Watcher(bearer())

    answers = watcher.send({"type": "subscribe", "id": "s", "query": {"method": "demo.echo"},
                            "snapshot": {"limit": 2}})
    after = ann.submit("demo.echo", {"n": 9}).body["id"]
    ann.wait_for(after)
    flush(aws)

    snapshot = [a for a in answers if a["type"] == "snapshot"]
    seen = {r["id"] for a in snapshot for r in a["records"]}
    assert answers[0] == {"type": "subscribed", "id": "s"}
    assert len(seen) == 2 and seen <= set(before) and snapshot[-1]["last"] is True
    paged = ann.request("GET", "/jobs?method=demo.echo&limit=2&next_token="
                        + snapshot[-1]["next_token"])
    assert paged.status == 200  # the snapshot pages on as GET /jobs does
    assert {r["id"] for r in paged.body["records"]} | seen >= set(before)
    assert next(e["event"] for e in events_of(watcher.received(), after)) == "added"


def test_watchers_receive_only_jobs_they_may_read_and_a_parents_watcher_not_its_children(
    client: Client, aws: Provisioned
) -> None:
    ann, bob = Watcher(bearer(user="ann")), Watcher(bearer(user="bob"))
    tina = Watcher(bearer(user="tina", roles=("TENANT_ADMIN",)))
    olga = Watcher(bearer("globex", "olga", ("TENANT_ADMIN",)))
    root = Watcher(bearer("ops", "root", ("FULL_ADMIN",)))
    for watcher in (ann, bob, tina, olga):
        watcher.send({"type": "subscribe", "id": "all", "query": {}})
    root.send({"type": "subscribe", "id": "acme", "query": {"tenant_id": "acme"}})
    jobs = JobsClient(client, token_for("acme", "ann", ()))
    parent = jobs.submit("demo.fanout", {"count": 3}).body["id"]
    jobs.wait_for(parent)
    children = {c["id"] for c in jobs.request("GET", f"/jobs/{parent}/children").body["records"]}
    parent_watcher = Watcher(bearer(user="ann"))
    parent_watcher.send({"type": "subscribe", "id": "p", "query": {
        "filters": [["id", "=", parent]]}})
    flush(aws)

    seen = {name: {m["job_id"] for m in w.received() if m.get("type") == "event"}
            for name, w in {"ann": ann, "bob": bob, "tina": tina, "olga": olga,
                            "root": root}.items()}
    assert seen["ann"] == seen["tina"] == seen["root"] == {parent} | children
    assert seen["bob"] == seen["olga"] == set()
    again = jobs.submit("demo.fanout", {"count": 2}).body["id"]  # noqa: F841 (more children)
    jobs.request("POST", f"/jobs/{parent}/cancel")
    flush(aws)
    assert {m["job_id"] for m in parent_watcher.received() if m.get("type") == "event"} <= {
        parent}


def test_an_event_shows_the_job_redacted_as_get_would(client: Client, aws: Provisioned) -> None:
    watcher = Watcher(bearer(user="root", tenant="acme", roles=("FULL_ADMIN",)))
    watcher.send({"type": "subscribe", "id": "s", "query": {}})
    jobs = JobsClient(client, token_for("acme", "ann", ()))
    job_id = jobs.submit("demo.secret", {"username": "ann", "password": "hunter2-canary"}
                         ).body["id"]
    jobs.wait_for(job_id)
    flush(aws)

    text = json.dumps(watcher.received())
    assert job_id in text and "hunter2-canary" not in text


@pytest.mark.parametrize(("message", "code"), [
    ("not json", "bad_request"),
    ([1, 2], "bad_request"),
    ({"type": "dance"}, "bad_request"),
    ({"type": "subscribe"}, "bad_request"),
    ({"type": "subscribe", "id": "x", "query": {"filters": [["nope", "=", 1]]}}, "bad_request"),
    ({"type": "subscribe", "id": "x", "query": {"count": True}}, "bad_request"),
    ({"type": "subscribe", "id": "x", "query": {"tenant_id": "globex"}}, "forbidden"),
    ({"type": "subscribe", "id": "bad id!"}, "bad_request"),
    ({"type": "unsubscribe", "id": "never"}, "bad_request"),
    ({"type": "auth", "authorization": "Bearer x"}, "bad_request"),  # authenticated already
])
def test_a_bad_message_is_an_error_in_the_envelope_and_the_connection_lives_on(
    client: Client, aws: Provisioned, message: Any, code: str
) -> None:
    watcher = Watcher(bearer())

    answers = watcher.send(message)
    after = watcher.send({"type": "ping"})

    assert len(answers) == 1 and answers[0]["type"] == "error", answers
    assert answers[0]["error"]["code"] == code and answers[0]["error"]["message"]
    assert after == [{"type": "pong"}] and not watcher.closed


def test_a_credential_at_connect_in_the_first_message_or_none(client: Client,
                                                              aws: Provisioned) -> None:
    refused = Watcher("Bearer not-a-jwt")
    expired = Watcher(f"Bearer {token_for(seconds=-60)}")
    later = Watcher()
    token = JobsClient(client, token_for("acme", "ann", ())).request(
        "POST", "/auth/tokens", {"ttl": 60}).body["token"]
    by_query = Watcher(query={"auth_token": token})

    early = later.send({"type": "subscribe", "id": "s", "query": {}})
    anonymous = Watcher()
    wrong = anonymous.send({"type": "auth", "authorization": "Bearer 12-" + "x" * 64})

    assert refused.connected["statusCode"] == expired.connected["statusCode"] == 403
    assert by_query.connected["statusCode"] == 200
    assert by_query.send({"type": "ping"}) == [{"type": "pong"}]
    assert early[0]["error"]["code"] == "unauthorized" and later.closed
    assert wrong[0]["error"]["code"] == "forbidden" and anonymous.closed
    fresh = Watcher()
    assert fresh.send({"type": "auth", "authorization": bearer()})[0]["type"] == "authenticated"
    assert fresh.send({"type": "subscribe", "id": "s", "query": {}})[0]["type"] == "subscribed"


def test_key_and_token_watchers_see_what_their_makers_see(client: Client,
                                                          aws: Provisioned) -> None:
    """The isolation matrix's credential principals, as watchers: an API key
    (Basic, at connect), a token (in the first message), another tenant's key."""
    ann = JobsClient(client, token_for("acme", "ann", ()))
    olga = JobsClient(client, token_for("globex", "olga", ("TENANT_ADMIN",)))
    key = ann.request("POST", "/api_keys", {"name": "watch"}).body["key"]
    token = ann.request("POST", "/auth/tokens", {"ttl": 60}).body["token"]
    olgas_key = olga.request("POST", "/api_keys", {"name": "watch"}).body["key"]

    by_key = Watcher("Basic " + base64.b64encode(f"ann:{key}".encode()).decode())
    by_token = Watcher()
    assert by_token.send({"type": "auth", "authorization": f"Token {token}"})[0]["type"] == \
        "authenticated"
    outsider = Watcher(f"Bearer {olgas_key}")
    for watcher in (by_key, by_token, outsider):
        assert watcher.send({"type": "subscribe", "id": "all", "query": {}})[0]["type"] == \
            "subscribed"
    job_id = ann.submit("demo.echo", {}).body["id"]
    ann.wait_for(job_id)
    flush(aws)

    def seen(watcher: Watcher) -> set[str]:
        return {m["job_id"] for m in watcher.received() if m.get("type") == "event"}

    assert seen(by_key) == seen(by_token) == {job_id}
    assert seen(outsider) == set()


messages = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["type", "id", "query", "snapshot", "authorization", "jsonrpc",
                         "method", "params", "filters"]) | st.text(max_size=6), inner,
        max_size=4),
    max_leaves=10,
)
shaped = st.fixed_dictionaries({"type": st.sampled_from(
    ["subscribe", "unsubscribe", "ping", "auth", "x"])}, optional={
    "id": st.text(max_size=70), "query": messages, "snapshot": messages,
    "authorization": st.text(max_size=30)})
jsonrpc = st.fixed_dictionaries({"jsonrpc": st.sampled_from(["2.0", "1.0", 2]),
                                 "method": st.sampled_from([
                                     "core.ping", "auth.login_ex", "auth.generate_token",
                                     "core.get_jobs", "core.subscribe", "core.unsubscribe",
                                     "core.job_wait", "core.job_abort", "core.download",
                                     "core.get_methods", "demo.echo",
                                     "nope", ""])
                                 | st.text(max_size=10)},
                                optional={"id": messages, "params": messages})


@settings(max_examples=80, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(first=st.sampled_from(["native", "truenas"]),
       frames=st.lists(messages | shaped | jsonrpc | st.text(max_size=40), min_size=1,
                       max_size=4))
def test_fuzzed_socket_messages_never_crash_a_handler(client: Client, aws: Provisioned,
                                                      first: str, frames: list[Any]) -> None:
    watcher = Watcher(bearer())
    opening = {"type": "ping"} if first == "native" else {"jsonrpc": "2.0", "id": 1,
                                                          "method": "core.ping"}
    watcher.send(opening)

    for frame in frames:
        answers = watcher.send(frame if isinstance(frame, str) else json.dumps(frame))
        for answer in answers:
            if first == "native":
                assert answer["type"] in ("error", "pong", "subscribed", "snapshot",
                                          "unsubscribed", "authenticated"), answer
                if answer["type"] == "error":
                    assert answer["error"]["code"] != "internal_error", answer
            else:
                assert answer.get("jsonrpc") == "2.0", answer
                error = answer.get("error") or {}
                assert error.get("data", {}).get("errname") != "EFAULT", answer


def test_a_lock_item_in_the_stream_is_no_event_and_does_not_stop_the_batch(
    client: Client, aws: Provisioned
) -> None:
    """Lock items share the jobs table, so their writes are stream records
    too; they are not jobs, and the jobs' events in the same batch still go out."""
    from tests.methods_for_tests import gate

    watcher = Watcher(bearer())
    watcher.send({"type": "subscribe", "id": "all", "query": {}})
    ann = JobsClient(client, token_for("acme", "ann", ()))
    name = f"lock-in-stream-{id(watcher)}"
    job_id = ann.submit("test.locked", {"gate": name, "key": "stream"}).body["id"]
    gate(name).set()
    ann.wait_for(job_id)

    flush(aws)

    events = events_of(watcher.received(), job_id)
    assert events[0]["event"] == "added"
    assert events[-1]["job"]["state"] == "SUCCESS"
