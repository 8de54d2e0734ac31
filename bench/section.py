"""What a benchmark hands back: a Section of rows for the report, the raw
figures for results.json, and the targets it checked."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Check:
    """One target from the issue, with what was measured against it."""

    name: str
    target: str
    measured: str
    ok: bool | None  # None: not measurable yet

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "target": self.target, "measured": self.measured, "ok": self.ok}


@dataclass
class Table:
    """A table of the report: `columns` maps a row key to its header."""

    columns: dict[str, str]
    rows: list[dict[str, Any]]
    title: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"title": self.title, "columns": self.columns, "rows": self.rows}


@dataclass
class Section:
    name: str
    title: str
    how: str  # one line: how it was measured
    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)  # raw figures other benchmarks may use
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "how": self.how,
            "tables": [table.to_json() for table in self.tables],
            "notes": self.notes,
            "checks": [check.to_json() for check in self.checks],
            "data": self.data,
            "seconds": round(self.seconds, 2),
        }



def section_from_json(name: str, document: dict[str, Any]) -> Section:
    """A Section back from its results.json form (a benchmark run in another process)."""
    return Section(
        name=name, title=document["title"], how=document["how"],
        tables=[Table(t["columns"], t["rows"], t.get("title", "")) for t in document["tables"]],
        notes=list(document["notes"]),
        checks=[Check(c["name"], c["target"], c["measured"], c["ok"])
                for c in document["checks"]],
        data=dict(document["data"]), seconds=float(document["seconds"]))


@dataclass(frozen=True)
class Row:
    """A request a face's benchmark measures: its AWS calls against a budget."""

    key: str
    label: str
    budget: str
    calls: tuple[str, ...] | None  # None: no fixed budget, the measured calls shown
