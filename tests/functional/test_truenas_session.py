"""The TrueNAS face's session layer (issue 18), raw JSON-RPC 2.0 frames
through the app's WebSocket handlers as API Gateway calls them, the answers
read from the management API's calls: framing, the middleware's error
shapes, frame limits, login with an API key or a token, generate_token."""

from __future__ import annotations

import errno
import json
from collections.abc import Iterator
from typing import Any

import pytest
from chalice.test import Client

from chalicelib.wiring import services
from local.emulated import emulated_aws
from local.provision import Provisioned
from tests.helpers import CallRecorder, JobsClient, token_for
from tests.sockets import ENDPOINT, Watcher, recording_sends

NOT_AUTHENTICATED = {"error": 207, "errname": "ENOTAUTHENTICATED",
                     "reason": "[ENOTAUTHENTICATED] Not authenticated", "trace": None,
                     "extra": None}


@pytest.fixture
def aws() -> Iterator[Provisioned]:
    with emulated_aws({"JOBS_EVENTS_ENDPOINT": ENDPOINT}) as provisioned:
        yield provisioned


@pytest.fixture(autouse=True)
def sent(aws: Provisioned) -> CallRecorder:
    return recording_sends()


@pytest.fixture
def api_key(client: Client) -> str:
    answer = JobsClient(client, token_for("acme", "ann")).request(
        "POST", "/api_keys", {"name": "nas script"})
    assert answer.status == 201, answer.body
    return str(answer.body["key"])


class Nas(Watcher):
    """A TrueNAS client's connection: no credential at connect."""

    def call(self, method: str, *params: Any, id: Any = 1) -> dict[str, Any]:
        (answer,) = self.send({"jsonrpc": "2.0", "id": id, "method": method,
                               "params": list(params)})
        return answer

    def logged_in(self, api_key: str) -> Nas:
        assert self.call("auth.login_with_api_key", api_key)["result"] is True
        return self


def error_of(answer: dict[str, Any]) -> dict[str, Any]:
    assert set(answer) == {"jsonrpc", "error", "id"} and answer["jsonrpc"] == "2.0"
    return dict(answer["error"])


def test_core_ping_answers_pong_echoing_an_integer_id_as_an_integer() -> None:
    nas = Nas()

    assert nas.connected == {"statusCode": 200}
    assert nas.call("core.ping", id=7) == {"jsonrpc": "2.0", "result": "pong", "id": 7}


def test_a_string_id_is_echoed_as_a_string_and_missing_params_mean_none() -> None:
    (answer,) = Nas().send({"jsonrpc": "2.0", "id": "7", "method": "core.ping"})

    assert answer == {"jsonrpc": "2.0", "result": "pong", "id": "7"}


def test_the_first_frame_makes_the_connection_truenas_for_good() -> None:
    nas = Nas()
    nas.call("core.ping")

    (native_frame,) = nas.send({"type": "ping", "id": "p"})

    assert services().subscribing.connection(nas.id).face == "truenas"  # type: ignore[union-attr]
    assert native_frame == {"jsonrpc": "2.0", "id": "p", "error": {
        "code": -32600, "message": "Missing 'jsonrpc' member"}}  # not the native face's pong


def test_params_that_are_not_a_list_are_an_invalid_request() -> None:
    (answer,) = Nas().send({"jsonrpc": "2.0", "id": 3, "method": "core.ping", "params": {}})

    assert answer == {"jsonrpc": "2.0", "id": 3, "error": {
        "code": -32600, "message": "'params' member must be of type array"}}


@pytest.mark.parametrize(("frame", "message"), [
    ({"jsonrpc": "1.0", "id": 1, "method": "core.ping"},
     "'jsonrpc' member must be of type string and must be exactly '2.0'"),
    ({"jsonrpc": "2.0", "id": 1}, "Missing 'method' member"),
    ({"jsonrpc": "2.0", "id": 1, "method": ""}, "'method' member must be of type string"),
    ({"jsonrpc": "2.0", "id": 1.5, "method": "core.ping"},
     "'id' member must be of type null, string or number"),
])
def test_a_request_that_is_not_json_rpc_2_is_refused_with_its_id(frame: dict[str, Any],
                                                                 message: str) -> None:
    nas = Nas()
    nas.call("core.ping")

    (answer,) = nas.send(frame)

    assert answer == {"jsonrpc": "2.0", "id": frame["id"],
                      "error": {"code": -32600, "message": message}}


def test_a_batch_is_refused_as_the_middleware_refuses_it() -> None:
    (answer,) = Nas().send([{"jsonrpc": "2.0", "id": 1, "method": "core.ping"}])

    assert answer == {"jsonrpc": "2.0", "id": None, "error": {
        "code": -32700, "message": "Batch messages are not supported at this time"}}


def test_invalid_json_is_a_parse_error_and_the_connection_stays() -> None:
    nas = Nas()
    nas.call("core.ping")

    (answer,) = nas.send('{"jsonrpc": "2.0", "id": 1,')

    assert answer["id"] is None and error_of(answer)["code"] == -32700
    assert error_of(answer)["message"].startswith("Expecting")
    assert not nas.closed and nas.call("core.ping")["result"] == "pong"


def test_a_notification_runs_unanswered() -> None:
    nas = Nas()

    assert nas.send({"jsonrpc": "2.0", "method": "core.set_options",
                     "params": [{"legacy_jobs": False}]}) == []
    assert nas.call("core.set_options", {})["result"]["legacy_jobs"] is False


def test_a_malformed_notification_gets_no_answer() -> None:
    nas = Nas()
    nas.call("core.ping")

    assert nas.send({"jsonrpc": "2.0", "method": "core.ping", "params": "x"}) == []


def test_any_other_method_before_login_is_not_authenticated() -> None:
    nas = Nas()

    for method in ("demo.sleep", "core.get_jobs", "auth.generate_token", "auth.me"):
        answer = nas.call(method, id=9)
        assert answer["id"] == 9
        assert error_of(answer) == {"code": -32001, "message": "Method call error",
                                    "data": NOT_AUTHENTICATED}


def test_after_login_an_unknown_method_does_not_exist(api_key: str) -> None:
    nas = Nas().logged_in(api_key)

    assert error_of(nas.call("no.such_method")) == {"code": -32601,
                                                    "message": "Method does not exist"}


def test_set_options_answers_all_three_keeps_them_and_ignores_unknown_keys() -> None:
    nas = Nas()

    first = nas.call("core.set_options", {"py_exceptions": True, "unknown": 1})["result"]
    second = nas.call("core.set_options", {"legacy_jobs": False})["result"]

    assert first == {"legacy_jobs": True, "private_methods": False, "py_exceptions": True}
    assert second == {"legacy_jobs": False, "private_methods": False, "py_exceptions": True}


def test_set_options_with_a_non_boolean_is_invalid_params() -> None:
    error = error_of(Nas().call("core.set_options", {"legacy_jobs": "yes"}))

    assert error["code"] == -32602 and error["message"] == "Invalid params"
    assert error["data"]["error"] == 22 and error["data"]["errname"] == "EINVAL"
    assert error["data"]["extra"] == [["options.legacy_jobs", "Input should be a valid boolean",
                                       22]]


def test_too_many_params_are_invalid_params() -> None:
    error = error_of(Nas().call("core.ping", 1))

    assert error["code"] == -32602
    assert error["data"]["extra"] == [["", "Too many arguments (expected 0, found 1)", 22]]


def test_login_ex_with_an_api_key_answers_success_with_user_info(api_key: str) -> None:
    nas = Nas()

    result = nas.call("auth.login_ex", {"mechanism": "API_KEY_PLAIN", "username": "ann",
                                        "api_key": api_key})["result"]

    assert result["response_type"] == "SUCCESS" and result["authenticator"] == "LEVEL_1"
    assert result["reconnect_token"] is None
    assert result["user_info"]["pw_name"] == "ann"
    assert result["user_info"]["account_attributes"] == ["API_KEY"]
    assert nas.call("auth.me")["result"] == result["user_info"]
    connection = services().subscribing.connection(nas.id)
    assert connection is not None and connection.face == "truenas"
    assert connection.caller is not None and connection.caller.user_id == "ann"


def test_login_ex_without_user_info_answers_none(api_key: str) -> None:
    result = Nas().call("auth.login_ex", {"mechanism": "API_KEY_PLAIN", "username": "ann",
                                          "api_key": api_key,
                                          "login_options": {"user_info": False}})["result"]

    assert result["response_type"] == "SUCCESS" and result["user_info"] is None


def test_a_wrong_key_is_auth_err_and_false_and_the_session_stays_anonymous(
    api_key: str
) -> None:
    wrong = api_key[:-1] + ("a" if api_key[-1] != "a" else "b")
    nas = Nas()

    assert nas.call("auth.login_ex", {"mechanism": "API_KEY_PLAIN", "username": "ann",
                                      "api_key": wrong})["result"] == {"response_type": "AUTH_ERR"}
    assert nas.call("auth.login_with_api_key", wrong)["result"] is False
    assert nas.call("auth.login_with_api_key", "not a key")["result"] is False
    assert error_of(nas.call("auth.me"))["data"] == NOT_AUTHENTICATED


def test_a_password_login_is_not_offered() -> None:
    nas = Nas()

    error = error_of(nas.call("auth.login_ex", {"mechanism": "PASSWORD_PLAIN",
                                                "username": "root", "password": "x"}))

    assert error["code"] == -32001 and error["data"]["error"] == errno.EOPNOTSUPP
    assert nas.call("auth.mechanism_choices")["result"] == ["API_KEY_PLAIN", "TOKEN_PLAIN"]


def test_a_generated_token_logs_in_another_connection(api_key: str) -> None:
    token = Nas().logged_in(api_key).call("auth.generate_token")["result"]
    other = Nas()

    assert isinstance(token, str) and token.startswith("jtm_")
    assert other.call("auth.login_with_token", token)["result"] is True
    assert other.call("auth.me")["result"]["account_attributes"] == ["TOKEN"]
    assert other.call("auth.mechanism_choices")["result"] == ["API_KEY_PLAIN"]


def test_a_single_use_token_logs_in_once_through_login_ex(api_key: str) -> None:
    token = Nas().logged_in(api_key).call("auth.generate_token", 60, {}, True,
                                          True)["result"]
    login = {"mechanism": "TOKEN_PLAIN", "token": token}

    assert Nas().call("auth.login_ex", login)["result"]["response_type"] == "SUCCESS"
    assert Nas().call("auth.login_ex", login)["result"] == {"response_type": "AUTH_ERR"}
    assert Nas().call("auth.login_with_token", "jts_nope")["result"] is False


def test_a_token_session_may_not_mint_a_token(api_key: str) -> None:
    token = Nas().logged_in(api_key).call("auth.generate_token")["result"]
    nas = Nas()
    nas.call("auth.login_with_token", token)

    error = error_of(nas.call("auth.generate_token"))

    assert error["code"] == -32001 and error["data"]["error"] == errno.EOPNOTSUPP


def test_a_token_lives_at_most_600_seconds(api_key: str) -> None:
    error = error_of(Nas().logged_in(api_key).call("auth.generate_token", 3600))

    assert error["code"] == -32602 and error["data"]["extra"][0][0] == "ttl"


def test_a_second_login_on_one_connection_is_refused(api_key: str) -> None:
    error = error_of(Nas().logged_in(api_key).call("auth.login_with_api_key", api_key))

    assert error["code"] == -32001 and error["data"]["errname"] == "EINVAL"


def test_a_frame_over_8_kib_before_login_closes_the_connection() -> None:
    nas = Nas()
    frame = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "core.ping",
                        "params": [], "pad": "x" * 8192})

    assert nas.send(frame) == [] and nas.closed


def test_after_login_a_frame_up_to_64_kib_is_read_and_over_it_closes(api_key: str) -> None:
    nas = Nas().logged_in(api_key)
    frame = {"jsonrpc": "2.0", "id": 1, "method": "core.set_options", "params": [{}]}
    padding = 60_000 - len(json.dumps(frame))

    assert nas.send({**frame, "params": [{"pad": "x" * padding}]})[0]["id"] == 1
    assert not nas.closed
    assert nas.send({**frame, "params": [{"pad": "x" * 65_536}]}) == [] and nas.closed


def test_a_native_first_frame_keeps_the_native_face(client: Client) -> None:
    watcher = Watcher(f"Bearer {token_for('acme', 'ann')}")

    assert watcher.send({"type": "ping"}) == [{"type": "pong"}]
    assert services().subscribing.connection(watcher.id).face == "native"  # type: ignore[union-attr]


def test_two_first_frames_at_once_decide_the_face_once() -> None:
    subscribing = services().subscribing
    subscribing.connect("racer0000000001=", "undecided", None)
    seen = subscribing.connection("racer0000000001=")
    assert seen is not None

    first = subscribing.set_face(seen, "truenas", {"legacy_jobs": False})
    second = subscribing.set_face(seen, "native")  # read before the first one wrote

    assert first is not None and first.face == "truenas"
    assert second is not None and second.face == "truenas"
    assert second.options == {"legacy_jobs": False}
    assert subscribing.set_face(seen, "native") == second
