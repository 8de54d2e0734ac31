"""A job's result: kept in its record, or, past `inline_result_bytes`, in S3
under `jobs/{id}/` with only a reference in the record, and served whole.

Two results are kept: the job's own (`result`, with `result_ref` when it
went to S3) and a parent's handler result while its children run
(`handler_result`, `{"$ref": key}` when it went to S3).
"""

from __future__ import annotations

import json
from typing import Any

from chalicelib.blobs import Blobs, handler_result_key, result_key
from chalicelib.models import Job, Outcome
from chalicelib.settings import Settings

REF = "$ref"


class Results:
    def __init__(self, blobs: Blobs, settings: Settings) -> None:
        self._blobs = blobs
        self._settings = settings

    def kept(self, job: Job, outcome: Outcome) -> Outcome:
        """The outcome to write: a big result goes to S3, the record holds its key."""
        key = self._offloaded(outcome.result, result_key(job.id))
        if key is None:
            return outcome
        return outcome.model_copy(update={"result": None, "result_ref": key})

    def kept_for_finish(self, job: Job, result: Any) -> Any:
        """A parent's own result waits in its record for the finish; a big one
        waits in S3 (the record then holds only a reference)."""
        key = self._offloaded(result, handler_result_key(job.id))
        return result if key is None else {REF: key}

    def handler_result(self, job: Job) -> Any:
        """What `kept_for_finish` kept, whole."""
        kept = job.handler_result
        if isinstance(kept, dict) and set(kept) == {REF}:
            return self._blobs.get_json(kept[REF])
        return kept

    def loaded(self, job: Job) -> Job:
        """The job with its result, read from S3 if it went there."""
        if not job.result_ref:
            return job
        return job.model_copy(update={"result": self._blobs.get_json(job.result_ref)})

    def _offloaded(self, result: Any, key: str) -> str | None:
        """Put a result too big for the record in S3 under `key`; None if it fits."""
        if result is None:
            return None
        body = json.dumps(result, separators=(",", ":")).encode()
        if len(body) <= self._settings.inline_result_bytes:
            return None
        self._blobs.put_json(key, body)
        return key
