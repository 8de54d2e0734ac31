"""Configuration read from the environment (set per stage in .chalice/config.json,
by infra/app-merge.json at deploy time, and by the local server)."""

from __future__ import annotations

import os
from dataclasses import dataclass

DAY = 24 * 3600
# A job's S3 objects are removed by the bucket's lifecycle rule after 8 days
# (infra/template.yaml): no job may be kept longer than its objects.
MAX_RETENTION_SECONDS = 7 * DAY
# Base64 makes 4 bytes of 3: 4 MiB inline becomes 5.6 MB, under Lambda's 6 MB answer.
MAX_INLINE_DOWNLOAD_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class Settings:
    table_name: str
    bucket_name: str
    state_machine_arn: str
    # Short leaf jobs run here (Express); empty means everything runs on Standard.
    express_state_machine_arn: str = ""
    progress_interval: float = 1.0
    # CloudSigma keeps job history 3 days; transient jobs (TrueNAS) go soon
    # after finishing, but not at once, so a client can still read the outcome.
    retention_seconds: int = 3 * DAY
    transient_retention_seconds: int = 600
    # How long a cancelled handler may keep running before its execution is stopped.
    abort_grace_seconds: int = 30
    # How long a parent waits for its sub-jobs unless its request or method says.
    children_timeout_seconds: int = DAY
    # A WAITING job whose execution has not claimed it after this long is
    # started again by the sweeper (a start that failed, or a lost one).
    stalled_start_seconds: int = 60
    # A RUNNING job started longer ago than this has its execution checked by
    # the sweeper (Express executions end within 5 minutes: past this, one is
    # gone); an execution that ended without recording an outcome fails it.
    lost_run_seconds: int = 360
    # Results larger than this go to S3: small items keep every read and write cheap.
    inline_result_bytes: int = 16 * 1024
    # Files (chalicelib.downloads, chalicelib.uploads). A ready file waits this
    # long for its one download before the job is aborted (TrueNAS: 60 s).
    download_window_seconds: int = 60
    # The presigned GET a download redirects to lives only seconds: the
    # client follows the redirect at once, and nobody can replay it later.
    download_url_seconds: int = 10
    # A file up to this size is answered inline (200 and its bytes) to a client
    # that takes binary, for clients that do not follow redirects (TrueNAS's):
    # base64 of 4 MiB stays under Lambda's 6 MB answer. Bigger: the redirect.
    download_inline_bytes: int = MAX_INLINE_DOWNLOAD_BYTES
    # A presigned PUT (S3 direct upload) is valid this long unless the request
    # says otherwise; a PUT begun just before it expires may land this much later.
    upload_url_seconds: int = 3600
    upload_grace_seconds: int = 300
    # POST /_upload goes through API Gateway and Lambda (6 MB payloads, and
    # binary bodies are base64-encoded on the way): bigger files go S3 direct.
    upload_max_bytes: int = 4 * 1024 * 1024
    # Bearer tokens have settings of their own: chalicelib.authn.TokenSettings.
    # Signs paging tokens. Set JOBS_TOKEN_SECRET per stage; the default only
    # suits the local server and tests (tokens from it are forgeable).
    token_secret: bytes = b"local-development-only"

    def __post_init__(self) -> None:
        for name in ("retention_seconds", "transient_retention_seconds"):
            if not 0 <= getattr(self, name) <= MAX_RETENTION_SECONDS:
                raise RuntimeError(f"{name} must be 0 to {MAX_RETENTION_SECONDS} seconds "
                                   "(the bucket's lifecycle removes a job's files after 8 days)")
        if not 0 <= self.download_inline_bytes <= MAX_INLINE_DOWNLOAD_BYTES:
            raise RuntimeError(f"download_inline_bytes must be 0 to {MAX_INLINE_DOWNLOAD_BYTES} "
                               "(base64 of more would not fit Lambda's 6 MB answer)")

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            table_name=_required("JOBS_TABLE"),
            bucket_name=_required("JOBS_BUCKET"),
            state_machine_arn=_required("JOBS_STATE_MACHINE_ARN"),
            express_state_machine_arn=os.environ.get("JOBS_EXPRESS_STATE_MACHINE_ARN", ""),
            progress_interval=float(os.environ.get("JOBS_PROGRESS_INTERVAL", "1.0")),
            retention_seconds=int(os.environ.get("JOBS_RETENTION_SECONDS", 3 * DAY)),
            transient_retention_seconds=int(
                os.environ.get("JOBS_TRANSIENT_RETENTION_SECONDS", 600)
            ),
            abort_grace_seconds=int(os.environ.get("JOBS_ABORT_GRACE_SECONDS", 30)),
            children_timeout_seconds=int(os.environ.get("JOBS_CHILDREN_TIMEOUT_SECONDS", DAY)),
            stalled_start_seconds=int(os.environ.get("JOBS_STALLED_START_SECONDS", 60)),
            lost_run_seconds=int(os.environ.get("JOBS_LOST_RUN_SECONDS", 360)),
            inline_result_bytes=int(os.environ.get("JOBS_INLINE_RESULT_BYTES", 16 * 1024)),
            download_window_seconds=int(os.environ.get("JOBS_DOWNLOAD_WINDOW_SECONDS", 60)),
            download_url_seconds=int(os.environ.get("JOBS_DOWNLOAD_URL_SECONDS", 10)),
            download_inline_bytes=int(os.environ.get("JOBS_DOWNLOAD_INLINE_BYTES",
                                                     4 * 1024 * 1024)),
            upload_url_seconds=int(os.environ.get("JOBS_UPLOAD_URL_SECONDS", 3600)),
            upload_grace_seconds=int(os.environ.get("JOBS_UPLOAD_GRACE_SECONDS", 300)),
            upload_max_bytes=int(os.environ.get("JOBS_UPLOAD_MAX_BYTES", 4 * 1024 * 1024)),
            token_secret=os.environ.get("JOBS_TOKEN_SECRET", "local-development-only").encode(),
        )


def _required(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"environment variable {name} is not set (see .chalice/config.json)")
    return value
