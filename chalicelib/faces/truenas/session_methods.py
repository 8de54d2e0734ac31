"""A TrueNAS session's own methods, answered as the middleware answers them
(plugins/auth.py, service/core_service.py):

    core.set_options [{legacy_jobs, private_methods, py_exceptions}]
                                    -> the three, after the change
    core.ping                       -> "pong"
    auth.mechanism_choices          -> ["API_KEY_PLAIN", "TOKEN_PLAIN"]
    auth.login_ex [{"mechanism": "API_KEY_PLAIN", "username", "api_key"}
                   | {"mechanism": "TOKEN_PLAIN", "token"}]
                                    -> {"response_type": "SUCCESS", "user_info",
                                        "authenticator", "reconnect_token"}
                                       | {"response_type": "AUTH_ERR"}
    auth.login_with_api_key [key], auth.login_with_token [token] -> true | false
    auth.generate_token [ttl, attrs, match_origin, single_use]  -> the token
    auth.me                         -> the caller as a TrueNAS user

All but the last two may be called before login; any other method then is
refused with ENOTAUTHENTICATED (before login, which methods exist is not
told). API_KEY_PLAIN's username is not checked against the key (as Basic's
user part, chalicelib.faces.auth): the key alone names its owner.
"""

from __future__ import annotations

import errno
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from chalicelib.authn import InvalidToken
from chalicelib.caller import Caller
from chalicelib.credentials.shapes import API_KEY, Kind, Malformed, Presented, from_query
from chalicelib.credentials.tokens import MAX_TTL_SECONDS
from chalicelib.events.watchers import Connection
from chalicelib.faces.truenas.jsonrpc import CallError, InvalidParams, NotAuthenticated
from chalicelib.validation import field_errors
from chalicelib.wiring import authenticator, services

log = logging.getLogger("jobapi.truenas")
OPTIONS = {"legacy_jobs": True, "private_methods": False, "py_exceptions": False}
MECHANISMS = ["API_KEY_PLAIN", "TOKEN_PLAIN"]
# TrueNAS's other mechanisms: known, but not offered here.
OTHER_MECHANISMS = ("PASSWORD_PLAIN", "OTP_TOKEN", "SCRAM")
AUTHENTICATOR = "LEVEL_1"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)


class NoParams(Strict):
    pass


class SetOptions(Strict):
    options: dict[str, Any]


class LoginOptions(Strict):
    user_info: bool = True
    reconnect_token: bool = False


class ApiKeyPlain(Strict):
    mechanism: Literal["API_KEY_PLAIN"]
    username: str = Field(max_length=256)
    api_key: str = Field(max_length=1024)
    login_options: LoginOptions = LoginOptions()


class TokenPlain(Strict):
    mechanism: Literal["TOKEN_PLAIN"]
    token: str = Field(max_length=1024)
    login_options: LoginOptions = LoginOptions()


class LoginEx(Strict):
    login_data: dict[str, Any]


class OneSecret(Strict):
    secret: str = Field(max_length=1024)


class GenerateToken(Strict):
    ttl: int | None = Field(MAX_TTL_SECONDS, ge=1, le=MAX_TTL_SECONDS)
    attrs: dict[str, Any] = Field(default_factory=dict)
    match_origin: bool = True  # not kept: behind API Gateway, an origin is no proof
    single_use: bool = False


@dataclass(frozen=True)
class Method:
    params: type[Strict]
    run: Callable[[Connection, Any], Any]
    needs_login: bool = False


def call(connection: Connection, name: str, params: list[Any]) -> Any:
    """The result of session method `name` (one of METHODS)."""
    method = METHODS[name]
    if method.needs_login and connection.caller is None:
        raise NotAuthenticated()
    return method.run(connection, positional(method.params, params))


def positional(model: type[Strict], params: list[Any]) -> Any:
    """`params` onto the model's fields in order, as the middleware maps them."""
    names = list(model.model_fields)
    if len(params) > len(names):
        raise InvalidParams([["", f"Too many arguments (expected {len(names)}, found "
                                  f"{len(params)})", errno.EINVAL]])
    return validated(model, dict(zip(names, params, strict=False)))


def validated(model: type[Strict], data: Any, prefix: str = "") -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidParams([[prefix + problem["field"], problem["message"], errno.EINVAL]
                             for problem in field_errors(exc, model)]) from None


def set_options(connection: Connection, params: SetOptions) -> dict[str, bool]:
    wrong = [name for name in OPTIONS if name in params.options
             and not isinstance(params.options[name], bool)]
    if wrong:
        raise InvalidParams([[f"options.{name}", "Input should be a valid boolean",
                              errno.EINVAL] for name in wrong])
    options = {**options_of(connection),
               **{name: params.options[name] for name in OPTIONS if name in params.options}}
    services().subscribing.set_face(connection, connection.face, options)
    return options


def options_of(connection: Connection) -> dict[str, bool]:
    return {name: bool(connection.options.get(name, default))
            for name, default in OPTIONS.items()}


def login_ex(connection: Connection, params: LoginEx) -> dict[str, Any]:
    mechanism = params.login_data.get("mechanism")
    if mechanism in OTHER_MECHANISMS:
        raise CallError(f"{mechanism}: mechanism is not supported at current authenticator "
                        "level.", errno.EOPNOTSUPP)
    if mechanism == "API_KEY_PLAIN":
        key: ApiKeyPlain = validated(ApiKeyPlain, params.login_data, "login_data.")
        options, presented = key.login_options, api_key(key.api_key)
    elif mechanism == "TOKEN_PLAIN":
        token: TokenPlain = validated(TokenPlain, params.login_data, "login_data.")
        options, presented = token.login_options, short_lived(token.token)
    else:
        raise InvalidParams([["login_data.mechanism", "Input tag does not match any of the "
                              f"expected tags: {', '.join(MECHANISMS)}", errno.EINVAL]])
    caller = logged_in(connection, presented)
    if caller is None:
        return {"response_type": "AUTH_ERR"}
    return {"response_type": "SUCCESS",
            "user_info": user_info(caller) if options.user_info else None,
            "authenticator": AUTHENTICATOR,
            "reconnect_token": reconnect_token(caller) if options.reconnect_token else None}


def login_with_api_key(connection: Connection, params: OneSecret) -> bool:
    return logged_in(connection, api_key(params.secret)) is not None


def login_with_token(connection: Connection, params: OneSecret) -> bool:
    return logged_in(connection, short_lived(params.secret)) is not None


def api_key(value: str) -> Presented | None:
    return Presented(Kind.API_KEY, value) if API_KEY.fullmatch(value) else None


def short_lived(value: str) -> Presented | None:
    try:
        return from_query(value)
    except Malformed:
        return None


def logged_in(connection: Connection, presented: Presented | None) -> Caller | None:
    """The caller the credential proves, now the connection's; None if refused."""
    if presented is None:
        return None
    if connection.caller is not None:
        raise CallError("this connection is logged in already", errno.EINVAL)
    try:
        caller = authenticator().caller(presented)
    except InvalidToken as exc:
        log.warning("login refused: %s", exc)  # the reason, never the credential
        return None
    services().subscribing.authenticate(connection, caller)
    return caller


def generate_token(connection: Connection, params: GenerateToken) -> str:
    caller = logged_in_caller(connection)
    if caller.via == "token":
        raise CallError("TOKEN: the current session type does not support creation of "
                        "authentication tokens.", errno.EOPNOTSUPP)
    if params.attrs.get("job") is not None:
        raise CallError("tokens for a job's file are not issued here yet", errno.EOPNOTSUPP)
    ttl = MAX_TTL_SECONDS if params.ttl is None else params.ttl
    return services().auth_tokens.issue(caller, ttl, params.single_use).token


def reconnect_token(caller: Caller) -> str | None:
    if caller.via == "token":
        return None
    return services().auth_tokens.issue(caller, MAX_TTL_SECONDS, single_use=True).token


def mechanism_choices(connection: Connection, _: NoParams) -> list[str]:
    caller = connection.caller
    if caller is not None and caller.via == "token":  # it may not mint one
        return [m for m in MECHANISMS if m != "TOKEN_PLAIN"]
    return list(MECHANISMS)


def me(connection: Connection, _: NoParams) -> dict[str, Any]:
    return user_info(logged_in_caller(connection))


def user_info(caller: Caller) -> dict[str, Any]:
    """The caller as auth.me shows a user (no Unix account stands behind it)."""
    name = caller.user_id or caller.tenant_id
    return {"pw_name": name, "pw_gecos": name, "pw_dir": "/var/empty",
            "pw_shell": "/usr/sbin/nologin", "pw_uid": None, "pw_gid": None,
            "grouplist": [], "sid": None, "source": "LOCAL", "local": True,
            "attributes": {}, "two_factor_config": {"secret_configured": False},
            "privilege": {"roles": {"$set": sorted(caller.roles)}, "allowlist": [],
                          "web_shell": False},
            "account_attributes": [caller.via.upper()],
            "tenant_id": caller.tenant_id}


def logged_in_caller(connection: Connection) -> Caller:
    if connection.caller is None:
        raise NotAuthenticated()
    return connection.caller


METHODS: dict[str, Method] = {
    "core.set_options": Method(SetOptions, set_options),
    "core.ping": Method(NoParams, lambda connection, _: "pong"),
    "auth.mechanism_choices": Method(NoParams, mechanism_choices),
    "auth.login_ex": Method(LoginEx, login_ex),
    "auth.login_with_api_key": Method(OneSecret, login_with_api_key),
    "auth.login_with_token": Method(OneSecret, login_with_token),
    "auth.generate_token": Method(GenerateToken, generate_token, needs_login=True),
    "auth.me": Method(NoParams, me, needs_login=True),
}
