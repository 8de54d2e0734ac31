"""GET /api/2.0/jobs/schema/: the jobs resource described as CloudSigma's
(Tastypie's) schema describes it (response_jobs_schema): the same fields,
with what this face does: GET only, default_limit 20, the filters it takes
(`state`, `operation`) and its one order (newest created first)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from chalicelib.faces.cloudsigma.job_params import DEFAULT_LIMIT, FILTERS

TEXT = 'Unicode string data. Ex: "Hello World"'
DATETIME = 'A date & time as a string. Ex: "2010-11-10T03:07:43"'
NO_DEFAULT = "No default provided."
FIELDS: dict[str, tuple[str, str, bool, bool, bool]] = {
    # name: (type, help_text, nullable, readonly, unique)
    "children": ("related", "Background jobs, initiated by this job.", True, False, False),
    "created": ("datetime", DATETIME, False, False, False),
    "data": ("object", "Meta information related to this background job's execution.",
             True, False, False),
    "last_modified": ("datetime", DATETIME, False, False, False),
    "operation": ("string", TEXT, True, False, False),
    "resource_uri": ("string", TEXT, False, True, False),
    "resources": ("list", "Resources linked to this background job.", True, False, False),
    "state": ("string", TEXT, False, False, False),
    "uuid": ("string", TEXT, False, False, True),
}
DEFAULTS = {"state": "started"}


def jobs_schema(now: datetime | None = None) -> dict[str, Any]:
    stamp = (now or datetime.now(UTC)).isoformat(timespec="microseconds")
    fields = {
        name: {"blank": False,
               "default": stamp if kind == "datetime" else DEFAULTS.get(name, NO_DEFAULT),
               "help_text": help_text, "nullable": nullable, "readonly": readonly,
               "type": kind, "unique": unique}
        for name, (kind, help_text, nullable, readonly, unique) in FIELDS.items()}
    return {
        "allowed_detail_http_methods": ["get"],
        "allowed_list_http_methods": ["get"],
        "default_format": "application/json",
        "default_limit": DEFAULT_LIMIT,
        "fields": fields,
        "filtering": {name: 1 for name in FILTERS},
        "ordering": ["-created"],
    }
