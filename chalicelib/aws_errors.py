"""The one place botocore's ClientError becomes one of our errors.

Every AWS call of the job store (DynamoDB), the workflow (Step Functions)
and the files (S3) runs inside `translated`, and what leaves it is one of:

    a code the call expects       what it means to that call: no error at all
                                  (`fine`: a missing object, an execution that
                                  ended) or the caller's own domain error
                                  (`meaning`: TransitionRejected, DuplicateJob...)
    a transient code              ServiceUnavailable (503, Retry-After): AWS kept
                                  throttling or failing past botocore's retries
    anything else                 the ClientError itself, untouched: a fault of
                                  the deployment (AccessDenied, a missing table or
                                  bucket) or of our own requests, which no retry
                                  mends; the API logs it and answers 500
                                  internal_error, the worker lets Step Functions
                                  catch it as a crash
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.errors import ServiceUnavailable

# What AWS answers when it is overloaded or failing for a moment: a later
# retry goes through. (HEAD answers carry no body, so S3 names those by status.)
TRANSIENT_CODES = frozenset({
    # DynamoDB
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "InternalServerError",
    "TransactionConflictException",
    # Step Functions (and DynamoDB's ThrottlingException)
    "ThrottlingException",
    "InternalError",
    "ServiceUnavailable",
    # S3
    "SlowDown",
    "RequestTimeout",
    "OperationAborted",
    "500",
    "503",
})

# A call's own reading of a code: its domain error, or None for the shared mapping.
Meaning = Callable[[ClientError], Exception | None]


@dataclass(frozen=True)
class Boundary:
    """One AWS service as a 503 names it; `busy` may hold `{code}`, the AWS code."""

    busy: str

    def unavailable(self, code: str) -> ServiceUnavailable:
        return ServiceUnavailable(self.busy.format(code=code))


JOB_STORE = Boundary("the job store is busy ({code}); retry shortly")
JOB_RUNNER = Boundary("the job runner is busy; retry shortly")
FILE_STORE = Boundary("the file store is unavailable; retry shortly")


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def is_transient(code: str) -> bool:
    return code in TRANSIENT_CODES


def translation(exc: ClientError, boundary: Boundary,
                meaning: Meaning | None = None) -> Exception:
    """What `exc` becomes (see the module's docstring): the caller's domain
    error first, then a 503 for a transient code, else `exc` itself."""
    meant = meaning(exc) if meaning else None
    if meant is not None:
        return meant
    code = error_code(exc)
    if is_transient(code):
        return boundary.unavailable(code)
    return exc


@contextmanager
def translated(boundary: Boundary, fine: Collection[str] = (),
               meaning: Meaning | None = None) -> Iterator[None]:
    """Run AWS calls; a ClientError whose code is in `fine` ends the block
    quietly (code after the `with` runs), any other leaves as its translation."""
    try:
        yield
    except ClientError as exc:
        if error_code(exc) in fine:
            return
        translated_error = translation(exc, boundary, meaning)
        if translated_error is exc:
            raise
        raise translated_error from exc


def failed_items(operation: str, errors: list[dict[str, Any]],
                 busy: str) -> Exception | None:
    """What a batch call that answered with failed items raises (S3
    DeleteObjects' `Errors`): the first refusal (AccessDenied) as the
    ClientError one call would have raised, else a 503 saying `busy` when
    every failure is transient; None when no item failed."""
    if not errors:
        return None
    for error in errors:
        code = str(error.get("Code", ""))
        if not is_transient(code):
            message = f"{error.get('Key', '')}: {error.get('Message', '')}"
            return ClientError({"Error": {"Code": code, "Message": message}}, operation)
    return ServiceUnavailable(busy)
