"""The one mapping from botocore's ClientError to our errors, call by call."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from chalicelib.aws_errors import (
    FILE_STORE,
    JOB_RUNNER,
    JOB_STORE,
    failed_items,
    translated,
    translation,
)
from chalicelib.errors import Conflict, ServiceUnavailable


def refused(code: str, operation: str = "GetObject") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "as AWS says it"}}, operation)


@pytest.mark.parametrize("code", [
    "ThrottlingException", "ProvisionedThroughputExceededException", "RequestLimitExceeded",
    "InternalServerError", "TransactionConflictException", "ServiceUnavailable",
    "InternalError", "SlowDown", "RequestTimeout", "503", "500",
])
def test_a_transient_code_becomes_a_503(code: str) -> None:
    error = translation(refused(code), FILE_STORE)

    assert isinstance(error, ServiceUnavailable)
    assert error.status == 503 and error.retry_after == 1


@pytest.mark.parametrize("code", [
    "AccessDenied", "AccessDeniedException", "403", "NoSuchBucket",
    "ResourceNotFoundException", "ValidationException", "NoSuchUpload",
])
def test_a_code_no_retry_mends_stays_the_client_error_itself(code: str) -> None:
    exc = refused(code)

    assert translation(exc, FILE_STORE) is exc


def test_the_503_names_its_service_and_the_store_s_names_the_code() -> None:
    assert translation(refused("SlowDown"), FILE_STORE).args == (
        "the file store is unavailable; retry shortly",)
    assert translation(refused("ThrottlingException"), JOB_RUNNER).args == (
        "the job runner is busy; retry shortly",)
    assert translation(refused("ThrottlingException"), JOB_STORE).args == (
        "the job store is busy (ThrottlingException); retry shortly",)


def test_the_caller_s_meaning_comes_before_the_shared_mapping() -> None:
    def meaning(exc: ClientError) -> Exception | None:
        return Conflict("taken") if exc.operation_name == "PutItem" else None

    assert isinstance(translation(refused("ThrottlingException", "PutItem"), JOB_STORE,
                                  meaning), Conflict)
    assert isinstance(translation(refused("ThrottlingException", "GetItem"), JOB_STORE,
                                  meaning), ServiceUnavailable)


def test_a_fine_code_ends_the_block_quietly() -> None:
    ran_after = False
    with translated(JOB_RUNNER, fine={"ExecutionAlreadyExists"}):
        raise refused("ExecutionAlreadyExists", "StartExecution")
    ran_after = True

    assert ran_after


def test_a_translated_error_is_raised_from_the_client_error() -> None:
    exc = refused("SlowDown")

    with pytest.raises(ServiceUnavailable) as raised, translated(FILE_STORE, fine={"NoSuchKey"}):
        raise exc

    assert raised.value.__cause__ is exc


def test_a_fault_leaves_the_block_as_the_same_client_error() -> None:
    exc = refused("AccessDenied")

    with pytest.raises(ClientError) as raised, translated(FILE_STORE):
        raise exc

    assert raised.value is exc


def test_other_exceptions_pass_through_untouched() -> None:
    with pytest.raises(KeyError), translated(FILE_STORE, fine={"NoSuchKey"}):
        raise KeyError("NoSuchKey")


def test_a_batch_with_no_failed_items_raises_nothing() -> None:
    assert failed_items("DeleteObjects", [], "could not delete") is None


def test_a_batch_whose_failures_are_all_transient_is_a_503() -> None:
    errors = [{"Key": "a", "Code": "SlowDown"}, {"Key": "b", "Code": "InternalError"}]

    error = failed_items("DeleteObjects", errors, "could not delete")

    assert isinstance(error, ServiceUnavailable) and error.args == ("could not delete",)


def test_a_batch_with_a_refused_item_is_that_item_s_client_error() -> None:
    errors = [{"Key": "a", "Code": "SlowDown"},
              {"Key": "jobs/x/output", "Code": "AccessDenied", "Message": "Access Denied"}]

    error = failed_items("DeleteObjects", errors, "could not delete")

    assert isinstance(error, ClientError) and error.operation_name == "DeleteObjects"
    assert error.response["Error"] == {"Code": "AccessDenied",
                                       "Message": "jobs/x/output: Access Denied"}
