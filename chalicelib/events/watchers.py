"""The watchers table (infra/template.yaml, WatchersTable): connections and
their subscriptions, all with a TTL (API Gateway closes a WebSocket after two
hours at most).

    pk conn#<connection id>, sk conn         the connection: its face, the
                                             caller it authenticated as (none
                                             yet: it may send its credential in
                                             its first message), the keys of
                                             its subscriptions, its face's
                                             session options (JSON)
    pk tenant#<tenant>, sk <conn>#<sub id>   a subscription: the query-filter,
                                             the watcher's scope, its face

A tenant's subscriptions share one partition, so delivering a batch of
events reads each tenant's subscriptions once (one Query), whatever the
number of jobs.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from chalicelib.aws_errors import Boundary, error_code, translated
from chalicelib.caller import Caller, Role

WATCHERS = Boundary("the watchers store is busy ({code}); retry shortly")
CONNECTION_SECONDS = 2 * 3600 + 600  # API Gateway's 2 h, and a margin
BATCH = 25


@dataclass(frozen=True)
class Connection:
    connection_id: str
    face: str
    caller: Caller | None
    subscription_keys: tuple[tuple[str, str], ...] = ()
    options: Mapping[str, Any] = field(default_factory=dict)  # the face's, for this session


@dataclass(frozen=True)
class Subscription:
    connection_id: str
    subscription_id: str
    face: str
    caller: Caller
    tenant_id: str  # the tenant whose jobs it watches
    filters: list[Any]  # GET /jobs query-filters, shorthands folded in
    include_transient: bool = False
    # Ends with the first message its face renders for it (the answer to a
    # call that waits for a job's end): delivered once, however many try.
    once: bool = False

    @property
    def key(self) -> tuple[str, str]:
        return f"tenant#{self.tenant_id}", f"{self.connection_id}#{self.subscription_id}"


class ConnectionGone(Exception):
    """The connection's record is gone (it closed, or its TTL ran out)."""


class WatcherTable:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def put_connection(self, connection: Connection, now: float) -> None:
        item: dict[str, Any] = {**_connection_key(connection.connection_id),
                                "face": {"S": connection.face},
                                "expires_at": {"N": str(int(now) + CONNECTION_SECONDS)}}
        if connection.caller is not None:
            item.update(_caller_attributes(connection.caller))
        if connection.options:
            item["options"] = {"S": json.dumps(dict(connection.options), separators=(",", ":"))}
        with translated(WATCHERS):
            self._client.put_item(TableName=self._table, Item=item)

    def update_connection(self, connection_id: str, face: str, options: Mapping[str, Any],
                          face_was: str) -> bool:
        """Sets a connection's face and options, unless its face is no longer
        `face_was`; False then (or when the connection is gone). Its caller and
        subscriptions stay as they are."""
        with translated(WATCHERS, fine=("ConditionalCheckFailedException",)):
            # The condition: two first messages of one connection, handled at
            # once, decide its face once (the loser reads the winner's).
            self._client.update_item(
                TableName=self._table,
                Key=_connection_key(connection_id),
                UpdateExpression="SET face = :face, options = :options",
                ConditionExpression="attribute_exists(pk) AND face = :was",
                ExpressionAttributeValues={
                    ":face": {"S": face}, ":was": {"S": face_was},
                    ":options": {"S": json.dumps(dict(options), separators=(",", ":"))}})
            return True
        return False

    def connection(self, connection_id: str) -> Connection | None:
        with translated(WATCHERS):
            item = self._client.get_item(
                TableName=self._table, ConsistentRead=True,
                Key=_connection_key(connection_id)).get("Item")
        if not item:
            return None
        keys = tuple(tuple(json.loads(k)) for k in item.get("subscriptions", {}).get("SS", []))
        return Connection(connection_id, item["face"]["S"],
                          _caller(item) if "tenant_id" in item else None,
                          keys, json.loads(item.get("options", {}).get("S", "{}")))

    def put_subscription(self, subscription: Subscription, now: float) -> None:
        pk, sk = subscription.key
        item = {"pk": {"S": pk}, "sk": {"S": sk},
                "connection_id": {"S": subscription.connection_id},
                "subscription_id": {"S": subscription.subscription_id},
                "face": {"S": subscription.face},
                "filters": {"S": json.dumps(subscription.filters, separators=(",", ":"))},
                "include_transient": {"BOOL": subscription.include_transient},
                "once": {"BOOL": subscription.once},
                "expires_at": {"N": str(int(now) + CONNECTION_SECONDS)},
                **_caller_attributes(subscription.caller)}
        # Listed on its connection first (so that the connection's end removes
        # it), and only while the connection exists: a subscription is never
        # stored for a connection that is gone.
        self._list_on_connection("ADD", subscription.connection_id, subscription.key)
        with translated(WATCHERS):
            self._client.put_item(TableName=self._table, Item=item)

    def delete_subscription(self, subscription_key: tuple[str, str], connection_id: str) -> bool:
        """Removes a subscription; True for the one call that removed it (of
        any number at once: a `once` subscription's message is sent by it)."""
        pk, sk = subscription_key
        with translated(WATCHERS):
            answer = self._client.delete_item(TableName=self._table, ReturnValues="ALL_OLD",
                                              Key={"pk": {"S": pk}, "sk": {"S": sk}})
        with contextlib.suppress(ConnectionGone):  # its end removed the rest
            self._list_on_connection("DELETE", connection_id, subscription_key)
        return "Attributes" in answer

    def _list_on_connection(self, action: str, connection_id: str,
                            subscription_key: tuple[str, str]) -> None:
        """ADD or DELETE a subscription's key in its connection's list;
        ConnectionGone when the connection is not there."""
        with translated(WATCHERS, meaning=_gone):
            self._client.update_item(
                TableName=self._table, Key=_connection_key(connection_id),
                UpdateExpression=f"{action} subscriptions :key",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={":key": {"SS": [json.dumps(list(subscription_key))]}})

    def subscriptions_of(self, tenant_id: str) -> list[Subscription]:
        """Every live subscription to a tenant's jobs: one Query (paged past 1 MB)."""
        request: dict[str, Any] = {
            "TableName": self._table, "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": f"tenant#{tenant_id}"}}}
        found: list[Subscription] = []
        while True:
            with translated(WATCHERS):
                answer = self._client.query(**request)
            found += [_subscription(item, tenant_id) for item in answer.get("Items", [])]
            if "LastEvaluatedKey" not in answer:
                return found
            request["ExclusiveStartKey"] = answer["LastEvaluatedKey"]

    def forget(self, connection: Connection) -> None:
        """Removes a connection and every subscription it holds."""
        keys = [*connection.subscription_keys, (f"conn#{connection.connection_id}", "conn")]
        for start in range(0, len(keys), BATCH):
            pending = {self._table: [{"DeleteRequest": {"Key": {"pk": {"S": pk},
                                                                  "sk": {"S": sk}}}}
                                     for pk, sk in keys[start:start + BATCH]]}
            while pending:
                with translated(WATCHERS):
                    answer = self._client.batch_write_item(RequestItems=pending)
                pending = answer.get("UnprocessedItems") or {}


def _connection_key(connection_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"conn#{connection_id}"}, "sk": {"S": "conn"}}


def _gone(exc: Any) -> Exception | None:
    return ConnectionGone() if error_code(exc) == "ConditionalCheckFailedException" else None


def _caller_attributes(caller: Caller) -> dict[str, Any]:
    attributes: dict[str, Any] = {"tenant_id": {"S": caller.tenant_id},
                                  "roles": {"L": [{"S": r} for r in sorted(caller.roles)]},
                                  "via": {"S": caller.via}}
    if caller.user_id:
        attributes["user_id"] = {"S": caller.user_id}
    return attributes


def _caller(item: dict[str, Any]) -> Caller:
    return Caller(tenant_id=item["tenant_id"]["S"],
                  user_id=item.get("user_id", {}).get("S"),
                  roles=frozenset(Role(r["S"]) for r in item.get("roles", {}).get("L", [])
                                  if r["S"] in Role.__members__),
                  via=item.get("via", {}).get("S", "jwt"))


def _subscription(item: dict[str, Any], tenant_id: str) -> Subscription:
    return Subscription(connection_id=item["connection_id"]["S"],
                        subscription_id=item["subscription_id"]["S"],
                        face=item["face"]["S"], caller=_caller(item), tenant_id=tenant_id,
                        filters=json.loads(item["filters"]["S"]),
                        include_transient=item.get("include_transient", {}).get("BOOL", False),
                        once=item.get("once", {}).get("BOOL", False))
