"""infra/edge.yaml, the one CloudFront host in front of both APIs, read as
CloudFront would route: every WebSocket path a client uses reaches the
WebSocket API at its stage, every other path the REST API, nothing is
cached, and the handshake's headers and credentials reach the origin."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from local.provision import load_template

EDGE = Path(__file__).resolve().parents[2] / "infra" / "edge.yaml"
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
# CloudFront's managed origin request policies: what each forwards of the
# viewer's headers (with caching disabled, Authorization included).
MANAGED_ORIGIN_REQUEST_POLICIES = {
    "216adef6-5c7f-47e4-b989-5492eafa07d3": ("allViewer", frozenset()),  # AllViewer
    "b689b0a8-53d0-40ab-baf2-68738e2966ac": ("allExcept", frozenset({"host"})),
}
WEBSOCKET_PATHS = ["/api/current", "/api/v25.04.0", "/api/v27.0.0", "/events"]
REST_PATHS = ["/_download/x", "/_upload", "/jobs", "/jobs/abc", "/health", "/api_keys",
              "/api/2.0/jobs/", "/v2.1/jobs", "/_api/job/7", "/events/x", "/api/currently"]
HANDSHAKE_HEADERS = ["Sec-WebSocket-Key", "Sec-WebSocket-Version", "Sec-WebSocket-Protocol",
                     "Sec-WebSocket-Extensions", "Authorization"]


@cache
def template() -> dict[str, Any]:
    return load_template(EDGE)


def distribution() -> dict[str, Any]:
    resources = template()["Resources"]
    [config] = [r["Properties"]["DistributionConfig"] for r in resources.values()
                if r["Type"] == "AWS::CloudFront::Distribution"]
    return dict(config)


def behaviors() -> list[dict[str, Any]]:
    """In CloudFront's order: the path patterns as listed, the default last."""
    config = distribution()
    return [*config.get("CacheBehaviors", []), config["DefaultCacheBehavior"]]


def pattern_matches(pattern: str, path: str) -> bool:
    """A CloudFront path pattern: `*` any run of characters (slashes too), `?`
    exactly one, everything else literal and case-sensitive; a pattern
    without its leading slash means the same."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c)
                    for c in "/" + pattern.lstrip("/"))
    return re.fullmatch(regex, path) is not None


def behavior_for(path: str) -> dict[str, Any]:
    for behavior in behaviors():
        if "PathPattern" not in behavior or pattern_matches(behavior["PathPattern"], path):
            return behavior
    raise AssertionError("no default behavior")


def origin_of(api_parameter: str) -> dict[str, Any]:
    """The origin whose host is the API the parameter names."""
    [origin] = [o for o in distribution()["Origins"]
                if o["DomainName"]["Fn::Sub"].startswith("${" + api_parameter + "}.execute-api.")]
    return dict(origin)


def forwards(policy_id: Any, header: str) -> bool:
    """Whether the origin request policy sends the viewer's `header` on."""
    if isinstance(policy_id, dict):  # a policy of the template's own
        resource = template()["Resources"][policy_id["Ref"]]
        headers = resource["Properties"]["OriginRequestPolicyConfig"]["HeadersConfig"]
        behavior = headers["HeaderBehavior"]
        listed = frozenset(h.lower() for h in headers.get("Headers", []))
    else:
        behavior, listed = MANAGED_ORIGIN_REQUEST_POLICIES[policy_id]
    name = header.lower()
    return {"allViewer": True, "allViewerAndWhitelistCloudFront": True,
            "allExcept": name not in listed, "whitelist": name in listed}.get(behavior, False)


@pytest.mark.parametrize("path", WEBSOCKET_PATHS)
def test_every_websocket_path_goes_to_the_websocket_api(path: str) -> None:
    assert behavior_for(path)["TargetOriginId"] == origin_of("WebSocketApiId")["Id"]


@pytest.mark.parametrize("path", REST_PATHS)
def test_every_other_path_goes_to_the_rest_api(path: str) -> None:
    assert behavior_for(path)["TargetOriginId"] == origin_of("RestApiId")["Id"]


def test_the_default_behavior_is_the_rest_api_with_every_method() -> None:
    default = distribution()["DefaultCacheBehavior"]

    assert default["TargetOriginId"] == origin_of("RestApiId")["Id"]
    assert {"GET", "POST", "DELETE", "PUT", "PATCH"} <= set(default["AllowedMethods"])


def test_no_behavior_caches() -> None:
    assert [b["CachePolicyId"] for b in behaviors()] == [CACHING_DISABLED] * len(behaviors())
    assert all("ForwardedValues" not in b and "DefaultTTL" not in b for b in behaviors())


@pytest.mark.parametrize("path", WEBSOCKET_PATHS)
@pytest.mark.parametrize("header", HANDSHAKE_HEADERS)
def test_the_websocket_behaviors_forward_the_handshake_and_the_credential(
    path: str, header: str
) -> None:
    assert forwards(behavior_for(path)["OriginRequestPolicyId"], header)


@pytest.mark.parametrize("path", ["/jobs", *WEBSOCKET_PATHS])
def test_no_behavior_forwards_the_viewers_host(path: str) -> None:
    policy = behavior_for(path)["OriginRequestPolicyId"]

    assert forwards(policy, "Authorization")
    assert not forwards(policy, "Host")  # API Gateway routes on its own host name


def test_both_origins_are_their_api_stage_over_https() -> None:
    rest, websocket = origin_of("RestApiId"), origin_of("WebSocketApiId")

    assert rest["OriginPath"] == {"Fn::Sub": "/${RestApiStage}"}
    assert websocket["OriginPath"] == {"Fn::Sub": "/${WebSocketApiStage}"}
    for origin in (rest, websocket):
        assert origin["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"


def test_viewers_speak_tls_only() -> None:
    assert {b["ViewerProtocolPolicy"] for b in behaviors()} == {"https-only"}


def websocket_function() -> dict[str, Any]:
    [function] = [r["Properties"] for r in template()["Resources"].values()
                  if r["Type"] == "AWS::CloudFront::Function"]
    return dict(function)


@pytest.mark.parametrize("path", WEBSOCKET_PATHS)
def test_every_websocket_path_runs_the_path_function_on_viewer_request(path: str) -> None:
    [association] = behavior_for(path)["FunctionAssociations"]

    assert association["EventType"] == "viewer-request"
    assert association["FunctionARN"]["Fn::GetAtt"][0] in template()["Resources"]
    assert websocket_function()["FunctionConfig"]["Runtime"] == "cloudfront-js-2.0"


def test_the_rest_api_runs_no_function() -> None:
    assert "FunctionAssociations" not in distribution()["DefaultCacheBehavior"]


# Runs a CloudFront Function's code on viewer-request events, as CloudFront
# would (a `handler(event)` returning the request), under Node.js.
NODE_HARNESS = """
const vm = require('vm');
const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const context = vm.createContext({});
vm.runInContext(input.code, context);
process.stdout.write(JSON.stringify(input.events.map((e) => context.handler(e))));
"""


def viewer_request(path: str) -> dict[str, Any]:
    return {"version": "1.0",
            "context": {"eventType": "viewer-request", "distributionId": "EDFDVBD6EXAMPLE"},
            "viewer": {"ip": "198.51.100.7"},
            "request": {"method": "GET", "uri": path,
                        "querystring": {"auth_token": {"value": "t0ken"}},
                        "headers": {"sec-websocket-key": {"value": "dGhlIHNhbXBsZSBub25jZQ=="},
                                    "upgrade": {"value": "websocket"}},
                        "cookies": {}}}


def run_function(paths: list[str]) -> list[dict[str, Any]]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    payload = {"code": websocket_function()["FunctionCode"],
               "events": [viewer_request(p) for p in paths]}
    done = subprocess.run([node, "-e", NODE_HARNESS], input=json.dumps(payload),
                          capture_output=True, text=True, timeout=30, check=True)
    answers: list[dict[str, Any]] = json.loads(done.stdout)
    return answers


def test_the_function_sends_every_websocket_path_to_the_stage_itself() -> None:
    requests = run_function(WEBSOCKET_PATHS)

    # Behind the origin path /<stage>: the WebSocket API sees /<stage>/.
    assert [r["uri"] for r in requests] == ["/"] * len(WEBSOCKET_PATHS)


def test_the_function_keeps_the_query_and_the_handshake() -> None:
    [request] = run_function(["/api/current"])
    sent = viewer_request("/api/current")["request"]

    assert request["querystring"] == sent["querystring"]
    assert request["headers"] == sent["headers"]
    assert request["method"] == "GET"
