"""A job's own log: every line its handler logs through `ctx.log`.

Lines collect in a spooled file while the handler runs (memory first, then
/tmp) and go to S3 in one PutObject when the handler returns (logs_path);
the last lines also go into the record (logs_excerpt, at most EXCERPT_BYTES).
Secrets are masked before a line is kept (chalicelib.redaction).
"""

from __future__ import annotations

import logging
import sys
import tempfile
import threading
import time
import traceback
from collections import deque
from typing import Any

from chalicelib.blobs import Blobs, log_key
from chalicelib.clock import iso
from chalicelib.redaction import Redactor

EXCERPT_BYTES = 2048
MAX_LOG_BYTES = 50 * 1024 * 1024
SPOOL_BYTES = 1024 * 1024
TRUNCATED = "[log truncated: it reached its size limit]\n"

log = logging.getLogger("jobapi.worker")


class HandlerLog:
    def __init__(self, max_bytes: int = MAX_LOG_BYTES) -> None:
        # Open for the whole run (closed by `close`), so not a `with` block.
        self._file = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115
        self._tail: deque[str] = deque()
        self._tail_bytes = 0
        self._max_bytes = max_bytes
        self._lock = threading.Lock()
        self.size = 0
        self.truncated = False

    def append(self, line: str) -> None:
        text = line if line.endswith("\n") else line + "\n"
        data = text.encode("utf-8", "replace")
        with self._lock:
            if self.truncated:
                return
            if self.size + len(data) > self._max_bytes:
                self.truncated = True
                data, text = TRUNCATED.encode(), TRUNCATED
            self._file.write(data)
            self.size += len(data)
            self._keep_in_tail(text)

    @property
    def empty(self) -> bool:
        return self.size == 0

    def excerpt(self) -> str:
        with self._lock:
            return "".join(self._tail)

    def store(self, blobs: Blobs, job_id: str, earlier: bytes | None = None) -> dict[str, Any]:
        """Upload the log (after `earlier`, what a previous run of the same job
        logged); answers the record's logs_path and logs_excerpt."""
        with self._lock:
            self._file.seek(0)
            body = (earlier or b"") + self._file.read()
        blobs.put_bytes(log_key(job_id), body, "text/plain; charset=utf-8")
        return {"logs_path": log_key(job_id), "logs_excerpt": self.excerpt()}

    def close(self) -> None:
        self._file.close()

    def _keep_in_tail(self, text: str) -> None:
        self._tail.append(text)
        self._tail_bytes += len(text)
        while self._tail_bytes > EXCERPT_BYTES and len(self._tail) > 1:
            self._tail_bytes -= len(self._tail.popleft())
        if self._tail_bytes > EXCERPT_BYTES:  # one line longer than the excerpt
            self._tail[0] = "…" + self._tail[0][-(EXCERPT_BYTES - 1):]
            self._tail_bytes = len(self._tail[0])


class JobLogger(logging.LoggerAdapter[logging.Logger]):
    """A handler's logger (`ctx.log`): masks its job's secrets, then writes
    each line to the job's own log and to the process log (CloudWatch), tagged
    with the job id."""

    def __init__(self, job_id: str, method: str, redactor: Redactor, job_log: HandlerLog) -> None:
        super().__init__(log.getChild(method), {"job_id": job_id})
        self._job_id = job_id
        self._redactor = redactor
        self.job_log = job_log

    def log(self, level: int, msg: object, *args: Any, **kwargs: Any) -> None:
        text = str(msg) % args if args else str(msg)
        text = str(self._redactor.scrub(text))
        if kwargs.get("exc_info"):
            text += "\n" + str(self._redactor.scrub(_traceback(kwargs.pop("exc_info"))))
        self.job_log.append(f"{iso(time.time())} {logging.getLevelName(level)} {text}")
        if self.isEnabledFor(level):
            # A handler's `extra` becomes attributes of the record, which a
            # structured (JSON) log formatter shows: masked like the line.
            kwargs["extra"] = {**self._redactor.scrub(dict(kwargs.get("extra") or {})),
                               **(self.extra or {})}
            self.logger.log(level, "job %s: %s", self._job_id, text, **kwargs)

    def exception(self, msg: object, *args: Any, exc_info: Any = True, **kwargs: Any) -> None:
        self.log(logging.ERROR, msg, *args, exc_info=exc_info, **kwargs)


def _traceback(exc_info: Any) -> str:
    if exc_info is True:
        exc_info = sys.exc_info()
    elif isinstance(exc_info, BaseException):
        exc_info = (type(exc_info), exc_info, exc_info.__traceback__)
    return "".join(traceback.format_exception(*exc_info)).rstrip()
