"""The TrueNAS face's framing (chalicelib.faces.truenas.jsonrpc) and how a
connection's first message names its face (chalicelib.faces.sockets), read
against the middleware's ws_handler/rpc.py and utils/limits.py."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.faces import sockets
from chalicelib.faces.native import event_endpoints
from chalicelib.faces.truenas import endpoints, jsonrpc
from chalicelib.faces.truenas.jsonrpc import FrameRefused, FrameTooLarge, read_frame
from local.websocket import TRUENAS_PATH


def refusal(text: str, authenticated: bool = False) -> dict[str, Any] | None:
    with pytest.raises(FrameRefused) as refused:
        read_frame(text, authenticated)
    return refused.value.answer


def test_a_request_keeps_its_id_and_its_type() -> None:
    for request_id in (1, "1", None, 2**53 + 1):
        request = read_frame(json.dumps({"jsonrpc": "2.0", "id": request_id,
                                         "method": "core.ping"}), False)
        assert request.id == request_id and type(request.id) is type(request_id)
        assert request.has_id and request.params == []


def test_a_notification_has_no_id() -> None:
    request = read_frame('{"jsonrpc": "2.0", "method": "core.ping", "params": [1]}', False)

    assert not request.has_id and request.params == [1]


@pytest.mark.parametrize(("text", "message"), [
    ("[]", "Batch messages are not supported at this time"),
    ("5", "Invalid Message Format"),
    ('"text"', "Invalid Message Format"),
])
def test_what_is_no_object_is_a_parse_error_without_an_id(text: str, message: str) -> None:
    assert refusal(text) == {"jsonrpc": "2.0", "id": None,
                             "error": {"code": -32700, "message": message}}


def test_an_invalid_request_without_an_id_is_not_answered() -> None:
    assert refusal('{"jsonrpc": "2.0", "method": "core.ping", "params": {}}') is None
    assert refusal('{"jsonrpc": "1.0", "method": "core.ping"}') is None


def test_limits_are_8_kib_before_login_and_64_kib_after_counted_in_characters() -> None:
    def frame(size: int) -> str:
        head = '{"jsonrpc":"2.0","method":"core.ping","p":"'
        return head + "é" * (size - len(head) - 2) + '"}'

    read_frame(frame(8192), authenticated=False)
    read_frame(frame(65536), authenticated=True)
    with pytest.raises(FrameTooLarge, match="Anonymous connection max message length is 8 kB"):
        read_frame(frame(8193), authenticated=False)
    with pytest.raises(FrameTooLarge, match="Max message length is 64 kB"):
        read_frame(frame(65537), authenticated=True)


def test_an_oversized_frame_before_login_is_closed_even_unparseable() -> None:
    with pytest.raises(FrameTooLarge):
        read_frame("x" * 9000, authenticated=False)


def test_a_call_error_is_shaped_as_the_middlewares() -> None:
    answer = jsonrpc.call_error(4, jsonrpc.NotAuthenticated())

    assert answer == {"jsonrpc": "2.0", "id": 4, "error": {
        "code": -32001, "message": "Method call error",
        "data": {"error": 207, "errname": "ENOTAUTHENTICATED",
                 "reason": "[ENOTAUTHENTICATED] Not authenticated", "trace": None,
                 "extra": None}}}


def test_invalid_params_list_each_problem_with_its_errno() -> None:
    answer = jsonrpc.invalid_params("x", jsonrpc.InvalidParams([["ttl", "too big", 22]]))

    assert answer["error"]["code"] == -32602 and answer["error"]["message"] == "Invalid params"
    assert answer["error"]["data"]["extra"] == [["ttl", "too big", 22]]
    assert answer["error"]["data"]["reason"] == "[EINVAL] ttl: too big"


@pytest.mark.parametrize(("first", "face"), [
    ('{"jsonrpc": "2.0", "id": 1, "method": "core.ping"}', "truenas"),
    ('{"jsonrpc": "1.0"}', "truenas"),  # refused there, in its own words
    ('[{"jsonrpc": "2.0", "id": 1, "method": "core.ping"}]', "truenas"),
    ('{"type": "ping"}', "native"),
    ('{"type": "auth", "note": "jsonrpc"}', "native"),
    ('{"jsonrpc": ', "native"),
    ("[]", "native"),
    (None, "native"),
])
def test_the_first_message_names_the_face(first: str | None, face: str) -> None:
    assert sockets.face_of(first) == face


def test_the_socket_dispatch_names_each_face_as_the_face_does() -> None:
    assert (sockets.NATIVE, sockets.TRUENAS) == (event_endpoints.FACE, endpoints.FACE)


@pytest.mark.parametrize(("path", "served"), [
    ("/api/current", True), ("/api/v25.04.0", True), ("/api/v26.0.0", True),
    ("/api/v25", True), ("/api/", False), ("/api/vX", False), ("/api/current/x", False),
    ("/events", False),
])
def test_the_local_server_serves_the_truenas_paths(path: str, served: bool) -> None:
    assert bool(TRUENAS_PATH.match(path)) is served
