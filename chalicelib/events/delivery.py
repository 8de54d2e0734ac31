"""A batch of jobs-table stream records -> events at the watchers who may
see each job.

Records are taken in stream order; each tenant's subscriptions are read
once per batch (one Query), each matching watcher gets the job as GET
/jobs/{id} would show it to them (redacted, in their scope), rendered by
its connection's face, one send per watcher and event. A connection whose
send finds it gone is forgotten with its subscriptions.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from chalicelib.events.changes import JobEvent, event_of
from chalicelib.events.sender import ConnectionSender
from chalicelib.events.watchers import Subscription, WatcherTable
from chalicelib.query.filters import AllOf, parse_filters
from chalicelib.views import Viewer, job_view

log = logging.getLogger("jobapi.events")


@dataclass(frozen=True)
class Delivery:
    """One event for one subscription: what a face renders."""

    event: JobEvent
    subscription: Subscription
    view: dict[str, Any]  # the job as this watcher may see it


Renderer = Callable[[Delivery], str]


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
        subscriptions: dict[str, list[Subscription]] = {}
        for event in events:  # in stream order: a job's events stay in revision order
            tenant = event.job.tenant_id
            if tenant not in subscriptions:
                subscriptions[tenant] = self._table.subscriptions_of(tenant)
                report.subscription_reads += 1
            for subscription in subscriptions[tenant]:
                if subscription.connection_id in report.gone:
                    continue
                delivery = _delivery(event, subscription)
                if delivery is not None:
                    self._send(delivery, renderers, report)
        for connection_id in report.gone:
            self.forget(connection_id)
        return report

    def forget(self, connection_id: str) -> None:
        connection = self._table.connection(connection_id)
        if connection is not None:
            self._table.forget(connection)

    def _send(self, delivery: Delivery, renderers: Mapping[str, Renderer],
              report: Report) -> None:
        render = renderers.get(delivery.subscription.face)
        if render is None:
            log.error("no renderer for face %r", delivery.subscription.face)
            return
        connection_id = delivery.subscription.connection_id
        if self._sender.send(connection_id, render(delivery)):
            report.sent += 1
        else:
            report.gone.add(connection_id)


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
    import json

    text = json.dumps(subscription.filters, sort_keys=True)
    if text not in _parsed:
        if len(_parsed) > 10_000:
            _parsed.clear()
        _parsed[text] = parse_filters(subscription.filters)
    return _parsed[text]
