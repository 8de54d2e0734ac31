"""Fixtures shared by every test: moto in-process with the real state machine
executing, resources made from infra/template.yaml, and our worker behind
moto's Lambda (local/seam.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from local.emulated import emulated_aws, use_fake_credentials

use_fake_credentials()

from chalice.test import Client  # noqa: E402  (after the fake credentials)

import app as job_app  # noqa: E402
from local import gateway  # noqa: E402
from local.provision import Provisioned  # noqa: E402
from tests import methods_for_tests  # noqa: E402, F401  (registers the test.* methods)
from tests.helpers import JobsClient  # noqa: E402

gateway.install()  # API Gateway's own answers, as infra/app-merge.json deploys them


@pytest.fixture
def aws() -> Iterator[Provisioned]:
    # Short enough that a test sees an unused upload URL abort its job.
    with emulated_aws({"JOBS_PROGRESS_INTERVAL": "0.2",
                       "JOBS_UPLOAD_GRACE_SECONDS": "1"}) as provisioned:
        yield provisioned


@pytest.fixture
def client(aws: Provisioned) -> Iterator[Client]:
    with Client(job_app.app, stage_name="local") as chalice_client:
        yield chalice_client


@pytest.fixture
def jobs(client: Client) -> JobsClient:
    return JobsClient(client)
