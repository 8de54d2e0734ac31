"""What a client presented, told apart by shape before anything is read
(chalicelib.credentials.shapes), and the keyed hash (hashing)."""

from __future__ import annotations

import base64
import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.credentials import shapes
from chalicelib.credentials.hashing import NO_RECORD_HASH, SecretHasher
from chalicelib.credentials.shapes import Kind, Malformed, from_header, from_query

KEY = f"1234567890123456-{'a1B2' * 16}"
TOKEN = "jtm_" + "x" * 48
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln"


def basic(text: str) -> str:
    return "Basic " + base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize(("header", "kind", "value", "user"), [
    (f"Bearer {JWT}", Kind.JWT, JWT, None),
    (f"bearer   {KEY}", Kind.API_KEY, KEY, None),
    (f"Bearer {TOKEN}", Kind.TOKEN, TOKEN, None),
    (basic(f"ann:{KEY}"), Kind.API_KEY, KEY, "ann"),
    (basic(f":{KEY}"), Kind.API_KEY, KEY, ""),
    (basic(f"a:b:{TOKEN}"), None, None, None),  # the password is "b:<token>": no
    (f"Token {TOKEN}", Kind.TOKEN, TOKEN, None),
])
def test_each_accepted_form_is_told_apart_by_its_shape(header: str, kind: Kind | None,
                                                       value: str | None,
                                                       user: str | None) -> None:
    if kind is None:
        with pytest.raises(Malformed):
            from_header(header)
        return
    presented = from_header(header)
    assert (presented.kind, presented.value, presented.basic_user) == (kind, value, user)


def test_a_key_names_its_id_and_secret_and_a_token_whether_it_is_single_use() -> None:
    key = from_header(f"Bearer {KEY}")
    single = from_query("jts_" + "y" * 48)

    assert (key.key_id, key.key_secret) == (1234567890123456, "a1B2" * 16)
    assert single.single_use and not from_query(TOKEN).single_use


@pytest.mark.parametrize("header", [
    None, "", "Bearer", "Bearer ", "Digest abc", f"Token {KEY}", "Basic %%%",
    basic("no colon"), "Basic " + base64.b64encode(b"a:\xff").decode(), basic("ann:hunter2"),
    f"Bearer 0123-{'a' * 64}", f"Bearer 12-{'a' * 63}", f"Bearer 12-{'a' * 65}",
    f"Bearer 12-{'a' * 63}_", "Bearer " + "a" * 9000, f"Bearer {TOKEN}x", "Token jtx_" + "x" * 48,
])
def test_anything_else_is_malformed(header: str | None) -> None:
    with pytest.raises(Malformed):
        from_header(header)


@given(st.text(max_size=300))
def test_any_header_text_is_read_or_refused_as_malformed_and_nothing_else(header: str) -> None:
    with contextlib.suppress(Malformed):
        assert from_header(header).kind in set(Kind)


def test_basics_user_part_is_logged_only_when_it_cannot_be_a_secret() -> None:
    assert shapes.loggable_user("ann") == "'ann'"
    assert shapes.loggable_user(KEY) == shapes.loggable_user(f"x{TOKEN}") == "[hidden]"
    assert shapes.loggable_user("u" * 65) == "[hidden]" and shapes.loggable_user(None) == "-"


def test_new_credentials_have_the_shapes_the_parser_accepts() -> None:
    key_id = shapes.new_key_id()
    key = f"{key_id}-{shapes.new_key_secret()}"

    assert from_header(f"Bearer {key}").key_id == key_id < 2**53
    assert len(str(key_id)) == 16
    for single_use in (True, False):
        token = shapes.new_token(single_use)
        assert from_query(token).single_use is single_use


def test_the_keyed_hash_depends_on_the_key_and_never_matches_the_stand_in() -> None:
    one, other = SecretHasher(b"k" * 32), SecretHasher(b"j" * 32)

    assert one.digest("s") != other.digest("s") and len(one.digest("s")) == 64
    assert one.matches("s", one.digest("s")) and not one.matches("s", other.digest("s"))
    assert not one.matches("", NO_RECORD_HASH)
    with pytest.raises(RuntimeError):
        SecretHasher(b"short")
