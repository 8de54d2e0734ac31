"""How the TrueNAS face renders a job event for one subscription
(chalicelib.events.delivery calls `render`):

    core.subscribe's     {"jsonrpc": "2.0", "method": "collection_update",
                          "params": {"msg": "added" | "changed" | "removed",
                                     "collection": "core.get_jobs",
                                     "id": <job number>, "fields": <the record>}}
                         (a job's end is a `changed`; `removed` has no fields)
    a waiting answer     when the job ends (or is removed): the JSON-RPC answer
                         to the call that waits, with the job's result or its
                         error; nothing before (chalicelib.faces.truenas.job_methods)
"""

from __future__ import annotations

import errno
from typing import Any

from chalicelib.events.delivery import Delivery
from chalicelib.faces.truenas import job_shape, jsonrpc
from chalicelib.faces.truenas.job_methods import REPLY, job_failure
from chalicelib.faces.truenas.jsonrpc import CallError

COLLECTION = "core.get_jobs"


def render(delivery: Delivery) -> str | None:
    if delivery.subscription.subscription_id.startswith(REPLY):
        return answer(delivery)
    event, view = delivery.event, delivery.view
    params: dict[str, Any] = {"msg": event.kind, "collection": COLLECTION,
                              "id": view.get("number")}
    if event.kind != "removed":
        params["fields"] = job_shape.record(view)
    return jsonrpc.text({"jsonrpc": "2.0", "method": "collection_update", "params": params})


def answer(delivery: Delivery) -> str | None:
    event, view = delivery.event, delivery.view
    request_id = request_id_of(delivery.subscription.subscription_id)
    if event.kind == "removed":
        failure = CallError("the job was removed before it ended", errno.ENOENT)
        return jsonrpc.text(jsonrpc.call_error(request_id, failure))
    if not event.job.state.is_terminal:
        return None
    if view["state"] == "SUCCESS":
        return jsonrpc.text(jsonrpc.result(request_id, view["result"]))
    return jsonrpc.text(jsonrpc.call_error(request_id, job_failure(view)))


def request_id_of(subscription_id: str) -> Any:
    """The JSON-RPC id of the waiting call, from its subscription's id."""
    return job_shape.client_id(subscription_id.removeprefix(REPLY))
