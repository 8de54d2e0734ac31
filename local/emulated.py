"""AWS emulated in this process, set up one way for the tests and the benchmarks:
moto with the real state machine executing, the resources made from
infra/template.yaml, and our worker behind moto's Lambda (local/seam.py)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

from local.provision import Provisioned, provision

MOTO_CONFIG = {
    "stepfunctions": {"execute_state_machine": True},
    "lambda": {"use_docker": False},
}
# Signs the bearer tokens of the local server, the tests and the benchmarks
# (`make token` mints with it too). Never used by a deployed stage, which
# sets JOBS_JWT_SECRET or JOBS_JWKS_URL.
LOCAL_JWT_SECRET = "local-development-only-jwt-secret-not-for-deployments"
# Keys the hashes of API keys and tokens in the tests and benchmarks; the
# local server draws one per run (its moto tables die with it anyway).
LOCAL_CREDENTIAL_SECRET = "local-development-only-credential-secret"
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}


def use_fake_credentials() -> None:
    """Never reach a real account: fake keys, no profile, no endpoint override."""
    os.environ.update(FAKE_CREDENTIALS)
    os.environ.pop("AWS_ENDPOINT_URL", None)
    os.environ.pop("AWS_PROFILE", None)


@contextmanager
def emulated_aws(environment: dict[str, str] | None = None) -> Iterator[Provisioned]:
    """A fresh moto account with everything provisioned and the app wired to it;
    the environment is restored on exit."""
    from moto import mock_aws

    import app as job_app
    from chalicelib import wiring
    from chalicelib.aws import AwsClients
    from local import seam, streams

    use_fake_credentials()
    saved = dict(os.environ)
    with mock_aws(config=cast(Any, MOTO_CONFIG)):  # moto types its config narrowly
        provisioned = provision(AwsClients())
        os.environ.update(provisioned.environment(), JOBS_JWT_SECRET=LOCAL_JWT_SECRET,
                          JOBS_CREDENTIAL_SECRET=LOCAL_CREDENTIAL_SECRET, **(environment or {}))
        wiring.reset()
        seam.install({provisioned.worker_function: job_app.worker}, [job_app.upload_landed])
        try:
            yield provisioned
        finally:
            seam.uninstall()
            streams.forget_pending()  # the next account's stream starts afresh
            wiring.reset()
            os.environ.clear()
            os.environ.update(saved)
