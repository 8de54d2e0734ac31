"""The job record and the request bodies, as pydantic models.

Field names follow TrueNAS's `core.get_jobs` record; `tenant_id`, `user_id`,
`parent_id` and the time stamps come from NetApp and CloudSigma.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from chalicelib.states import JobState

IsoTime = str  # ISO 8601 UTC, see chalicelib.clock.iso


class Progress(BaseModel):
    percent: int | None = Field(None, ge=0, le=100)
    description: str | None = None
    extra: Any = None


class ExcInfo(BaseModel):
    repr: str | None = None
    type: str | None = None
    errno: int | None = None
    extra: Any = None


class ChildPolicy(StrEnum):
    FAIL = "fail"
    CONTINUE = "continue"


class ChildrenSummary(BaseModel):
    """A parent's sub-jobs by state. `active` counts WAITING and RUNNING ones:
    splitting them would cost every child a second write to its parent."""

    total: int = 0
    active: int = 0
    SUCCESS: int = 0
    FAILED: int = 0
    ABORTED: int = 0


class DownloadState(StrEnum):
    PENDING = "PENDING"  # the method has not finished writing the file
    READY = "READY"  # written; waiting for its one download
    CLAIMED = "CLAIMED"  # downloaded (the link was used)
    EXPIRED = "EXPIRED"  # not claimed within the window: the job was aborted, the file deleted


class UploadState(StrEnum):
    PENDING = "PENDING"  # waiting for the client's PUT
    RECEIVED = "RECEIVED"  # the file is in S3; the job may run


class DownloadInfo(BaseModel):
    """The file a job writes for its submitter, downloaded once (TrueNAS core.download)."""

    filename: str
    state: DownloadState = DownloadState.PENDING
    size: int | None = Field(None, description="bytes, once the file is written")
    sha256: str | None = Field(None, description="hex digest, once the file is written")
    window_seconds: int = Field(
        description="how long the ready file waits for its download before the job is aborted")
    buffered: bool = Field(False, description=(
        "written in full before its download (TrueNAS core.download buffered): the job "
        "succeeds once the file is written, and the file waits window_seconds for its "
        "download after that"))
    available_until: IsoTime | None = Field(None, description=(
        "buffered: when the written file stops being offered"),
        json_schema_extra={"format": "date-time"})


class UploadInfo(BaseModel):
    """The file a job reads, uploaded by its submitter (the fields above
    `files` describe the first; POST /_upload may send up to 5)."""

    class ReceivedFile(BaseModel):
        """One file of a POST /_upload, as received."""

        filename: str
        size: int
        content_type: str = "application/octet-stream"
        sha256: str

    filename: str
    size: int = Field(description="bytes declared (S3 direct) or received (POST /_upload)")
    content_type: str = "application/octet-stream"
    sha256: str | None = Field(None, description="hex digest, when declared or measured")
    state: UploadState = UploadState.PENDING
    verified: bool = Field(False, description="size and sha256 were measured by the service")
    url_expires_at: IsoTime | None = Field(
        None, description="when the upload URL expires (S3 direct uploads); the job is "
        "aborted if the file has not arrived by then", json_schema_extra={"format": "date-time"})
    count: int = Field(1, description="how many files the job reads (POST /_upload: 1 to 5)")
    files: list[UploadInfo.ReceivedFile] | None = Field(
        None, description="every file POST /_upload received, in order (the first is the "
        "one described above)")

    def fingerprint(self) -> str | None:
        """What an idempotent replay must repeat: the content of every file."""
        if not self.files or len(self.files) == 1:
            return self.sha256
        return ",".join(part.sha256 for part in self.files)


MAX_RESOURCES = 20
# A resource id goes into index keys ("<tenant>#<type>:<id>") and URIs
# (CloudSigma's /api/2.0/drives/<id>/): no "#", "/", spaces or controls.
RESOURCE_ID = r"^[A-Za-z0-9][A-Za-z0-9_.:@-]*$"
RESOURCE_WORD = r"^[a-z][a-z0-9_]*$"


class ResourceRef(BaseModel):
    """A resource a job acts on (NetApp's object_id, object_type,
    object_name; CloudSigma's resources). A job's first resource is the one
    it acts on: it is indexed (GET /jobs?resource=<type>:<id>)."""

    model_config = ConfigDict(extra="forbid")

    type: str = Field(min_length=1, max_length=40, pattern=RESOURCE_WORD,
                      description="what it is: drive, server, volume...")
    id: str = Field(min_length=1, max_length=200, pattern=RESOURCE_ID)
    name: str | None = Field(None, max_length=200)
    action: str | None = Field(None, max_length=40, pattern=RESOURCE_WORD,
                               description="what the job does to it: clone, resize...")

    @property
    def key(self) -> str:
        return f"{self.type}:{self.id}"


Resources = Annotated[list[ResourceRef], Field(max_length=MAX_RESOURCES)]


class JobView(BaseModel):
    """A job as clients see it (published at GET /jobs/schema)."""

    model_config = ConfigDict(title="Job")

    id: str = Field(description="Unique identifier of the job.")
    number: int | None = Field(None, description=(
        "The job's number, unique within its tenant: the integer id TrueNAS clients use "
        "(and ArangoDB's job id). Increasing, not contiguous."))
    method: str = Field(description="The job method that runs it.")
    arguments: dict[str, Any] = Field(
        default_factory=dict, description="The params, with secret fields redacted."
    )
    description: str | None = None
    transient: bool = Field(False, description="Hidden from lists; expires soon after finishing.")
    abortable: bool = Field(False, description="Whether a RUNNING job may be cancelled.")
    state: JobState = JobState.WAITING
    progress: Progress = Field(default_factory=Progress)
    result: Any = Field(None, description="What the method returned (redacted by default).")
    result_encoding_error: str | None = None
    error: str | None = None
    exception: str | None = Field(None, description="The traceback, when the method raised.")
    exc_info: ExcInfo | None = None
    logs_path: str | None = None
    logs_excerpt: str | None = None
    message_ids: list[str] = Field(
        default_factory=list, description="Request ids of the calls that submitted or joined it."
    )
    time_created: IsoTime = Field(json_schema_extra={"format": "date-time"})
    time_started: IsoTime | None = Field(None, json_schema_extra={"format": "date-time"})
    time_finished: IsoTime | None = Field(None, json_schema_extra={"format": "date-time"})
    time_updated: IsoTime = Field(json_schema_extra={"format": "date-time"})
    tenant_id: str
    user_id: str | None = None
    parent_id: str | None = Field(None, description="The job that spawned this one.")
    root_id: str | None = Field(None, description="The top of this job's tree.")
    weight: int = Field(1, description="This job's share of its parent's progress.")
    on_child_failure: ChildPolicy = Field(
        ChildPolicy.FAIL, description="fail: a failed sub-job fails this job; continue: "
        "this job succeeds and reports partial failures.")
    children_summary: ChildrenSummary | None = Field(
        None, description="Sub-jobs counted by state (parents only).")
    outcome: str | None = Field(
        None, description="For parents: NORMAL, or PARTIAL_FAILURES when some sub-jobs "
        "failed under on_child_failure=continue (NetApp).")
    download: DownloadInfo | None = Field(
        None, description="The file this job writes, fetched once through its download_url.")
    upload: UploadInfo | None = Field(None, description="The file this job reads.")
    resources: Resources = Field(default_factory=list, description=(
        "The resources the job acts on, the first the one it is anchored to."))
    resource: str | None = Field(None, description=(
        "The first resource as <type>:<id>, what GET /jobs?resource= lists by; derived."))
    revision: int = Field(1, description=(
        "Counts the writes to this job's record: 1 when created, one more for each change "
        "(in the same write). An event or read with a lower revision than one already seen "
        "is stale."))

    @model_validator(mode="after")
    def _anchored(self) -> JobView:
        # Derived here, so the record, its index key and its view never disagree.
        self.resource = self.resources[0].key if self.resources else None
        return self


class Job(JobView):
    """The stored record: the view plus what only the service needs."""

    secret_paths: list[str] = Field(default_factory=list)
    request_hash: str | None = None
    lock_key: str | None = None
    result_ref: str | None = None
    abort_deadline: IsoTime | None = None
    expires_at: int | None = None
    runner: str = "standard"  # chalicelib.workflow.Runner
    # Sub-job trees (chalicelib.tree): the declared children still to create,
    # the handler's own result kept for the finish, the fan-in counters, and
    # the task token the parent's execution waits on.
    children_spec: list[dict[str, Any]] | None = None
    children_timeout: int | None = None
    handler_result: Any = None
    child_total: int | None = None
    child_pending: int | None = None
    child_succeeded: int | None = None
    child_failed: int | None = None
    child_aborted: int | None = None
    child_weight_total: int | None = None
    child_weight_done: int | None = None
    first_failed_child: str | None = None
    wait_token: str | None = None
    woken_token: str | None = None
    # Only the hash of the one-time download token is kept (chalicelib.download_links).
    download_token_hash: str | None = None
    # When the wait for an upload or a download ends (the state machine's
    # timeout does it; the sweeper reads this in by_active, as a backstop).
    wait_deadline: IsoTime | None = None

    @property
    def has_children(self) -> bool:
        return bool(self.child_total)

    def is_expired(self, now: float) -> bool:
        # DynamoDB's TTL deletes late (up to days), so every read checks.
        return self.expires_at is not None and self.expires_at <= now


PUBLIC_FIELDS = frozenset(JobView.model_fields)


# defer_build: each Lambda function builds only the models it uses (the
# worker never parses a submit; the API never writes an outcome).
DEFERRED = ConfigDict(defer_build=True)


MAX_WEIGHT = 1_000_000
# Step Functions Standard executions last at most a year.
MAX_CHILDREN_TIMEOUT = 365 * 24 * 3600


class ChildSpec(BaseModel):
    """A sub-job declared in a request, or spawned by a handler; any depth."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    method: str = Field(min_length=1, max_length=200)
    params: dict[str, Any] = Field(default_factory=dict)
    description: str | None = Field(None, max_length=1000)
    weight: int = Field(1, ge=1, le=MAX_WEIGHT, description="share of the parent's progress")
    children: list[ChildSpec] | None = None
    resources: Resources | None = Field(None, description="the resources it acts on")
    # None: the method's default (registry.job_method), else "fail".
    on_child_failure: ChildPolicy | None = None
    children_timeout: int | None = Field(None, ge=1, le=MAX_CHILDREN_TIMEOUT)


MAX_FILENAME = 255


def _plain_filename(name: str) -> str:
    """A file name, not a path: it ends up in a Content-Disposition header."""
    if name in (".", "..") or any(c in name for c in "/\\\"") or \
            any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise ValueError("must be a plain file name: no path separators, quotes or "
                         "control characters")
    return name


# The pattern tells the contract (OpenAPI) most of what _plain_filename checks.
PLAIN_FILENAME = '^[^/\\\\"\\u0000-\\u001f\\u007f]+$'
Filename = Annotated[str, Field(min_length=1, max_length=MAX_FILENAME,
                                json_schema_extra={"pattern": PLAIN_FILENAME}),
                     AfterValidator(_plain_filename)]
# One presigned PUT carries at most 5 GB (S3's single-upload limit).
MAX_UPLOAD_BYTES = 5 * 1024**3
MAX_UPLOAD_URL_SECONDS = 7 * 24 * 3600  # SigV4 presigned URLs live at most a week


class DownloadRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    filename: Filename = Field(description="the name the file is downloaded as")
    buffered: bool = Field(False, description=(
        "false: the job ends when its file is downloaded (within its window); true: it "
        "ends when the file is written, and the file is downloaded after (within an hour)"))


class UploadRequest(BaseModel):
    """An upload straight to S3 (any size up to 5 GB) through a presigned PUT."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    filename: Filename
    size: int = Field(ge=0, le=MAX_UPLOAD_BYTES, description="exact size in bytes")
    content_type: str = Field("application/octet-stream", min_length=3, max_length=200,
                              pattern=r"^[\w.+-]+/[\w.+-]+$")
    sha256: str | None = Field(None, pattern=r"^[0-9a-fA-F]{64}$",
                               description="hex digest; S3 and the job both check it")
    expires_in: int | None = Field(None, ge=1, le=MAX_UPLOAD_URL_SECONDS,
                                   description="seconds the upload URL stays valid")


class SubmitRequest(BaseModel):
    """The body of `POST /jobs`."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    method: str = Field(min_length=1, max_length=200)
    params: dict[str, Any] = Field(default_factory=dict)
    description: str | None = Field(None, max_length=1000)
    transient: bool = False
    children: list[ChildSpec] | None = Field(
        None, description="sub-jobs to run once this job's own handler has returned")
    on_child_failure: ChildPolicy | None = None
    children_timeout: int | None = Field(
        None, ge=1, le=MAX_CHILDREN_TIMEOUT,
        description="seconds this job waits for its sub-jobs before it fails")
    download: DownloadRequest | None = Field(
        None, description="the method writes a file: answer with a one-time download_url")
    upload: UploadRequest | None = Field(
        None, description="the method reads a file: answer with a presigned upload_url")
    resources: Resources | None = Field(
        None, description="the resources the job acts on, the first the one it is anchored "
        "to (GET /jobs?resource=<type>:<id>); its handler may add more")


class Outcome(BaseModel):
    """How a run ended: what the worker writes with the terminal state."""

    model_config = DEFERRED

    state: JobState
    result: Any = None
    result_encoding_error: str | None = None
    error: str | None = None
    exception: str | None = None
    exc_info: ExcInfo | None = None
    progress: Progress | None = None
    result_ref: str | None = None
    expires_at: int | None = None
    outcome: str | None = None
    logs_path: str | None = None
    logs_excerpt: str | None = None
    download: DownloadInfo | None = None
