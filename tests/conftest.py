"""Fixtures shared by every test: moto in-process with the real state machine
executing, resources made from infra/template.yaml, and our worker behind
moto's Lambda (local/seam.py)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from moto import mock_aws

os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_SECURITY_TOKEN="testing",
    AWS_SESSION_TOKEN="testing",
    AWS_DEFAULT_REGION="us-east-1",
    AWS_REGION="us-east-1",
)
os.environ.pop("AWS_ENDPOINT_URL", None)
os.environ.pop("AWS_PROFILE", None)

from chalice.test import Client

import app as job_app
from chalicelib import wiring
from chalicelib.aws import AwsClients
from local import seam
from local.provision import Provisioned, provision
from local.server import MOTO_CONFIG
from tests import methods_for_tests  # noqa: F401  (registers the test.* methods)
from tests.helpers import JobsClient


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Provisioned]:
    with mock_aws(config=MOTO_CONFIG):
        provisioned = provision(AwsClients())
        for name, value in provisioned.environment().items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("JOBS_PROGRESS_INTERVAL", "0.2")
        wiring.reset()
        seam.install({provisioned.worker_function: job_app.worker})
        try:
            yield provisioned
        finally:
            seam.uninstall()
            wiring.reset()


@pytest.fixture
def client(aws: Provisioned) -> Iterator[Client]:
    with Client(job_app.app, stage_name="local") as chalice_client:
        yield chalice_client


@pytest.fixture
def jobs(client: Client) -> JobsClient:
    return JobsClient(client)
