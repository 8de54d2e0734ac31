"""The faces' boundary (chalicelib/faces/__init__.py), read from the source:
a face parses, calls the service and renders; it never reaches AWS or the
store itself, nor another face, and the core never knows a face."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import chalicelib

CHALICELIB = Path(chalicelib.__file__).resolve().parent
FACES = CHALICELIB / "faces"
FORBIDDEN_IN_FACES = ("chalicelib.store", "chalicelib.workflow", "chalicelib.blobs",
                      "boto3", "botocore")


def module_name(path: Path) -> str:
    parts = path.relative_to(CHALICELIB.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(source: str, module: str, is_package: bool = False) -> set[str]:
    """Every module `source` (the text of `module`) imports, wherever the
    import stands (in a function or under TYPE_CHECKING too); `from a import b`
    counts as both a and a.b, since b may be a module."""
    package = module if is_package else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def modules_under(root: Path) -> Iterator[tuple[str, set[str]]]:
    for path in sorted(root.rglob("*.py")):
        name = module_name(path)
        yield name, imported(path.read_text(), name, path.name == "__init__.py")


def within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)


def face_of(module: str) -> str | None:
    """`native` for chalicelib.faces.native.endpoints; None for the shared modules."""
    parts = module.split(".")
    is_face_package = len(parts) > 2 and (FACES / parts[2]).is_dir()
    return parts[2] if is_face_package else None


def test_the_walk_sees_every_face_and_its_imports() -> None:
    faces = dict(modules_under(FACES))

    assert {"chalicelib.faces", "chalicelib.faces.auth",
            "chalicelib.faces.native.endpoints"} <= set(faces)
    assert "chalicelib.wiring" in faces["chalicelib.faces.native.endpoints"]
    assert within("chalicelib.store", FORBIDDEN_IN_FACES)
    assert imported("from chalicelib import store", "chalicelib.faces.x") >= {
        "chalicelib.store"}
    assert imported("from ..store import JobStore", "chalicelib.faces.x") >= {
        "chalicelib.store"}
    assert imported("from . import endpoints", "chalicelib.faces.native", True) >= {
        "chalicelib.faces.native.endpoints"}


def test_no_face_imports_the_store_the_workflow_the_files_or_aws() -> None:
    reaching = {name: sorted(name_ for name_ in names if within(name_, FORBIDDEN_IN_FACES))
                for name, names in modules_under(FACES)}

    assert {name: found for name, found in reaching.items() if found} == {}


def test_a_face_imports_no_other_face() -> None:
    crossing = {}
    for name, names in modules_under(FACES):
        others = {face_of(other) for other in names if other.startswith("chalicelib.faces.")}
        others -= {None, face_of(name)}
        if others:
            crossing[name] = sorted(str(other) for other in others)

    assert crossing == {}


def test_no_module_of_a_face_is_named_as_a_core_module() -> None:
    def stems(paths: Iterator[Path]) -> set[str]:
        return {path.stem for path in paths if path.stem != "__init__"}

    core = stems(path for path in CHALICELIB.rglob("*.py") if FACES not in path.parents)
    faces = stems(FACES.rglob("*.py"))

    assert faces and not faces & core, faces & core


def test_the_core_never_imports_chalice_nor_a_face() -> None:
    core = {name: names for name, names in modules_under(CHALICELIB)
            if not within(name, ("chalicelib.faces",))}
    knowing = {name: sorted(n for n in names if within(n, ("chalice", "chalicelib.faces")))
               for name, names in core.items()}

    assert "chalicelib.wiring" in core
    assert {name: found for name, found in knowing.items() if found} == {}
