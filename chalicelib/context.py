"""JobContext: what a job method's handler gets besides its params."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

from pydantic import ValidationError

from chalicelib.blobs import S3Writer
from chalicelib.jobfiles import JobFiles, UploadedFile
from chalicelib.models import (
    MAX_RESOURCES,
    ChildPolicy,
    ChildrenSummary,
    ChildSpec,
    Job,
    Progress,
    ResourceRef,
)
from chalicelib.progress import ProgressReporter
from chalicelib.states import JobState
from chalicelib.validation import field_errors

# Checks a spawned child and answers its id (chalicelib.fanout).
Spawner = Callable[[ChildSpec, int], str]
# Writes a running job's resources, answers the record (chalicelib.store.Records).
ResourceWriter = Callable[[Job, list[ResourceRef]], Job]


class JobAborted(Exception):
    """Raised inside a handler when its job has been cancelled."""


class JobContext:
    def __init__(self, job: Job, reporter: ProgressReporter,
                 logger: logging.Logger | logging.LoggerAdapter[logging.Logger],
                 spawner: Spawner | None = None, files: JobFiles | None = None,
                 resources: ResourceWriter | None = None) -> None:
        self.job = job
        self._resources = resources
        self._reporter = reporter
        self.log = logger
        self._spawner = spawner
        self.files = files
        self.spawned: list[ChildSpec] = []

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

    def add_resources(self, *resources: ResourceRef | dict[str, Any]) -> None:
        """Name more resources this job acts on (one write, at once: watchers
        see them). The first a job names is the one it is anchored to
        (GET /jobs?resource=); a job submitted without resources is anchored
        to the first named here. Naming one twice keeps it once."""
        if self._resources is None:
            raise RuntimeError("this context cannot record resources")
        known = {resource.key for resource in self.job.resources}
        added = [resource for resource in _resource_refs(resources) if resource.key not in known]
        if added:
            self.job = self._resources(self.job, [*self.job.resources, *added][:MAX_RESOURCES])

    @property
    def cancelled(self) -> bool:
        """True once the job was aborted; learnt from the progress write, at no cost."""
        return self._reporter.rejected_state == JobState.ABORTED.value

    def check_cancelled(self) -> None:
        if self.cancelled:
            raise JobAborted(f"job {self.job_id} was aborted")

    def output(self, content_type: str = "application/octet-stream") -> S3Writer:
        """The file this job hands its submitter (methods registered with
        writes_file=True). Write bytes to it, ideally as a context manager;
        it streams to S3 in parts, so any size fits in little memory:

            with ctx.output() as out:
                for chunk in produce():
                    out.write(chunk)
        """
        return self._files().output(content_type)

    @property
    def upload(self) -> UploadedFile:
        """The file its submitter uploaded (methods registered with reads_file=True):
        `ctx.upload.open()` streams it, `ctx.upload.read()` reads it whole.
        With several (POST /_upload takes up to 5), the first."""
        return self._files().upload

    @property
    def uploads(self) -> list[UploadedFile]:
        """Every file its submitter uploaded, in the order they were sent (one
        for an upload straight to S3): `for file in ctx.uploads: file.open()`."""
        return self._files().uploads

    def _files(self) -> JobFiles:
        if self.files is None:
            raise RuntimeError("files are only available to a running handler")
        return self.files

    def spawn(self, method: str, params: dict[str, Any] | None = None, *, weight: int = 1,
              description: str | None = None, children: list[dict[str, Any]] | None = None,
              on_child_failure: str = ChildPolicy.FAIL.value,
              resources: list[dict[str, Any]] | None = None) -> str:
        """Add a sub-job; it starts once this handler returns, and this job
        finishes when its sub-jobs have (see `aggregate` in job_method).
        Checked at once: an unknown method or bad params raise here.
        Returns the sub-job's id."""
        if self._spawner is None:
            raise RuntimeError("sub-jobs can only be spawned by a running handler")
        try:
            spec = ChildSpec.model_validate({
                "method": method, "params": params or {}, "weight": weight,
                "description": description, "children": children,
                "on_child_failure": on_child_failure, "resources": resources,
            })
        except ValidationError as exc:
            problems = "; ".join(f"{p['field']}: {p['message']}" for p in field_errors(exc))
            raise ValueError(f"invalid sub-job: {problems}") from None
        child_id = self._spawner(spec, len(self.spawned))
        self.spawned.append(spec)
        return child_id


class Children:
    """What an aggregate function gets: the summary, and the children in the
    order they were declared or spawned, read in batches as it iterates."""

    def __init__(self, summary: ChildrenSummary, load: Callable[[], Iterator[Job]]) -> None:
        self.summary = summary
        self._load = load

    def __iter__(self) -> Iterator[Job]:
        return self._load()

    def results(self) -> list[Any]:
        """The results of the children that succeeded, in order."""
        return [child.result for child in self if child.state is JobState.SUCCESS]


def _resource_refs(given: tuple[ResourceRef | dict[str, Any], ...]) -> list[ResourceRef]:
    """Checked as a submit's are: a handler's bad resource fails its job with
    a message naming the field."""
    refs = []
    for resource in given:
        try:
            refs.append(resource if isinstance(resource, ResourceRef)
                        else ResourceRef.model_validate(resource))
        except ValidationError as error:
            problems = "; ".join(f"{e['field']}: {e['message']}" for e in field_errors(error))
            raise ValueError(f"a resource is not valid: {problems}") from None
    return refs
