"""What one WebSocket message costs in DynamoDB calls (issue 17): exact
counts, through the app's handlers on moto."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from chalicelib.wiring import services
from local.emulated import emulated_aws
from local.provision import Provisioned
from tests.helpers import CallRecorder, token_for
from tests.sockets import ENDPOINT, Watcher, recording_sends


@pytest.fixture
def aws() -> Iterator[Provisioned]:
    with emulated_aws({"JOBS_EVENTS_ENDPOINT": ENDPOINT}) as provisioned:
        yield provisioned


def test_connect_subscribe_and_unsubscribe_make_only_the_calls_they_need(
    aws: Provisioned,
) -> None:
    recording_sends()
    dynamodb = CallRecorder(services().clients.dynamodb)
    watcher = Watcher(f"Bearer {token_for('acme', 'ann', ())}")
    connect = dynamodb.names()
    dynamodb.clear()
    watcher.send({"type": "subscribe", "id": "s", "query": {}})
    first_subscribe = dynamodb.names()
    dynamodb.clear()
    watcher.send({"type": "subscribe", "id": "t", "query": {}})
    second_subscribe = dynamodb.names()
    dynamodb.clear()
    watcher.send({"type": "unsubscribe", "id": "t"})
    unsubscribe = dynamodb.names()

    assert connect == ["PutItem"]
    # read the connection, decide its face (the first message only), list the
    # subscription on the connection (while it exists), store it
    assert first_subscribe == ["GetItem", "UpdateItem", "UpdateItem", "PutItem"]
    assert second_subscribe == ["GetItem", "UpdateItem", "PutItem"]
    assert unsubscribe == ["GetItem", "DeleteItem", "UpdateItem"]


def test_a_connection_that_closes_while_subscribing_leaves_no_subscription(
    aws: Provisioned,
) -> None:
    """Its record goes between the message's read and the subscription's
    write: the answer says so, and no subscription is stored for a
    connection nobody will ever remove (regression: it was stored, and the
    answer was an internal error)."""
    recording_sends()
    watcher = Watcher(f"Bearer {token_for('acme', 'ann', ())}")
    watcher.send({"type": "ping"})
    client = services().clients.dynamodb
    other = boto3.client("dynamodb", region_name="us-east-1")

    def close_first(params: dict[str, Any], **_: Any) -> None:
        if "subscriptions" in params.get("UpdateExpression", "") or \
                params.get("Item", {}).get("subscription_id"):
            other.delete_item(TableName=aws.watchers_table,
                              Key={"pk": {"S": f"conn#{watcher.id}"}, "sk": {"S": "conn"}})

    client.meta.events.register("provide-client-params.dynamodb.*", close_first)
    try:
        answers = watcher.send({"type": "subscribe", "id": "s", "query": {}})
    finally:
        client.meta.events.unregister("provide-client-params.dynamodb.*", close_first)

    stored = other.scan(TableName=aws.watchers_table)["Items"]
    assert [a["error"]["code"] for a in answers] == ["unauthorized"]
    assert stored == []
