"""One-time download links: random tokens, kept only as their hash."""

from __future__ import annotations

import hashlib

import pytest

from chalicelib import download_links
from chalicelib.download_links import (
    download_path,
    new_token,
    token_hash,
    token_matches,
    well_formed,
)


def test_a_new_token_is_256_random_bits_in_url_safe_base64() -> None:
    tokens = {new_token() for _ in range(50)}

    assert len(tokens) == 50
    assert all(len(token) == 43 and well_formed(token) for token in tokens)


def test_a_token_is_kept_as_its_sha256() -> None:
    assert token_hash("abc") == hashlib.sha256(b"abc").hexdigest()


def test_a_token_matches_only_the_hash_of_itself() -> None:
    token = new_token()

    assert token_matches(token, token_hash(token))
    assert not token_matches(token + "x", token_hash(token))
    assert not token_matches(token, token_hash(new_token()))


@pytest.mark.parametrize("stored", [None, ""])
def test_no_token_matches_a_job_without_a_stored_hash(stored: str | None) -> None:
    assert not token_matches("", stored)
    assert not token_matches(new_token(), stored)


@pytest.mark.parametrize("token", [
    "a" * download_links.TOKEN_BYTES,
    "a" * download_links.MAX_TOKEN_CHARS,
    "Az09-_" * 6,
])
def test_a_token_of_our_alphabet_and_length_is_well_formed(token: str) -> None:
    assert well_formed(token)


@pytest.mark.parametrize("token", [
    None,
    "",
    "a" * (download_links.TOKEN_BYTES - 1),
    "a" * (download_links.MAX_TOKEN_CHARS + 1),
    "a" * 40 + "+/=",
    "a" * 40 + " ",
    "a" * 40 + "é",
], ids=["none", "empty", "short", "long", "base64", "space", "non-ascii"])
def test_anything_else_is_refused_before_any_read(token: str | None) -> None:
    assert not well_formed(token)


def test_the_link_quotes_the_job_id_and_carries_the_token() -> None:
    assert download_path("job 1/2", "tok") == "/_download/job%201/2?auth_token=tok"
