"""A typed client for the job API: `JobsClient` (sync) and `AsyncJobsClient`
(async), httpx underneath; one exception class per error code
(jobapi_client.errors)."""

from jobapi_client.aio import AsyncJobsClient
from jobapi_client.calls import Retry
from jobapi_client.errors import ApiError, JobFailed
from jobapi_client.sync import JobsClient

__all__ = ["ApiError", "AsyncJobsClient", "JobFailed", "JobsClient", "Retry"]
