"""Lambda's DynamoDB event source mapping, locally.

On AWS, Lambda reads the jobs table's stream (DynamoDB Streams) shard by
shard and calls the event function (app.job_events) with batches of records,
in order, one batch at a time per shard, retrying a failed batch until it
succeeds. `StreamPoller` does the same against moto: `make run` runs one in a
daemon thread (local/server.py); the in-process tests, which need nothing in
the background, call `deliver_pending` after they write.

The records handed over are shaped as Lambda's event has them, not as
GetRecords answers through boto3: eventSourceARN added, the creation time in
epoch seconds, binary attribute values base64 text.
"""

from __future__ import annotations

import base64
import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

import boto3
from botocore.config import Config

from chalicelib.aws import RETRY_CONFIG

logger = logging.getLogger("jobapi.local")

Handler = Callable[[dict[str, Any], Any], Any]
# Lambda's largest batch for a DynamoDB stream is 10,000; the app declares 100.
MAX_BATCH = 100
# A failed batch is retried after this long (Lambda backs off too).
RETRY_PAUSE = 0.5
# boto3 would send DynamoDB Streams calls to an account-based endpoint that
# moto does not recognise (answering "Not yet implemented").
STREAMS_CONFIG = RETRY_CONFIG.merge(Config(account_id_endpoint_mode="disabled"))


class StreamPoller:
    """Reads a table's stream and hands each batch to `handler`, like Lambda.

    `clients` is an AwsClients (chalicelib.aws). Shards are read parents
    first, each from LATEST at the first look (TRIM_HORIZON if
    `from_start`); a shard that appears later is read from its start, as
    Lambda does with a split's children."""

    def __init__(self, clients: Any, table_name: str, handler: Handler,
                 batch_size: int = MAX_BATCH, every: float = 0.05,
                 from_start: bool = False) -> None:
        if not 1 <= batch_size <= MAX_BATCH:
            raise ValueError(f"batch_size must be 1..{MAX_BATCH}")
        self.table_name = table_name
        self.handler = handler
        self.batch_size = batch_size
        self.every = every
        self._clients = clients
        self._first_position = "TRIM_HORIZON" if from_start else "LATEST"
        self._stream_arn = ""
        self._streams: Any = None
        # shard id -> its next iterator; None once a closed shard is read to its end.
        self._iterators: dict[str, str | None] = {}
        # One delivery at a time, whoever asks (the thread or drain()).
        self._delivering = threading.Lock()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def stream_arn(self) -> str:
        if not self._stream_arn:
            table = self._clients.dynamodb.describe_table(TableName=self.table_name)["Table"]
            if "LatestStreamArn" not in table:
                raise ValueError(f"table {self.table_name} has no stream")
            self._stream_arn = str(table["LatestStreamArn"])
        return self._stream_arn

    def start(self) -> threading.Thread:
        """Deliver in a daemon thread from now on (positions taken now)."""
        with self._delivering:
            self._discover_shards()
        self._thread = threading.Thread(target=self._run, name="stream-poller", daemon=True)
        self._thread.start()
        return self._thread

    def stop(self) -> None:
        self._stopped.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def drain(self) -> int:
        """Deliver every record available now, synchronously; returns how many.
        A failing handler's exception propagates, and its batch is delivered
        again by the next drain (nothing is skipped)."""
        delivered = 0
        with self._delivering:
            self._discover_shards()
            while True:
                count = self._deliver_one_round()
                if count == 0:
                    return delivered
                delivered += count

    def _run(self) -> None:
        while not self._stopped.is_set():
            try:
                with self._delivering:
                    self._discover_shards()
                    count = self._deliver_one_round()
            except Exception:  # Lambda retries the same batch; so do we
                logger.exception("stream batch of %s failed; retrying", self.table_name)
                self._stopped.wait(RETRY_PAUSE)
                continue
            if count == 0:
                self._stopped.wait(self.every)

    def _client(self) -> Any:
        if self._streams is None:
            # Its own session: boto3 sessions are not thread-safe to share
            # while clients are made, and this one is made in the poller's thread.
            self._streams = boto3.session.Session().client("dynamodbstreams",
                                                           config=STREAMS_CONFIG)
        return self._streams

    def _discover_shards(self) -> None:
        """Note shards not seen before: the first look's from the position
        asked, later ones (a split's children) from their start."""
        known_before = bool(self._iterators)
        for shard in self._shards_parents_first():
            shard_id = shard["ShardId"]
            if shard_id in self._iterators:
                continue
            position = "TRIM_HORIZON" if known_before else self._first_position
            self._iterators[shard_id] = self._client().get_shard_iterator(
                StreamArn=self.stream_arn, ShardId=shard_id,
                ShardIteratorType=position)["ShardIterator"]

    def _shards_parents_first(self) -> list[dict[str, Any]]:
        shards: list[dict[str, Any]] = []
        start: str | None = None
        while True:
            page = self._client().describe_stream(
                StreamArn=self.stream_arn,
                **({"ExclusiveStartShardId": start} if start else {}))["StreamDescription"]
            shards.extend(page["Shards"])
            start = page.get("LastEvaluatedShardId")
            if not start:
                break
        ids = {shard["ShardId"] for shard in shards}
        ordered: list[dict[str, Any]] = []
        placed: set[str] = set()

        def place(shard: dict[str, Any]) -> None:
            if shard["ShardId"] in placed:
                return
            parent = shard.get("ParentShardId")
            if parent in ids and parent not in placed:
                place(next(s for s in shards if s["ShardId"] == parent))
            placed.add(shard["ShardId"])
            ordered.append(shard)

        for shard in shards:
            place(shard)
        return ordered

    def _deliver_one_round(self) -> int:
        """One batch from each open shard, in shard order; a shard whose
        batch fails stops the round (its iterator stays, so it is retried)."""
        delivered = 0
        for shard_id, iterator in list(self._iterators.items()):
            if iterator is None:
                continue
            answer = self._client().get_records(ShardIterator=iterator, Limit=self.batch_size)
            records = [lambda_record(r, self.stream_arn) for r in answer["Records"]]
            if records:
                self.handler({"Records": records}, None)
                delivered += len(records)
            # Only once the handler took the batch: a failure leaves the
            # iterator where it was, so the same batch comes again.
            self._iterators[shard_id] = answer.get("NextShardIterator")
        return delivered


def lambda_record(record: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    """A GetRecords record (as boto3 parsed it) as Lambda's event carries it."""
    change = dict(record["dynamodb"])
    created = change.get("ApproximateCreationDateTime")
    # Lambda's events give epoch seconds; boto3 parsed them into a datetime.
    if isinstance(created, datetime):
        change["ApproximateCreationDateTime"] = int(created.timestamp())
    change.setdefault("SizeBytes", 0)
    for image in ("Keys", "NewImage", "OldImage"):
        if image in change:
            change[image] = _json_attributes(change[image])
    return {
        "eventID": record["eventID"],
        "eventName": record["eventName"],
        "eventVersion": record.get("eventVersion", "1.1"),
        "eventSource": record.get("eventSource", "aws:dynamodb"),
        "awsRegion": record.get("awsRegion", stream_arn.split(":")[3]),
        "dynamodb": change,
        "eventSourceARN": stream_arn,
    }


def _json_attributes(value: Any) -> Any:
    """Binary values as base64 text, as they travel in JSON (boto3 decoded them)."""
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, dict):
        return {key: _json_attributes(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json_attributes(item) for item in value]
    return value


# In-process tests: one poller per stream, so each record is delivered once
# however many times a test asks; emulated_aws() forgets them on exit.
_pending_pollers: dict[str, StreamPoller] = {}
_pending_lock = threading.Lock()


def deliver_pending(provisioned: Any, handler: Handler) -> int:
    """Hand every jobs-table stream record not yet delivered to `handler`
    (app.job_events), synchronously; returns how many. For in-process
    tests, which run nothing in the background."""
    from chalicelib.aws import AwsClients

    if not provisioned.jobs_stream_arn:
        raise ValueError("the jobs table has no stream (StreamSpecification in the template)")
    with _pending_lock:
        poller = _pending_pollers.get(provisioned.jobs_stream_arn)
        if poller is None:
            poller = StreamPoller(AwsClients(), provisioned.table_name, handler,
                                  from_start=True)
            _pending_pollers[provisioned.jobs_stream_arn] = poller
        poller.handler = handler
    return poller.drain()


def forget_pending() -> None:
    with _pending_lock:
        _pending_pollers.clear()
