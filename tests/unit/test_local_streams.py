"""local/streams.py: Lambda's DynamoDB event source mapping, against moto's
DynamoDB Streams, in-process."""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws

from chalicelib.aws import AwsClients
from local.provision import Provisioned, _create_table, _Substitution, load_template
from local.streams import MAX_BATCH, StreamPoller, deliver_pending, forget_pending
from tests.helpers import wait_until

TABLE = "streams-test"


def table_properties(stream: bool = True) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "TableName": TABLE,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"},
                                 {"AttributeName": "tenant_id", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        # provision passes the indexes on, and moto refuses an empty list.
        "GlobalSecondaryIndexes": [{
            "IndexName": "by_tenant", "KeySchema": [{"AttributeName": "tenant_id",
                                                     "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "KEYS_ONLY"}}],
        "TimeToLiveSpecification": {"AttributeName": "expires_at", "Enabled": True},
    }
    if stream:
        properties["StreamSpecification"] = {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    return properties


class Recorder:
    def __init__(self, fail_times: int = 0) -> None:
        self.batches: list[list[dict[str, Any]]] = []
        self.fail_times = fail_times
        self.calls = 0
        self._lock = threading.Lock()

    def __call__(self, event: dict[str, Any], context: Any) -> None:
        with self._lock:
            self.calls += 1
            if self.calls <= self.fail_times:
                raise RuntimeError("handler failed")
            self.batches.append(event["Records"])

    @property
    def records(self) -> list[dict[str, Any]]:
        return [record for batch in self.batches for record in batch]


@pytest.fixture
def clients() -> Iterator[AwsClients]:
    with mock_aws():
        yield AwsClients()


@pytest.fixture
def stream_arn(clients: AwsClients) -> str:
    names = _Substitution(stage="test", region="us-east-1", account="123456789012")
    name, arn = _create_table(clients.dynamodb, table_properties(), names)
    assert name == TABLE
    return arn


def put(clients: AwsClients, job_id: str, **attributes: Any) -> None:
    clients.dynamodb.put_item(TableName=TABLE, Item={"id": {"S": job_id}, **attributes})


def test_provision_turns_the_stream_on_when_the_template_declares_it(
        clients: AwsClients, stream_arn: str) -> None:
    table = clients.dynamodb.describe_table(TableName=TABLE)["Table"]

    assert stream_arn == table["LatestStreamArn"]
    assert table["StreamSpecification"] == {"StreamEnabled": True,
                                            "StreamViewType": "NEW_AND_OLD_IMAGES"}


def test_a_table_without_a_stream_has_no_stream_arn(clients: AwsClients) -> None:
    names = _Substitution(stage="test", region="us-east-1", account="123456789012")

    assert _create_table(clients.dynamodb, table_properties(stream=False), names) == (TABLE, "")


def test_writes_arrive_in_order_with_old_and_new_images(clients: AwsClients,
                                                        stream_arn: str) -> None:
    recorder = Recorder()
    poller = StreamPoller(clients, TABLE, recorder)
    poller.drain()  # positions taken (LATEST): nothing written yet
    put(clients, "a", state={"S": "WAITING"}, blob={"B": b"\x00\xff"})
    put(clients, "a", state={"S": "RUNNING"})
    clients.dynamodb.delete_item(TableName=TABLE, Key={"id": {"S": "a"}})

    assert poller.drain() == 3

    insert, modify, remove = recorder.records
    assert [r["eventName"] for r in recorder.records] == ["INSERT", "MODIFY", "REMOVE"]
    assert "OldImage" not in insert["dynamodb"]
    assert insert["dynamodb"]["NewImage"]["blob"] == {"B": base64.b64encode(b"\x00\xff").decode()}
    assert modify["dynamodb"]["OldImage"]["state"] == {"S": "WAITING"}
    assert modify["dynamodb"]["NewImage"]["state"] == {"S": "RUNNING"}
    assert remove["dynamodb"]["OldImage"]["state"] == {"S": "RUNNING"}
    assert "NewImage" not in remove["dynamodb"]


def test_records_are_shaped_as_lambdas_event(clients: AwsClients, stream_arn: str) -> None:
    recorder = Recorder()
    poller = StreamPoller(clients, TABLE, recorder)
    poller.drain()
    put(clients, "a")
    poller.drain()

    record = recorder.records[0]
    assert record["eventSourceARN"] == stream_arn
    assert record["eventSource"] == "aws:dynamodb"
    assert record["awsRegion"] == "us-east-1"
    assert set(record) == {"eventID", "eventName", "eventVersion", "eventSource", "awsRegion",
                           "dynamodb", "eventSourceARN"}
    change = record["dynamodb"]
    assert isinstance(change["ApproximateCreationDateTime"], int)
    assert isinstance(change["SizeBytes"], int) and change["SizeBytes"] > 0
    assert change["Keys"] == {"id": {"S": "a"}}
    assert change["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert change["SequenceNumber"]


def test_batches_hold_at_most_100_and_keep_the_order(clients: AwsClients,
                                                      stream_arn: str) -> None:
    recorder = Recorder()
    poller = StreamPoller(clients, TABLE, recorder, from_start=True)
    for n in range(250):
        put(clients, f"job-{n:03}")

    assert poller.drain() == 250

    assert max(len(batch) for batch in recorder.batches) == MAX_BATCH
    assert [r["dynamodb"]["Keys"]["id"]["S"] for r in recorder.records] == [
        f"job-{n:03}" for n in range(250)]


def test_latest_skips_what_was_written_before_and_trim_horizon_does_not(
        clients: AwsClients, stream_arn: str) -> None:
    put(clients, "before")
    latest, horizon = Recorder(), Recorder()
    latest_poller = StreamPoller(clients, TABLE, latest)
    horizon_poller = StreamPoller(clients, TABLE, horizon, from_start=True)
    latest_poller.drain()
    horizon_poller.drain()
    put(clients, "after")
    latest_poller.drain()
    horizon_poller.drain()

    assert [r["dynamodb"]["Keys"]["id"]["S"] for r in latest.records] == ["after"]
    assert [r["dynamodb"]["Keys"]["id"]["S"] for r in horizon.records] == ["before", "after"]


def test_drain_delivers_each_record_exactly_once(clients: AwsClients, stream_arn: str) -> None:
    recorder = Recorder()
    poller = StreamPoller(clients, TABLE, recorder, from_start=True)
    put(clients, "a")
    poller.drain()
    put(clients, "b")
    poller.drain()
    poller.drain()

    assert [r["dynamodb"]["Keys"]["id"]["S"] for r in recorder.records] == ["a", "b"]
    assert len({r["eventID"] for r in recorder.records}) == 2


def test_a_failed_batch_is_delivered_again_not_skipped(clients: AwsClients,
                                                        stream_arn: str) -> None:
    recorder = Recorder(fail_times=1)
    poller = StreamPoller(clients, TABLE, recorder, from_start=True)
    put(clients, "a")

    with pytest.raises(RuntimeError):
        poller.drain()
    poller.drain()

    assert [r["dynamodb"]["Keys"]["id"]["S"] for r in recorder.records] == ["a"]


def test_the_thread_delivers_in_the_background_and_survives_failures(
        clients: AwsClients, stream_arn: str) -> None:
    recorder = Recorder(fail_times=2)
    poller = StreamPoller(clients, TABLE, recorder, every=0.01)
    poller.start()
    try:
        put(clients, "a")
        put(clients, "b")
        wait_until(lambda: recorder.records, lambda records: len(records) == 2, timeout=10)
    finally:
        poller.stop()

    assert [r["dynamodb"]["Keys"]["id"]["S"] for r in recorder.records] == ["a", "b"]
    assert recorder.calls >= 3  # two failures, then the same batch again


def test_deliver_pending_hands_over_each_record_once(clients: AwsClients,
                                                     stream_arn: str) -> None:
    provisioned = Provisioned(TABLE, "bucket", "arn:sm", "arn:express", "worker",
                              jobs_stream_arn=stream_arn)
    recorder = Recorder()
    try:
        put(clients, "a")
        assert deliver_pending(provisioned, recorder) == 1
        put(clients, "b")
        assert deliver_pending(provisioned, recorder) == 1
        assert deliver_pending(provisioned, recorder) == 0
    finally:
        forget_pending()

    assert [r["dynamodb"]["Keys"]["id"]["S"] for r in recorder.records] == ["a", "b"]


def test_the_jobs_table_has_its_stream_when_the_template_declares_one() -> None:
    jobs = load_template()["Resources"]["JobsTable"]["Properties"]
    if "StreamSpecification" not in jobs:
        pytest.skip("infra/template.yaml declares no stream on JobsTable yet")

    assert jobs["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
