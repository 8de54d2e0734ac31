"""Coalesced progress: a handler may report as often as it likes; the store
sees at most one write per interval, and the latest value always lands
(the worker folds whatever is still pending into the finishing write).

The first interval starts when the job is marked RUNNING, so a job that ends
within it pays no progress write at all: its finish carries the value. Intervals are measured
on a monotonic clock (the timer's own), never on the wall clock.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from chalicelib.clock import Clock
from chalicelib.errors import TransitionRejected
from chalicelib.models import Progress

Writer = Callable[[Progress], None]
log = logging.getLogger("jobapi.progress")


class ProgressReporter:
    def __init__(self, write: Writer, clock: Clock, interval: float) -> None:
        self._write = write
        self._clock = clock
        self._interval = interval
        self._lock = threading.Lock()
        self._pending: Progress | None = None
        self._latest = Progress()
        self._last_write = clock()
        self._timer: threading.Timer | None = None
        self._closed = False
        self.rejected_state: str | None = None

    @property
    def latest(self) -> Progress:
        return self._latest

    def report(self, progress: Progress) -> None:
        with self._lock:
            if self._closed:
                return
            self._pending = self._latest = progress
            self._flush_or_schedule_locked()

    def close(self) -> Progress | None:
        """Stop writing; return the value not yet written, if any."""
        with self._lock:
            self._closed = True
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            pending, self._pending = self._pending, None
            return pending

    def _flush_or_schedule_locked(self) -> None:
        wait = self._last_write + self._interval - self._clock()
        if wait <= 0:
            self._flush_locked()
        elif self._timer is None:
            # Make sure a value reported just after a write still lands
            # within one interval, even if the handler goes quiet.
            self._timer = threading.Timer(wait, self._flush_from_timer)
            self._timer.daemon = True
            self._timer.start()

    def _flush_from_timer(self) -> None:
        with self._lock:
            self._timer = None
            # A report may have written since this timer was set (the timer
            # thread can run late): check the interval again, never write early.
            if not self._closed and self._pending is not None:
                self._flush_or_schedule_locked()

    def _flush_locked(self) -> None:
        if self._pending is None:
            return
        progress, self._pending = self._pending, None
        self._last_write = self._clock()
        try:
            self._write(progress)
        except TransitionRejected as exc:
            # The job is no longer RUNNING (cancelled, or finished elsewhere):
            # this is how a cancel is noticed without an extra read.
            self.rejected_state = exc.actual_state
            self._closed = True
        except Exception:
            # Progress is best effort: a throttled or failed write must not fail
            # the job. The value stays pending for the next write or the finish.
            log.warning("progress write failed; keeping the value for the next one",
                        exc_info=True)
            self._pending = self._pending or progress
