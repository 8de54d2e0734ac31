"""The one seam between moto and our code, for the tests and the local server.

moto executes the state machine's Lambda tasks by calling
`moto.awslambda_simple.models.LambdaSimpleBackend.invoke`, which without
Docker only echoes its input. `install` replaces that method with one that
calls our real Lambda handler in this process, with the event the state
machine built. A handler that raises answers like a crashed Lambda
(`X-Amz-Function-Error: Unhandled`), so the state machine's Catch runs.

S3 events do not reach a Lambda without Docker either: `install` also
takes the handlers of S3 "Object Created" events, and delivers each to them
as EventBridge would (the files bucket sends its events to EventBridge),
from a thread of its own, as the asynchronous event it is.

It also makes moto's DynamoDB apply each request atomically, as DynamoDB
does: moto checks a condition and writes in plain Python with no lock, so
two threads could both pass a condition that only one may pass; and it
applies local/moto_speedups.py, so thousands of executions fit in a process.
"""

from __future__ import annotations

import json
import logging
import threading
import traceback
import uuid
from collections.abc import Callable
from typing import Any

from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.dynamodb.responses import DynamoHandler
from moto.s3 import models as s3_models

from local import moto_speedups

LambdaHandler = Callable[[dict[str, Any], Any], Any]

_handlers: dict[str, LambdaHandler] = {}
_object_created_handlers: list[LambdaHandler] = []
_original_invoke = LambdaSimpleBackend.invoke
_original_dynamodb_action = DynamoHandler.call_action
_original_send_event = s3_models.notifications.send_event
_lock = threading.Lock()
_dynamodb_lock = threading.RLock()
# The event each thread is handling (moto runs every execution in a thread
# of its own), so a test can tell one job's worker calls from another's: an
# execution started by an earlier test may still invoke the worker later.
_invocation = threading.local()


class LocalLambdaContext:
    """The parts of the Lambda context object our handlers use."""

    def __init__(self, function_name: str, timeout_seconds: int = 900) -> None:
        self.function_name = function_name
        self.aws_request_id = str(uuid.uuid4())
        self.memory_limit_in_mb = 256  # as .chalice/config.json gives the worker
        self._timeout = timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return self._timeout * 1000


def install(handlers: dict[str, LambdaHandler],
            object_created: list[LambdaHandler] | None = None) -> None:
    """Route invocations of the named functions (by name, ARN or alias) to
    `handlers`, and S3 Object Created events to `object_created` (None keeps
    those installed before: a test may swap the worker alone)."""
    moto_speedups.install()
    with _lock:
        _handlers.clear()
        _handlers.update(handlers)
        if object_created is not None:
            _object_created_handlers[:] = object_created
        LambdaSimpleBackend.invoke = _invoke  # type: ignore[method-assign]
        DynamoHandler.call_action = _atomic_dynamodb_action  # type: ignore[method-assign]
        s3_models.notifications.send_event = _send_s3_event


def uninstall() -> None:
    with _lock:
        _handlers.clear()
        _object_created_handlers.clear()
        LambdaSimpleBackend.invoke = _original_invoke  # type: ignore[method-assign]
        DynamoHandler.call_action = _original_dynamodb_action  # type: ignore[method-assign]
        s3_models.notifications.send_event = _original_send_event


def _send_s3_event(account_id: str, event_name: Any, bucket: Any, key: Any) -> None:
    _original_send_event(account_id, event_name, bucket, key)
    configuration = bucket.notification_configuration
    if configuration is None or configuration.event_bridge is None:
        return  # the bucket does not send its events to EventBridge
    if "ObjectCreated" not in str(getattr(event_name, "value", event_name)):
        return
    event = _object_created_event(account_id, bucket, key)
    for handler in list(_object_created_handlers):
        threading.Thread(target=_deliver, args=(handler, event), daemon=True,
                         name="s3-event").start()


def _object_created_event(account_id: str, bucket: Any, key: Any) -> dict[str, Any]:
    """The EventBridge event S3 sends for a new object (its documented shape)."""
    return {
        "version": "0", "id": str(uuid.uuid4()), "detail-type": "Object Created",
        "source": "aws.s3", "account": account_id, "region": bucket.region_name,
        "time": "", "resources": [f"arn:aws:s3:::{bucket.name}"],
        "detail": {"version": "0", "bucket": {"name": bucket.name},
                   "object": {"key": key.name, "size": key.size,
                              "etag": key.etag.replace('"', "")},
                   "reason": "PutObject"},
    }


def _deliver(handler: LambdaHandler, event: dict[str, Any]) -> None:
    try:
        handler(event, LocalLambdaContext("upload_landed"))
    except Exception:  # EventBridge would retry; the job's wait times out otherwise
        logging.getLogger("jobapi.local").exception("an S3 event handler failed")


def _atomic_dynamodb_action(self: DynamoHandler) -> Any:
    with _dynamodb_lock:
        return _original_dynamodb_action(self)


def _invoke(
    self: LambdaSimpleBackend,
    function_name: str,
    qualifier: str | None,
    body: Any,
    headers: Any,
    response_headers: dict[str, str],
) -> bytes:
    name = _short_name(function_name)
    handler = _handlers.get(name)
    if handler is None:
        response_headers["x-amz-function-error"] = "Unhandled"
        return _error_payload("ResourceNotFoundException", f"no local handler for {name}")
    event = json.loads(body) if body else {}
    _invocation.event = event
    try:
        result = handler(event, LocalLambdaContext(name))
    except Exception as exc:  # a crashing Lambda, as Step Functions sees it
        response_headers["x-amz-function-error"] = "Unhandled"
        return _error_payload(type(exc).__name__, str(exc), traceback.format_exc())
    finally:
        _invocation.event = None
    return json.dumps(result).encode()


def invoked_for() -> str | None:
    """The job id of the Lambda event this thread is handling, if any."""
    event = getattr(_invocation, "event", None)
    job_id = event.get("job_id") if isinstance(event, dict) else None
    return job_id if isinstance(job_id, str) else None


def _short_name(function_name: str) -> str:
    # arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]
    if function_name.startswith("arn:"):
        return function_name.split(":")[6]
    return function_name


def _error_payload(error_type: str, message: str, trace: str = "") -> bytes:
    return json.dumps(
        {"errorType": error_type, "errorMessage": message, "stackTrace": trace.splitlines()}
    ).encode()
