"""Following one job over the events WebSocket (`/events`): a subscription
to that job with a snapshot, then its events, each newer revision handed on.
Used by both clients' `wait`; any failure to connect or subscribe falls back
to long polling (EventsUnavailable)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

SUBSCRIPTION = "wait"
SILENCE_SECONDS = 30.0  # no message for this long: read the job once by HTTP


class EventsUnavailable(Exception):
    """The events WebSocket cannot follow this job: long-poll instead."""


def events_url(api_url: str) -> str:
    """`/events` on the API's own host (make run; CloudFront in front of both
    APIs, infra/edge.yaml), ws:// or wss:// as the API is http:// or https://."""
    parts = urlsplit(api_url)
    scheme = "wss" if parts.scheme == "https" else "ws"
    return urlunsplit((scheme, parts.netloc, parts.path.rstrip("/") + "/events", "", ""))


def subscribe_message(job_id: str) -> str:
    return json.dumps({"type": "subscribe", "id": SUBSCRIPTION, "snapshot": True,
                       "query": {"filters": [["id", "=", job_id]], "transient": True}})


@dataclass
class Follower:
    """What the messages say about the job so far: the newest record seen."""

    job_id: str
    job: dict[str, Any] | None = None
    subscribed: bool = False

    def take(self, text: str | bytes) -> dict[str, Any] | None:
        """The job if this message moved it (a newer revision), else None."""
        message = json.loads(text)
        kind = message.get("type")
        if kind == "error":
            raise EventsUnavailable(str(message.get("error")))
        if kind == "subscribed":
            self.subscribed = True
        records = message.get("records") if kind == "snapshot" else \
            [message.get("job")] if kind == "event" and message.get("job_id") == self.job_id \
            else []
        newest = None
        for record in records or []:
            if record and record.get("id") == self.job_id and self.newer(record):
                self.job = newest = record
        if kind == "event" and message.get("event") == "removed":
            raise EventsUnavailable(f"job {self.job_id} was removed")
        return newest

    def newer(self, record: dict[str, Any]) -> bool:
        return self.job is None or record.get("revision", 0) > self.job.get("revision", 0)
