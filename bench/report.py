"""Writes bench/results.md (for a person) and bench/results.json (for tools):
the same figures, with the date, the commit and the machine."""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.section import Section, Table

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("chalice", "boto3", "botocore", "moto", "pydantic")


def run_info(seconds: float, quick: bool, names: list[str]) -> dict[str, Any]:
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "commit": commit(),
        "machine": machine(),
        "versions": versions(),
        "duration_seconds": round(seconds, 1),
        "quick": quick,
        "benchmarks": names,
    }


def commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, check=True,
                              capture_output=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def machine() -> dict[str, Any]:
    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor() or None,
        "cpu_count": os.cpu_count(),
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
    }


def versions() -> dict[str, str]:
    found = {}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "missing"
    return found


# -- JSON ----------------------------------------------------------------------


def to_json(info: dict[str, Any], sections: dict[str, Section]) -> str:
    document = {**info, "sections": {name: s.to_json() for name, s in sections.items()}}
    return json.dumps(_finite(document), indent=2, default=str) + "\n"


def _finite(value: Any) -> Any:
    """JSON has no infinity or NaN: write them as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


# -- Markdown -------------------------------------------------------------------


def to_markdown(info: dict[str, Any], sections: dict[str, Section]) -> str:
    m = info["machine"]
    lines = [
        "# Benchmarks",
        "",
        f"- date: {info['date']}",
        f"- commit: `{info['commit']}`",
        f"- machine: {m['platform']}, {m['cpu_count']} CPUs, "
        f"{m['implementation']} {m['python']}",
        "- versions: " + ", ".join(f"{k} {v}" for k, v in info["versions"].items()),
        f"- run: `python -m bench{' --quick' if info['quick'] else ''}` "
        f"({', '.join(info['benchmarks'])}) in {info['duration_seconds']:.0f} s",
        *merged_line(info),
        "",
        "Figures come from moto 5 in-process or the local server: call counts are exact, "
        "times are of this machine and only comparable within one run.",
        "",
    ]
    lines += summary(sections)
    for section in sections.values():
        lines += section_markdown(section)
    return "\n".join(lines).rstrip() + "\n"


def merged_line(info: dict[str, Any]) -> list[str]:
    """For a run with `--merge`: the sections an earlier run made, by run."""
    kept = (info.get("merged") or {}).get("kept")
    if not kept:
        return []
    runs: dict[tuple[Any, ...], list[str]] = {}
    for name, run in kept.items():
        key = (run.get("date"), run.get("commit"), run.get("duration_seconds"), run.get("quick"))
        runs.setdefault(key, []).append(name)
    return [f"- merged (`--merge`): {', '.join(names)} from the run of {date} (commit "
            f"`{commit}`{', --quick' if quick else ''}, {seconds or 0:.0f} s)"
            for (date, commit, seconds, quick), names in runs.items()]


def summary(sections: dict[str, Section]) -> list[str]:
    rows = [{"section": s.title, **check.to_json()}
            for s in sections.values() for check in s.checks]
    if not rows:
        return []
    table = Table({"name": "target", "section": "section", "target": "wanted",
                   "measured": "measured", "ok": "met"}, rows)
    return ["## Targets", "", *table_markdown(table), ""]


def section_markdown(section: Section) -> list[str]:
    lines = [f"## {section.title}", "", f"How measured: {section.how} "
             f"({section.seconds:.0f} s)", ""]
    for table in section.tables:
        if table.title:
            lines += [f"### {table.title}", ""]
        lines += [*table_markdown(table), ""]
    lines += [f"- {note}" for note in section.notes]
    return [*lines, ""] if section.notes else lines


def table_markdown(table: Table) -> list[str]:
    keys = list(table.columns)
    lines = ["| " + " | ".join(table.columns[k] for k in keys) + " |",
             "|" + "|".join("---" for _ in keys) + "|"]
    for row in table.rows:
        lines.append("| " + " | ".join(cell(k, row.get(k)) for k in keys) + " |")
    return lines


def cell(key: str, value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "**NO**"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return number(key, value)
    return str(value).replace("|", "\\|").replace("\n", " ")


def number(key: str, value: float) -> str:
    if "ratio" in key:
        return f"{value:.2f}x"
    if not math.isfinite(value):
        return "n/a"
    if value.is_integer() and abs(value) < 1e6:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def write(out: Path, info: dict[str, Any], sections: dict[str, Section]) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    md, js = out / "results.md", out / "results.json"
    md.write_text(to_markdown(info, sections))
    js.write_text(to_json(info, sections))
    return md, js
