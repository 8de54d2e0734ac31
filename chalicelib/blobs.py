"""Blobs: the files bucket behind a small class (big results now; files and
logs later). Keys live under jobs/{job_id}/ so a job's objects go with it."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.errors import ServiceUnavailable


def result_key(job_id: str) -> str:
    return f"jobs/{job_id}/result.json"


def handler_result_key(job_id: str) -> str:
    """A parent's own result, kept while its children run."""
    return f"jobs/{job_id}/handler-result.json"


class Blobs:
    def __init__(self, client: Any, bucket: str) -> None:
        self._client = client
        self._bucket = bucket

    def put_json(self, key: str, body: bytes) -> None:
        try:
            self._client.put_object(
                Bucket=self._bucket, Key=key, Body=body, ContentType="application/json"
            )
        except ClientError as exc:
            raise ServiceUnavailable("the file store is unavailable; retry shortly") from exc

    def get_json(self, key: str) -> Any:
        try:
            answer = self._client.get_object(Bucket=self._bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise ServiceUnavailable("the file store is unavailable; retry shortly") from exc
        return json.loads(answer["Body"].read())
