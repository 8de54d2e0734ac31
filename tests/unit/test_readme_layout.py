"""The README's Layout section names every module of chalicelib/, and every
name it gives a module exists: the table is how a newcomer finds their way."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "chalicelib"


def layout_section() -> str:
    readme = (ROOT / "README.md").read_text()
    return readme.split("\n## Layout\n", 1)[1].split("\n## ", 1)[0]


def chalicelib_rows() -> str:
    return "\n".join(line for line in layout_section().splitlines()
                     if line.startswith("| `chalicelib/"))


def modules() -> set[str]:
    return {path.stem for path in PACKAGE.rglob("*.py") if path.stem != "__init__"}


def packages() -> set[str]:
    return {path.parent.name for path in PACKAGE.rglob("__init__.py") if path.parent != PACKAGE}


def names_in_rows() -> set[str]:
    """Every name in backquotes, a path counting each of its parts."""
    quoted = re.findall(r"`([a-z_/]+)`", chalicelib_rows())
    return {part for text in quoted for part in text.split("/") if part} - {"chalicelib"}


def test_every_module_and_package_is_named() -> None:
    named = names_in_rows()
    missing = sorted((modules() | packages()) - named)
    assert missing == [], f"README Layout does not name: {missing}"


def test_every_name_in_the_chalicelib_rows_is_a_module_or_package() -> None:
    named = names_in_rows()
    assert named, "the Layout section has no chalicelib rows"
    assert sorted(named - modules() - packages()) == []
