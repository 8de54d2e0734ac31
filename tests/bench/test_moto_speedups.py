"""local/moto_speedups.py changes how fast moto answers, never what it answers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from local import moto_speedups

ROOT = Path(__file__).resolve().parent.parent.parent


def scenario(*flags: str) -> list[object]:
    """tests/bench/moto_scenario.py in a fresh process (the patches, once
    applied, cannot be taken back in this one), with a fixed hash seed: moto
    keeps string sets as Python sets, whose order follows it."""
    done = subprocess.run(
        [sys.executable, "-m", "tests.bench.moto_scenario", *flags],
        cwd=ROOT, capture_output=True, text=True, timeout=240, check=True,
        env={**os.environ, "PYTHONHASHSEED": "0"})
    result: list[object] = json.loads(done.stdout)
    return result


def test_moto_answers_the_same_with_and_without_the_speedups() -> None:
    plain, fast = scenario(), scenario("--speedups")
    assert len(plain) == len(fast)
    for step, (expected, got) in enumerate(zip(plain, fast, strict=True)):
        assert got == expected, f"step {step}"
    # The scenario reaches the cases it is there for.
    errors = [str(answer.get("error")) for answer in plain if isinstance(answer, dict)]
    assert "ConditionalCheckFailedException" in errors
    assert "TransactionCanceledException" in errors
    assert sum(error == "ClientError" for error in errors) >= 5  # validation errors


def test_every_patch_is_documented() -> None:
    doc = (ROOT / "docs" / "moto-at-scale.md").read_text()
    missing = [name for name in moto_speedups.PATCHES if f"**{name}**" not in doc]
    assert not missing, f"patches not in docs/moto-at-scale.md: {missing}"
