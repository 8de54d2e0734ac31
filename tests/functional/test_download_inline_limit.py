"""/_download at its default inline limit (issue 18, item 8): a file of up
to 4 MiB is answered 200 with its bytes to a client that takes binary (its
base64 stays under Lambda's 6 MB answer), one byte more is a 302; a client
that sends no Accept header at all (urllib, some scripts) takes no binary
as Chalice reads it, so it gets the 302 whatever the size, and loses nothing."""

from __future__ import annotations

import json

import requests
from chalice.local import LambdaContext, LambdaEventConverter, RouteMatcher
from chalice.test import Client

import app as job_app
from chalicelib.methods.demo import export_bytes
from chalicelib.settings import MAX_INLINE_DOWNLOAD_BYTES
from chalicelib.wiring import services
from local.provision import Provisioned
from tests.functional.test_downloads import export, fetch
from tests.helpers import JobsClient, wait_until

FOUR_MIB = 4 * 1024 * 1024
LAMBDA_ANSWER_BYTES = 6 * 1024 * 1024  # a synchronous invocation's answer, at most


def test_the_default_limit_is_four_mib_and_the_largest_inline_answer_fits_lambda(
    jobs: JobsClient, aws: Provisioned
) -> None:
    """What the Lambda returns to API Gateway for a file of exactly 4 MiB."""
    assert services().settings.download_inline_bytes == MAX_INLINE_DOWNLOAD_BYTES == FOUR_MIB
    job = export(jobs, size=FOUR_MIB, seed="lambda")
    wait_until(lambda: jobs.get(job["id"]).body,
               lambda j: j["download"]["state"] == "READY", timeout=60)
    converter = LambdaEventConverter(RouteMatcher(list(job_app.app.routes)),
                                     job_app.app.api.binary_types)
    event = converter.create_lambda_event("GET", job["download_url"], {"Accept": "*/*"})

    answer = job_app.app(event, LambdaContext("api_handler", 512, max_runtime_ms=30_000))

    assert answer["statusCode"] == 200 and answer["isBase64Encoded"] is True
    assert len(json.dumps(answer)) < LAMBDA_ANSWER_BYTES


def test_a_file_of_exactly_four_mib_is_inline_and_one_byte_more_is_redirected(
    jobs: JobsClient, client: Client, aws: Provisioned
) -> None:
    at_limit = export(jobs, size=FOUR_MIB, seed="at")
    over_limit = export(jobs, size=FOUR_MIB + 1, seed="over")

    inline = fetch(client, at_limit["download_url"])  # Accept: */* (long poll)
    over = fetch(client, over_limit["download_url"])
    fetched = requests.get(over.headers["Location"], timeout=60)

    assert inline.status_code == 200 and inline.body == b"".join(export_bytes(FOUR_MIB, "at"))
    assert inline.headers["Content-Type"] == "application/octet-stream"
    assert over.status_code == 302 and over.headers["Cache-Control"] == "no-store"
    assert fetched.content == b"".join(export_bytes(FOUR_MIB + 1, "over"))
    assert fetch(client, at_limit["download_url"]).status_code == 410  # once only


def test_a_client_sending_no_accept_header_is_redirected_even_for_a_small_file(
    jobs: JobsClient, client: Client, aws: Provisioned
) -> None:
    job = export(jobs, size=100, seed="bare")
    octets = export(jobs, size=100, seed="octets")

    bare = fetch(client, job["download_url"], accept=None)
    fetched = requests.get(bare.headers["Location"], timeout=10)
    named = fetch(client, octets["download_url"], accept="application/octet-stream")

    assert bare.status_code == 302 and fetched.content == b"".join(export_bytes(100, "bare"))
    assert jobs.wait_for(job["id"])["download"]["state"] == "CLAIMED"
    assert named.status_code == 200 and named.body == b"".join(export_bytes(100, "octets"))
