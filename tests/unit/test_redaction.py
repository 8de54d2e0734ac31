"""chalicelib.redaction: a secret is masked in every form text may render it in."""

from __future__ import annotations

import html
import json
import logging
from urllib.parse import quote, quote_plus

import pytest

from chalicelib.joblog import HandlerLog, JobLogger
from chalicelib.redaction import MASK, Redactor

# Every character here is written differently by one escaping or another.
TRICKY = "p\\w\u00e9d\"q/r s+t'u&v%w<x>\ty"


def redactor(*secrets: str) -> Redactor:
    return Redactor([f"s{i}" for i in range(len(secrets))],
                    {f"s{i}": secret for i, secret in enumerate(secrets)})


RENDERINGS = {
    "as is": lambda s: s,
    "repr": repr,
    "ascii": ascii,
    "bytes repr": lambda s: repr(s.encode()),
    "json": json.dumps,
    "json, not ascii": lambda s: json.dumps(s, ensure_ascii=False),
    "json, upper-case hex": lambda s: json.dumps(s).replace("\\u00e9", "\\u00E9"),
    "url quote": quote,
    "url quote, nothing safe": lambda s: quote(s, safe=""),
    "url quote_plus": quote_plus,
    "url quote, lower-case hex": lambda s: quote(s, safe="").lower(),
    "html": html.escape,
    "repr of a repr": lambda s: repr(repr(s)),
    "repr of json": lambda s: repr(json.dumps(s)),
    "json of a repr": lambda s: json.dumps(repr(s)),
    "url of json": lambda s: quote_plus(json.dumps(s)),
    "repr of an exception": lambda s: repr(PermissionError(f"refused {s!r}")),
}


@pytest.mark.parametrize("render", RENDERINGS.values(), ids=RENDERINGS.keys())
def test_each_rendering_of_a_secret_inside_text_is_masked(render: object) -> None:
    assert callable(render)
    text = f"before {render(TRICKY)} after"

    scrubbed = redactor(TRICKY).scrub(text)

    assert scrubbed.startswith("before ") and scrubbed.endswith(" after")
    assert scrubbed.count(MASK) == 1
    # What is left is the wrapper only (quotes, b'', the exception's words):
    # none of the secret's letters that no wrapper has, on either side of it.
    left = scrubbed.replace(MASK, "")
    assert not set("pqvxy") & set(left), scrubbed


def test_the_issues_example_is_masked_in_the_repr_of_its_exception() -> None:
    error = PermissionError("login refused for u with password abc\\def123")

    assert redactor("abc\\def123").scrub(repr(error)) == \
        "PermissionError('login refused for u with password ********')"


def test_every_string_of_a_structure_is_scrubbed_keys_included() -> None:
    secret = "hunter2-horse"
    value = {"log": [f"pw={quote_plus(secret)}"], json.dumps(secret): {"n": 1, "b": None}}

    assert redactor(secret).scrub(value) == {"log": [f"pw={MASK}"],
                                             f'"{MASK}"': {"n": 1, "b": None}}


def test_a_longer_secret_is_masked_whole_when_it_holds_a_shorter_one() -> None:
    assert redactor("abcd", "abcdefgh").scrub("x abcdefgh y abcd z") == f"x {MASK} y {MASK} z"


@pytest.mark.parametrize(("text", "scrubbed"), [
    ("Zq9", MASK),
    ("password Zq9", f"password {MASK}"),
    ("pw=Zq9&user=u", f"pw={MASK}&user=u"),
    ("PermissionError('refused Zq9')", f"PermissionError('refused {MASK}')"),
    ('{"password": "Zq9"}', f'{{"password": "{MASK}"}}'),
    ("Zq9x and xZq9 and 1Zq9", "Zq9x and xZq9 and 1Zq9"),  # inside a word: left alone
])
def test_a_short_secret_is_masked_where_it_stands_alone(text: str, scrubbed: str) -> None:
    assert redactor("Zq9").scrub(text) == scrubbed


def test_a_short_secrets_escaped_forms_are_masked_too() -> None:
    assert redactor("a\\b").scrub("got 'a\\\\b' and \"a\\\\b\" and a%5Cb") == \
        f"got '{MASK}' and \"{MASK}\" and {MASK}"


def test_text_without_a_secret_is_unchanged() -> None:
    text = "nothing to see: " + "x" * 10_000

    assert redactor("hunter2-horse", "a").scrub(text) == text


def test_a_handlers_log_masks_every_rendering_in_lines_tracebacks_and_extra(
    caplog: pytest.LogCaptureFixture,
) -> None:
    job_log = HandlerLog()
    logger = JobLogger("job-1", "demo.secret", redactor(TRICKY), job_log)
    try:
        raise ValueError(f"bad password {TRICKY!r}")
    except ValueError:
        with caplog.at_level(logging.INFO, logger="jobapi"):
            logger.info("body %s url %s", json.dumps({"pw": TRICKY}), quote_plus(TRICKY),
                        extra={"password": TRICKY, "request": json.dumps(TRICKY)})
            logger.exception("failed with %r", TRICKY)

    [line, failed] = [r for r in caplog.records if r.name.startswith("jobapi.worker")]
    kept = job_log.excerpt()

    assert line.getMessage() == f'job job-1: body {{"pw": "{MASK}"}} url {MASK}'
    assert (line.password, line.request, line.job_id) == (MASK, f'"{MASK}"', "job-1")
    assert failed.getMessage().startswith(f"job job-1: failed with '{MASK}'\nTraceback")
    assert f"ValueError: bad password '{MASK}'" in failed.getMessage()
    assert "p\\" not in kept and "w<x" not in kept and MASK in kept
    job_log.close()
