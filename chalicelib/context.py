"""JobContext: what a job method's handler gets besides its params."""

from __future__ import annotations

import logging
from typing import Any

from chalicelib.models import Job, Progress
from chalicelib.progress import ProgressReporter
from chalicelib.states import JobState


class JobAborted(Exception):
    """Raised inside a handler when its job has been cancelled."""


class JobContext:
    def __init__(self, job: Job, reporter: ProgressReporter,
                 logger: logging.Logger | logging.LoggerAdapter[logging.Logger]) -> None:
        self.job = job
        self._reporter = reporter
        self.log = logger

    @property
    def job_id(self) -> str:
        return self.job.id

    def set_progress(
        self, percent: int | None = None, description: str | None = None, extra: Any = None
    ) -> None:
        """Report progress; cheap to call often (writes are coalesced)."""
        if percent is not None:
            percent = max(0, min(100, int(percent)))
        self._reporter.report(Progress(percent=percent, description=description, extra=extra))

    @property
    def cancelled(self) -> bool:
        """True once the job was aborted; learnt from the progress write, at no cost."""
        return self._reporter.rejected_state == JobState.ABORTED.value

    def check_cancelled(self) -> None:
        if self.cancelled:
            raise JobAborted(f"job {self.job_id} was aborted")
