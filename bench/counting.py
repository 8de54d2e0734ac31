"""Counts the app's AWS calls exactly, with botocore event hooks.

The hooks go on the app's own clients (`services().clients.*.meta.events`),
never on the session or globally: moto's state-machine interpreter makes its
own boto3 calls (it invokes the worker Lambda), and those are not ours.

Each call is attributed to a phase ("create", "claim", ...). The HTTP request
runs in the calling thread, while the worker runs in moto's interpreter
thread and coalesced progress may flush from a timer thread; so a phase is
a label per thread, with a default label for threads that have none.

For DynamoDB, the counter asks for `ReturnConsumedCapacity=TOTAL` (on the
app's client only, and only for operations that accept it) and can record
the item before and after every write, read through a client it does not
hook, so that `bench.dynamo_units` can price the write with its indexes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

READ_OPERATIONS = frozenset({"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"})
WRITE_OPERATIONS = frozenset({
    "PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems",
})
# Writes on one item whose before/after images we can read by key.
SINGLE_ITEM_WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem"})
UNLABELLED = "unlabelled"


@dataclass
class Call:
    service: str  # the client's name: "dynamodb", "stepfunctions", "s3"
    operation: str  # "PutItem", "StartExecution", ...
    label: str
    thread: str
    started: float  # time.perf_counter() when the call began
    seconds: float
    status: int
    consumed_capacity: float | None = None  # as moto reports it (see calls.py)
    consistent_read: bool = False
    item: dict[str, Any] | None = None  # the item a GetItem returned
    items: list[dict[str, Any]] | None = None  # the items a BatchGetItem or Query returned
    before: dict[str, Any] | None = None  # the item before a write (None: absent)
    after: dict[str, Any] | None = None  # the item after a write (None: absent)

    @property
    def is_read(self) -> bool:
        return self.service == "dynamodb" and self.operation in READ_OPERATIONS

    @property
    def is_write(self) -> bool:
        return self.service == "dynamodb" and self.operation in WRITE_OPERATIONS


class CallCounter:
    """Attach to the app's clients, label phases, then read `calls(label)`."""

    def __init__(
        self,
        clients: Mapping[str, Any],
        images: Any | None = None,
        key_names: tuple[str, ...] = ("id",),
    ) -> None:
        self._clients = dict(clients)
        self._images = images  # an un-hooked DynamoDB client, or None for no images
        self._key_names = key_names
        self._lock = threading.Lock()
        self._calls: list[Call] = []
        self._thread_labels: dict[int, str] = {}
        self.default_label = UNLABELLED
        self._ids = (f"bench-before-{id(self)}", f"bench-after-{id(self)}")

    # -- attaching ---------------------------------------------------------

    def attach(self) -> None:
        for client in self._clients.values():
            events = client.meta.events
            # Bare prefixes match every operation of this client only.
            # botocore keeps one handler per unique_id per client, across events.
            events.register("provide-client-params", self._before, unique_id=self._ids[0])
            events.register("after-call", self._after, unique_id=self._ids[1])

    def detach(self) -> None:
        for client in self._clients.values():
            events = client.meta.events
            events.unregister("provide-client-params", unique_id=self._ids[0])
            events.unregister("after-call", unique_id=self._ids[1])

    @contextmanager
    def attached(self) -> Iterator[CallCounter]:
        self.attach()
        try:
            yield self
        finally:
            self.detach()

    # -- labelling ---------------------------------------------------------

    @contextmanager
    def phase(self, label: str) -> Iterator[None]:
        """Label the calls the current thread makes inside the block."""
        ident = threading.get_ident()
        self.label_thread(ident, label)
        try:
            yield
        finally:
            self.unlabel_thread(ident)

    def label_thread(self, ident: int, label: str) -> None:
        with self._lock:
            self._thread_labels[ident] = label

    def unlabel_thread(self, ident: int) -> None:
        with self._lock:
            self._thread_labels.pop(ident, None)

    def current_label(self) -> str:
        """The label of the calls the current thread makes now."""
        with self._lock:
            return self._thread_labels.get(threading.get_ident(), self.default_label)

    # -- reading -----------------------------------------------------------

    def calls(self, label: str | None = None) -> list[Call]:
        with self._lock:
            return [call for call in self._calls if label is None or call.label == label]

    def clear(self) -> None:
        with self._lock:
            self._calls.clear()

    # -- the hooks ---------------------------------------------------------

    def _before(self, params: dict[str, Any], model: Any, context: dict[str, Any],
                **_: Any) -> None:
        service = model.service_model.endpoint_prefix
        note: dict[str, Any] = {"label": self.current_label(), "start": time.perf_counter()}
        if service == "dynamodb":
            if "ReturnConsumedCapacity" in model.input_shape.members:
                params.setdefault("ReturnConsumedCapacity", "TOTAL")
            note["consistent_read"] = consistent_read(model.name, params)
            if self._images is not None and model.name in SINGLE_ITEM_WRITES:
                note["table"], note["key"] = params["TableName"], self._key_of(params)
                note["before"] = self._read_image(note["table"], note["key"])
        context["bench"] = note
        # Returning None keeps botocore's (now modified) params.

    def _after(self, http_response: Any, parsed: dict[str, Any], model: Any,
               context: dict[str, Any], **_: Any) -> None:
        note = context.get("bench")
        if note is None:  # a call that started before we attached
            return
        call = Call(
            service=_client_name(model.service_model.endpoint_prefix),
            operation=model.name,
            label=note["label"],
            thread=threading.current_thread().name,
            started=note["start"],
            seconds=time.perf_counter() - note["start"],
            status=int(getattr(http_response, "status_code", 0) or 0),
            consumed_capacity=_capacity(parsed.get("ConsumedCapacity")),
            consistent_read=note.get("consistent_read", False),
            item=parsed.get("Item") if model.name == "GetItem" else None,
            items=returned_items(model.name, parsed),
        )
        if "key" in note:
            call.before = note["before"]
            call.after = self._read_image(note["table"], note["key"])
        with self._lock:
            self._calls.append(call)

    def _key_of(self, params: dict[str, Any]) -> dict[str, Any]:
        source = params.get("Key") or params.get("Item") or {}
        return {name: source[name] for name in self._key_names if name in source}

    def _read_image(self, table: str, key: dict[str, Any]) -> dict[str, Any] | None:
        assert self._images is not None
        answer = self._images.get_item(TableName=table, Key=key, ConsistentRead=True)
        item: dict[str, Any] | None = answer.get("Item")
        return item


Images = list[tuple[dict[str, Any] | None, dict[str, Any] | None]]  # (before, after) per item
MULTI_ITEM_WRITES = ("TransactWriteItems", "BatchWriteItem")


class MultiItemImages:
    """Records each TransactWriteItems and BatchWriteItem of a client with
    every item it writes, before and after (read through a client nobody
    counts), as the CallCounter does for single-item writes; each with the
    label `label_of()` gives the calling thread."""

    def __init__(self, client: Any, images: Any, key_names: tuple[str, ...],
                 label_of: Callable[[], str] = lambda: UNLABELLED) -> None:
        self._client, self._images, self._keys = client, images, key_names
        self._label_of = label_of
        self._lock = threading.Lock()
        self.records: list[tuple[str, str, Images]] = []  # (operation, label, images)
        self._ids = (f"bench-multi-before-{id(self)}", f"bench-multi-after-{id(self)}")

    @property
    def transactions(self) -> list[Images]:
        return [images for operation, _, images in self.records
                if operation == "TransactWriteItems"]

    @contextmanager
    def attached(self) -> Iterator[MultiItemImages]:
        events = self._client.meta.events
        for operation in MULTI_ITEM_WRITES:
            events.register(f"provide-client-params.dynamodb.{operation}", self._before,
                            unique_id=f"{self._ids[0]}-{operation}")
            events.register(f"after-call.dynamodb.{operation}", self._after,
                            unique_id=f"{self._ids[1]}-{operation}")
        try:
            yield self
        finally:
            for operation in MULTI_ITEM_WRITES:
                events.unregister(f"provide-client-params.dynamodb.{operation}",
                                  unique_id=f"{self._ids[0]}-{operation}")
                events.unregister(f"after-call.dynamodb.{operation}",
                                  unique_id=f"{self._ids[1]}-{operation}")

    def clear(self) -> None:
        with self._lock:
            self.records.clear()

    def _targets(self, params: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        if "TransactItems" in params:
            requests = [(request["TableName"], request) for entry in params["TransactItems"]
                        for request in entry.values()]
        else:  # BatchWriteItem: {table: [{"PutRequest": {"Item"}} | {"DeleteRequest": {"Key"}}]}
            requests = [(table, request) for table, entries in params["RequestItems"].items()
                        for entry in entries for request in entry.values()]
        return [(table, {k: (request.get("Key") or request.get("Item") or {})[k]
                         for k in self._keys}) for table, request in requests]

    def _read(self, table: str, key: dict[str, Any]) -> dict[str, Any] | None:
        item: dict[str, Any] | None = self._images.get_item(
            TableName=table, Key=key, ConsistentRead=True).get("Item")
        return item

    def _before(self, params: dict[str, Any], model: Any, context: dict[str, Any],
                **_: Any) -> None:
        targets = self._targets(params)
        context["bench_multi"] = (model.name, self._label_of(), targets,
                                  [self._read(t, k) for t, k in targets])

    def _after(self, http_response: Any, parsed: dict[str, Any], context: dict[str, Any],
               **_: Any) -> None:
        noted = context.get("bench_multi")
        if noted is None or int(getattr(http_response, "status_code", 0) or 0) >= 400:
            return
        if parsed.get("UnprocessedItems"):  # the retry is a call of its own
            raise RuntimeError("a BatchWriteItem left items unprocessed: not priced")
        operation, label, targets, before = noted
        after = [self._read(t, k) for t, k in targets]
        with self._lock:
            self.records.append((operation, label, list(zip(before, after, strict=True))))


def consistent_read(operation: str, params: dict[str, Any]) -> bool:
    """Whether a read is strongly consistent (a BatchGetItem says so per table)."""
    if operation == "BatchGetItem":
        return any(bool(keys.get("ConsistentRead"))
                   for keys in params.get("RequestItems", {}).values())
    return bool(params.get("ConsistentRead"))


def returned_items(operation: str, parsed: dict[str, Any]) -> list[dict[str, Any]] | None:
    if operation == "BatchGetItem":
        return [item for items in parsed.get("Responses", {}).values() for item in items]
    if operation == "Query":
        items: list[dict[str, Any]] = parsed.get("Items", [])
        return items
    return None


def _client_name(endpoint_prefix: str) -> str:
    # Step Functions' endpoint prefix is "states"; the app calls its client "stepfunctions".
    return {"states": "stepfunctions"}.get(endpoint_prefix, endpoint_prefix)


def _capacity(consumed: Any) -> float | None:
    """ConsumedCapacity is a dict for single-table calls and a list for batches."""
    if consumed is None:
        return None
    entries = consumed if isinstance(consumed, list) else [consumed]
    return float(sum(entry.get("CapacityUnits", 0.0) for entry in entries))


def summarize(calls: list[Call]) -> dict[str, Any]:
    """Counts per service for one phase."""
    dynamodb = [call for call in calls if call.service == "dynamodb"]
    capacities = [call.consumed_capacity for call in dynamodb]
    return {
        "dynamodb_reads": sum(call.is_read for call in calls),
        "dynamodb_writes": sum(call.is_write for call in calls),
        "dynamodb_queries": sum(call.operation == "Query" for call in dynamodb),
        "dynamodb_scans": sum(call.operation == "Scan" for call in dynamodb),
        "dynamodb_operations": [call.operation for call in dynamodb],
        "moto_consumed_capacity": (
            sum(c for c in capacities if c is not None)
            if any(c is not None for c in capacities) else None
        ),
        "stepfunctions_calls": sum(call.service == "stepfunctions" for call in calls),
        "stepfunctions_operations": [
            call.operation for call in calls if call.service == "stepfunctions"
        ],
        "s3_calls": sum(call.service == "s3" for call in calls),
        "total_calls": len(calls),
    }
