"""Files: a job's once-only download (offer, claim, new link) and its upload
(the wait for it, its arrival)."""

from __future__ import annotations

from chalicelib import items, keys
from chalicelib.models import DownloadState, Job, Outcome, UploadState
from chalicelib.states import ACTIVE_STATES, JobState, sources_of
from chalicelib.store.table import Table, Update

CLAIMED_TENANT_STATE = "claimed_tenant_state"
# The claim of a download is the handler's end: the table's way to SUCCESS.
DOWNLOAD_CLAIMABLE = sources_of(JobState.SUCCESS)


class Files(Table):
    def offer_download(self, job: Job, outcome: Outcome, expires_at: int, now: str,
                       wait_deadline: str) -> None:
        """The handler wrote its file: stage the outcome (shown once the job
        succeeds) and mark the file READY; the job stays RUNNING until the
        download is claimed or its window passes. From here it is abortable:
        its handler has returned."""
        update = Update()
        update.set("time_updated", {"S": now})
        for name, value in items.outcome_values(outcome).items():
            update.set(name, value)
        update.set("expires_at", {"N": str(expires_at)})
        update.set("abortable", {"BOOL": True})
        update.set("wait_deadline", {"S": wait_deadline})  # the sweeper's backstop
        # The claim cannot know the tenant (the link carries only the job id
        # and token), yet must move the by-state index key in its one write:
        # it copies this value over tenant_state.
        update.set(CLAIMED_TENANT_STATE, {"S": keys.tenant_state(job.tenant_id, JobState.SUCCESS)})
        # Only while RUNNING: a cancel that landed while the file was written wins.
        self._apply(job.id, update, update.state_in([JobState.RUNNING]), returns=False)

    def claim_download(self, job_id: str, token_hash: str, now: str) -> Job:
        """The one download: READY -> CLAIMED and RUNNING -> SUCCESS in one
        conditional write on the token's hash. Of any number of concurrent
        claims exactly one passes; the others learn why from the old record."""
        update = Update()
        update.set("state", items.state_value(JobState.SUCCESS))
        update.set("time_updated", {"S": now})
        update.set("time_finished", {"S": now})
        download_state = f"{update.name('download')}.{update.name('state')}"
        update.set_path(download_state, {"S": DownloadState.CLAIMED})
        update.copy("tenant_state", CLAIMED_TENANT_STATE)
        update.remove(CLAIMED_TENANT_STATE)
        update.remove("active_shard")
        update.remove("wait_deadline")
        condition = (update.state_in(DOWNLOAD_CLAIMABLE) + f" AND {download_state} = "
                     f"{update.value({'S': DownloadState.READY})} AND "
                     f"{update.name('download_token_hash')} = {update.value({'S': token_hash})}")
        return self._apply(job_id, update, condition)

    def claim_buffered_download(self, job_id: str, token_hash: str, now: str) -> Job:
        """The one download of a buffered file, its job SUCCESS already:
        READY -> CLAIMED on the token's hash, while it is still offered."""
        update = Update()
        download = update.name("download")
        download_state = f"{download}.{update.name('state')}"
        update.set_path(download_state, {"S": DownloadState.CLAIMED})
        condition = (update.state_in([JobState.SUCCESS]) + f" AND {download_state} = "
                     f"{update.value({'S': DownloadState.READY})} AND "
                     f"{update.name('download_token_hash')} = {update.value({'S': token_hash})}"
                     f" AND {download}.{update.name('available_until')} > "
                     f"{update.value({'S': now})}")
        return self._apply(job_id, update, condition)

    def rotate_download_token(self, job_id: str, token_hash: str) -> None:
        """A replayed submit gets a new link; the old one stops working. Only
        while the file has not been downloaded."""
        update = Update()
        update.set("download_token_hash", {"S": token_hash})
        download_state = f"{update.name('download')}.{update.name('state')}"
        condition = update.state_in(ACTIVE_STATES) + f" AND {download_state} IN (" + \
            f"{update.value({'S': DownloadState.PENDING})}, " + \
            f"{update.value({'S': DownloadState.READY})})"
        self._apply(job_id, update, condition, returns=False)

    def set_file_wait_token(self, job_id: str, token: str, kind: str) -> Job:
        """Store the task token of an execution waiting for an upload (the job
        WAITING, its file PENDING) or for a download (RUNNING, file READY).
        Rejected when the wait is over already: the caller then resumes."""
        update = Update()
        update.set("wait_token", {"S": token})
        if kind == "upload":
            state, waiting = JobState.WAITING, UploadState.PENDING.value
        else:
            state, waiting = JobState.RUNNING, DownloadState.READY.value
        condition = update.state_in([state]) + \
            f" AND {update.name(kind)}.{update.name('state')} = {update.value({'S': waiting})}"
        return self._apply(job_id, update, condition)

    def mark_upload_received(self, job_id: str, size: int) -> Job:
        """The client's PUT landed (S3 event): PENDING -> RECEIVED, once."""
        update = Update()
        upload = update.name("upload")
        received = f"{upload}.{update.name('state')}"
        update.set_path(received, {"S": UploadState.RECEIVED})
        update.set_path(f"{upload}.{update.name('received_size')}", {"N": str(size)})
        update.remove("wait_deadline")
        # Once, and only before the job starts: a repeated S3 event changes nothing.
        condition = update.state_in([JobState.WAITING]) + \
            f" AND {received} = {update.value({'S': UploadState.PENDING})}"
        return self._apply(job_id, update, condition)
