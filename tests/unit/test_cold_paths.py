"""One app.py is deployed as five functions: each must load only what it runs.
Every probe is a fresh interpreter (bench/cold_paths.py)."""

from __future__ import annotations

from typing import Any

from bench.cold_paths import AUTHORIZE, ENVIRONMENT, PATHS, packages, probe

HEAVY = {"pydantic", "pydantic_core", "boto3", "botocore", "jwt"}
API_ONLY = {"chalicelib.faces.native.endpoints", "chalicelib.listing", "chalicelib.query",
            "chalicelib.views", "chalicelib.faces.native.upload_form",
            "chalicelib.faces.native.requests",  # the REST face's request models
            "chalicelib.faces.truenas", "chalicelib.faces.native.event_endpoints",
            "chalicelib.faces.arangodb", "chalicelib.faces.netapp",
            "chalicelib.faces.cloudsigma", "chalicelib.faces.native.openapi",
            "chalicelib.faces.native.answers", "chalicelib.faces.dashboard"}


def test_importing_the_app_loads_neither_pydantic_nor_boto3() -> None:
    loaded = packages(probe("import app; first = None")["modules"])

    assert "chalice" in loaded
    assert not loaded & HEAVY


def test_a_cold_authorizer_decides_without_pydantic_or_boto3() -> None:
    # It needs the token secret only: no table, bucket or state machine settings.
    only_the_secret = {"JOBS_JWT_SECRET": ENVIRONMENT["JOBS_JWT_SECRET"]}
    allowed = probe(PATHS["authorizer"][0], only_the_secret)
    denied = probe("import app; first = " + AUTHORIZE.replace(
        "os.environ['PROBE_TOKEN']", "'not-a-jwt'"), only_the_secret)

    # Chalice denies with an Allow on no resource (AuthResponse(routes=[])).
    assert statement(allowed)["Effect"] == "Allow" and statement(allowed)["Resource"]
    assert allowed["first"]["context"]["tenant_id"] == "default"
    assert statement(denied)["Resource"] == [] and denied["first"]["context"] == {}
    assert not packages(allowed["modules"]) & (HEAVY - {"jwt"})


def test_a_cold_authorizer_checks_an_api_key_without_pydantic_or_the_api() -> None:
    """Up to its one read: boto3 for DynamoDB, nothing of the API's models."""
    modules = set(probe(PATHS["authorizer, first API key (up to its read)"][0])["modules"])
    loaded = packages(modules)

    assert "boto3" in loaded and not loaded & {"pydantic", "pydantic_core"}
    api = API_ONLY | {"chalicelib.faces.native.credential_endpoints",
                      "chalicelib.credentials.keys"}
    assert {m for m in modules if any(m == a or m.startswith(a + ".") for a in api)} == set()


def statement(probed: dict[str, Any]) -> dict[str, Any]:
    (only,) = probed["first"]["policyDocument"]["Statement"]
    return dict(only)


def test_the_background_functions_never_load_the_api() -> None:
    for function in ("worker, first leaf job", "sweeper", "upload events"):
        modules = set(probe(PATHS[function][0])["modules"])

        assert "boto3" in modules and "chalicelib.store" in modules, function
        assert not modules & API_ONLY, (function, modules & API_ONLY)


def test_the_api_loads_per_route_family_and_never_the_worker() -> None:
    get = set(probe(PATHS["API, first GET /jobs/{id}"][0])["modules"])
    post = set(probe(PATHS["API, first POST /jobs"][0])["modules"])
    listing = set(probe(PATHS["API, first GET /jobs (a list)"][0])["modules"])
    upload = set(probe("import app; first = app.upload_endpoints.upload_file")["modules"])
    query_language = {"chalicelib.listing", "chalicelib.query",
                      "chalicelib.faces.native.list_params", "re2"}

    for modules in (get, post):
        assert {"chalicelib.faces.native.endpoints", "chalicelib.views"} <= modules
        assert not modules & (query_language | {"python_multipart"})
    assert query_language <= listing and "chalicelib.faces.native.endpoints" not in listing
    assert "python_multipart" in upload
    for modules in (get, post, listing, upload):
        assert "chalicelib.worker" not in modules
