"""What a watcher's socket does, for every face: connect (with or without a
credential yet), authenticate, subscribe with an optional snapshot,
unsubscribe, disconnect.

A snapshot is read after the subscription is stored, so no change falls
between the two: a job that changes meanwhile is in the snapshot, or its
event follows, or both (the revision tells the copies apart).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from chalicelib.caller import Caller
from chalicelib.clock import Clock
from chalicelib.errors import BadRequest, Forbidden
from chalicelib.events.watchers import Connection, ConnectionGone, Subscription, WatcherTable
from chalicelib.listing import ListQuery, Page, scoped

if TYPE_CHECKING:
    from chalicelib.listing import JobLister

MAX_SUBSCRIPTIONS = 20  # per connection


class NotAuthenticated(Exception):
    """The connection has not sent a credential yet."""


class Subscribing:
    def __init__(self, table: WatcherTable, lister: JobLister, clock: Clock) -> None:
        self._table = table
        self._lister = lister
        self._clock = clock

    def connect(self, connection_id: str, face: str, caller: Caller | None) -> None:
        self._table.put_connection(Connection(connection_id, face, caller), self._clock())

    def authenticate(self, connection: Connection, caller: Caller) -> Connection:
        if connection.caller is not None:
            raise BadRequest("this connection is authenticated already")
        authenticated = replace(connection, caller=caller)
        self._table.put_connection(authenticated, self._clock())
        return authenticated

    def set_face(self, connection: Connection, face: str,
                 options: Mapping[str, Any] | None = None) -> Connection | None:
        """The connection, now of `face` with these session options (its
        face's own: TrueNAS's `core.set_options`), unless another message
        changed its face first: then the connection as that one left it
        (None if it is gone)."""
        given = dict(connection.options if options is None else options)
        if self._table.update_connection(connection.connection_id, face, given,
                                         face_was=connection.face):
            return replace(connection, face=face, options=given)
        return self._table.connection(connection.connection_id)

    def connection(self, connection_id: str) -> Connection | None:
        return self._table.connection(connection_id)

    def subscribe(self, connection: Connection, subscription_id: str, query: ListQuery,
                  filters: list[object], once: bool = False) -> Subscription:
        """Stores the subscription: from now on, events for the jobs `query`
        matches reach the connection. `filters` is the query's filter list as
        the client wrote it (shorthands folded in), kept to match events.
        `once`: it ends with the first message its face renders for it."""
        caller = _authenticated(connection)
        if len(connection.subscription_keys) >= MAX_SUBSCRIPTIONS:
            raise BadRequest(f"a connection holds at most {MAX_SUBSCRIPTIONS} subscriptions")
        if _held(connection, subscription_id) is not None:
            raise BadRequest(f"subscription {subscription_id!r} exists on this connection")
        narrowed = scoped(query, caller)
        if narrowed is None:
            raise Forbidden("this subscription asks for jobs you may not see")
        subscription = Subscription(connection.connection_id, subscription_id, connection.face,
                                    caller, narrowed[1].tenant_id, filters,
                                    query.include_transient, once)
        try:
            self._table.put_subscription(subscription, self._clock())
        except ConnectionGone:  # closed (or expired) since this message was read
            raise NotAuthenticated() from None
        return subscription

    def snapshot(self, connection: Connection, query: ListQuery) -> Page:
        """The jobs the subscription matches now: one page of GET /jobs."""
        return self._lister.page(query, _authenticated(connection))

    def unsubscribe(self, connection: Connection, subscription_id: str) -> bool:
        key = _held(connection, subscription_id)
        if key is None:
            return False
        self._table.delete_subscription(key, connection.connection_id)
        return True

    def claim(self, subscription: Subscription) -> bool:
        """Ends a `once` subscription; True for the one caller that ended it,
        who alone sends its message (the event function and the call that
        found the job already ended may both try)."""
        return self._table.delete_subscription(subscription.key, subscription.connection_id)

    def disconnect(self, connection_id: str) -> None:
        connection = self._table.connection(connection_id)
        if connection is not None:
            self._table.forget(connection)


def _held(connection: Connection, subscription_id: str) -> tuple[str, str] | None:
    """The key of the connection's subscription of that id, if it holds one."""
    wanted = f"{connection.connection_id}#{subscription_id}"
    return next((key for key in connection.subscription_keys if key[1] == wanted), None)


def _authenticated(connection: Connection) -> Caller:
    if connection.caller is None:
        raise NotAuthenticated()
    return connection.caller
