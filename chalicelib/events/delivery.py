"""A batch of jobs-table stream records -> events at the watchers who may
see each job.

Records are taken in stream order; each tenant's subscriptions are read
once per batch (one Query), each matching watcher gets the job as GET
/jobs/{id} would show it to them (redacted, in their scope), rendered by
its connection's face, one send per watcher and event. A connection whose
send finds it gone is forgotten with its subscriptions.

Sends go out on SEND_THREADS threads, one connection per thread at a time:
each connection gets its messages in stream order (so one job's events in
revision order), while a hundred watchers do not wait on each other (one
send is a round trip to API Gateway: sequential, a batch of 100 events to
100 watchers would take most of a minute).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from chalicelib.events.changes import JobEvent, event_of
from chalicelib.events.sender import ConnectionSender
from chalicelib.events.watchers import Subscription, WatcherTable
from chalicelib.query.filters import AllOf, parse_filters
from chalicelib.views import Viewer, job_view

log = logging.getLogger("jobapi.events")
SEND_THREADS = 16


@dataclass(frozen=True)
class Delivery:
    """One event for one subscription: what a face renders."""

    event: JobEvent
    subscription: Subscription
    view: dict[str, Any]  # the job as this watcher may see it


# A face's rendering of one delivery; None sends nothing (a `once`
# subscription waits for the job's end).
Renderer = Callable[[Delivery], str | None]


@dataclass
class Report:
    records: int = 0
    events: int = 0
    sent: int = 0
    gone: set[str] = field(default_factory=set)
    subscription_reads: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"records": self.records, "events": self.events, "sent": self.sent,
                "gone": len(self.gone), "subscription_reads": self.subscription_reads}


class EventDelivery:
    def __init__(self, table: WatcherTable, sender: ConnectionSender) -> None:
        self._table = table
        self._sender = sender

    def deliver(self, records: Iterable[dict[str, Any]],
                renderers: Mapping[str, Renderer]) -> Report:
        report = Report()
        events = []
        for record in records:
            report.records += 1
            event = event_of(record)
            if event is not None:
                events.append(event)
        report.events = len(events)
        outbox = self._outbox(events, renderers, report)
        with ThreadPoolExecutor(max_workers=min(SEND_THREADS, max(1, len(outbox)))) as pool:
            results = list(pool.map(self._send_in_order, outbox.items()))
        for connection_id, sent, gone in results:
            report.sent += sent
            if gone:
                report.gone.add(connection_id)
        for connection_id in report.gone:
            self.forget(connection_id)
        return report

    def _outbox(self, events: list[JobEvent], renderers: Mapping[str, Renderer],
                report: Report) -> dict[str, list[str]]:
        """Each connection's messages, in stream order (a job's events stay in
        revision order)."""
        subscriptions: dict[str, list[Subscription]] = {}
        outbox: dict[str, list[str]] = {}
        for event in events:
            tenant = event.job.tenant_id
            if tenant not in subscriptions:
                subscriptions[tenant] = self._table.subscriptions_of(tenant)
                report.subscription_reads += 1
            for subscription in list(subscriptions[tenant]):
                text = self._rendered(event, subscription, renderers)
                if text is None:
                    continue
                if subscription.once:  # sent by whoever ends it, and never again
                    subscriptions[tenant].remove(subscription)
                    if not self._table.delete_subscription(subscription.key,
                                                           subscription.connection_id):
                        continue
                outbox.setdefault(subscription.connection_id, []).append(text)
        return outbox

    @staticmethod
    def _rendered(event: JobEvent, subscription: Subscription,
                  renderers: Mapping[str, Renderer]) -> str | None:
        delivery = _delivery(event, subscription)
        if delivery is None:
            return None
        render = renderers.get(subscription.face)
        if render is None:
            log.error("no renderer for face %r", subscription.face)
            return None
        return render(delivery)

    def _send_in_order(self, messages: tuple[str, list[str]]) -> tuple[str, int, bool]:
        """(connection, messages sent, whether it is gone): the first failed
        send ends that connection's messages."""
        connection_id, texts = messages
        for sent, text in enumerate(texts):
            if not self._sender.send(connection_id, text):
                return connection_id, sent, True
        return connection_id, len(texts), False

    def forget(self, connection_id: str) -> None:
        connection = self._table.connection(connection_id)
        if connection is not None:
            self._table.forget(connection)


def _delivery(event: JobEvent, subscription: Subscription) -> Delivery | None:
    job, caller = event.job, subscription.caller
    if not caller.may_see(job) or (job.transient and not subscription.include_transient):
        return None
    view = job_view(job, Viewer(caller))
    if not _where(subscription).matches(view):
        return None
    return Delivery(event, subscription, view)


_parsed: dict[str, AllOf] = {}


def _where(subscription: Subscription) -> AllOf:
    """The subscription's filters, parsed once per process (they were
    checked when it was made)."""
    text = json.dumps(subscription.filters, sort_keys=True)
    if text not in _parsed:
        if len(_parsed) > 10_000:
            _parsed.clear()
        _parsed[text] = parse_filters(subscription.filters)
    return _parsed[text]
