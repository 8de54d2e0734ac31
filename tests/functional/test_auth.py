"""Bad credentials (issue 8): every way a token can be wrong gets 401 or 403,
with the same fixed message whatever the reason (nothing that helps an
attacker); /health and the one-time download link need no token."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import jwt
import pytest

from chalicelib.authn import InvalidToken, TokenSettings, TokenVerifier, mint
from chalicelib.faces.auth import Refused
from local.emulated import LOCAL_JWT_SECRET
from local.provision import Provisioned
from tests.helpers import JobsClient, token_for


def unsigned(claims: dict[str, object]) -> str:
    """An `alg: none` token: no signature at all."""
    def part(value: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


def test_every_bad_token_is_refused_with_one_fixed_message(jobs: JobsClient,
                                                          aws: Provisioned) -> None:
    now = int(time.time())
    good_claims = {"sub": "ann", "tenant_id": "acme", "roles": [], "exp": now + 600}
    bad = {
        "malformed": "not.a.jwt",
        "wrong signature": mint("a-different-secret-of-enough-length-0123456789", "acme",
                                "ann", []),
        "expired": token_for(seconds=-120),
        "not yet valid": mint(LOCAL_JWT_SECRET, "acme", "ann", [], not_before=now + 3600),
        "unknown role": mint(LOCAL_JWT_SECRET, "acme", "ann", ["ROOT"]),
        "no tenant": jwt.encode({"sub": "ann", "exp": now + 600}, LOCAL_JWT_SECRET, "HS256"),
        "no expiry": jwt.encode({"sub": "ann", "tenant_id": "acme"}, LOCAL_JWT_SECRET, "HS256"),
        "alg none": unsigned(good_claims),
    }

    answers = {name: jobs.as_caller(token).request("GET", "/jobs") for name, token in
               bad.items()}
    missing = jobs.as_caller(None).request("GET", "/jobs")
    not_bearer = jobs.as_caller(None).request("GET", "/jobs", headers={
        "Authorization": "Basic YW5uOnB3"})

    assert {name: a.status for name, a in answers.items()} == {name: 403 for name in bad}
    # The same words for every reason: API Gateway's answer, in our envelope
    # (the gateway responses of infra/app-merge.json).
    assert {json.dumps(a.body) for a in answers.values()} == {json.dumps(
        {"error": {"code": "forbidden", "message": "the credential was refused"}})}
    assert missing.status == 401 and missing.body == {"error": {
        "code": "unauthorized", "message": "send an Authorization header: Bearer <JWT or API "
        "key>, Basic <user:API key> or Token <token>"}}
    assert not_bearer.status == 403 and not_bearer.body["error"]["code"] == "forbidden"


def test_a_route_that_checks_its_own_credential_answers_as_api_gateway_does() -> None:
    """/_upload has no authorizer (it also takes ?auth_token=): its 401 and
    403 are the gateway responses infra/app-merge.json deploys, word for word."""
    merge = json.loads((Path(__file__).parents[2] / "infra" / "app-merge.json").read_text())
    responses = merge["Resources"]["RestAPI"]["Properties"]["DefinitionBody"][
        "x-amazon-apigateway-gateway-responses"]

    for kind, status in (("UNAUTHORIZED", 401), ("ACCESS_DENIED", 403)):
        deployed = json.loads(responses[kind]["responseTemplates"]["application/json"])
        assert (responses[kind]["statusCode"], deployed) == (str(status), Refused(status).body)


def test_a_path_with_no_route_is_a_404_in_the_error_envelope(jobs: JobsClient) -> None:
    with_token = jobs.request("GET", "/no/such/route")
    without = jobs.as_caller(None).request("GET", "/no/such/route")
    wrong_method = jobs.request("PUT", "/jobs")
    preflight = jobs.request("OPTIONS", "/jobs")  # no route declares CORS

    for answer in (with_token, without, wrong_method, preflight):
        assert answer.status == 404
        assert answer.body == {"error": {"code": "not_found", "message": "no such route"}}
        assert answer.headers["Content-Type"] == "application/json"


def test_health_and_the_download_link_need_no_token(jobs: JobsClient,
                                                    aws: Provisioned) -> None:
    link = jobs.submit("demo.export", {"size": 5},
                       download={"filename": "x"}).body["download_url"]
    anonymous = jobs.as_caller(None)

    assert anonymous.request("GET", "/health").status == 200
    assert anonymous.request("GET", link).status == 302


def test_an_rs256_token_is_verified_against_the_identity_providers_keys() -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    claims = {"sub": "ann", "tenant_id": "acme", "roles": ["USER"],
              "exp": int(time.time()) + 600, "iss": "https://idp.example", "aud": "jobs"}
    token = jwt.encode(claims, key, algorithm="RS256", headers={"kid": "k1"})
    verifier = TokenVerifier(TokenSettings(jwks_url="https://idp.example/jwks",
                                           issuer="https://idp.example", audience="jobs"))

    class Keys:  # the JWKS client, without the network: the provider's public key
        def get_signing_key_from_jwt(self, _: str) -> object:
            return jwt.PyJWK.from_dict({**json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(
                key.public_key())), "kid": "k1", "alg": "RS256"})

    verifier._jwks = Keys()  # type: ignore[assignment]
    caller = verifier.principal(f"Bearer {token}")
    hs256_forgery = jwt.encode(claims, "guess", algorithm="HS256")

    assert (caller.tenant_id, caller.user_id) == ("acme", "ann")
    with pytest.raises(InvalidToken, match="InvalidAlgorithmError"):
        verifier.principal(f"Bearer {hs256_forgery}")  # only RS256 is accepted
    wrong_audience = jwt.encode({**claims, "aud": "other"}, key, algorithm="RS256",
                                headers={"kid": "k1"})
    with pytest.raises(InvalidToken):
        verifier.principal(f"Bearer {wrong_audience}")
