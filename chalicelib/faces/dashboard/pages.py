"""GET /ui, /ui/ and /ui/{name}: the dashboard's static files, with a
Content-Security-Policy that runs scripts from this origin only (nothing
inline, no CDN) and lets the page reach the API and its /events WebSocket.

The routes take no credential: the files hold none, and every call the page
makes carries the one its user signed in with."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

from chalice.app import Request, Response

from chalicelib.errors import JobApiError, NotFound
from chalicelib.faces.guarded import guarded_by

STATIC = Path(__file__).resolve().parent / "static"
# The files the page is made of, and nothing else: a name not listed is a 404
# (no path is ever built from what a client sent).
ASSETS = {
    "index.html": "text/html; charset=utf-8",
    "dashboard.css": "text/css; charset=utf-8",
    "main.js": "text/javascript; charset=utf-8",
    "api.js": "text/javascript; charset=utf-8",
    "dom.js": "text/javascript; charset=utf-8",
    "live.js": "text/javascript; charset=utf-8",
    "job_list.js": "text/javascript; charset=utf-8",
    "job_page.js": "text/javascript; charset=utf-8",
    "submit_form.js": "text/javascript; charset=utf-8",
}
# A Host header as browsers send it (a name or an address, and a port), so
# that nothing a client sends can add a directive to the policy.
HOST = re.compile(r"^[A-Za-z0-9.-]{1,253}(:[0-9]{1,5})?$|^\[[0-9A-Fa-f:.]{2,45}\](:[0-9]{1,5})?$")


def _render(error: JobApiError) -> Response:
    body = {"error": {"code": error.code, "message": error.message}}
    return Response(body=json.dumps(body, separators=(",", ":")), status_code=error.status,
                    headers={"Content-Type": "application/json"})


guarded = guarded_by(_render)


@guarded
def index(request: Request) -> Response:
    """/ui/ is the page; /ui (the same route to API Gateway and Chalice) is
    sent on to it, so that the page's relative links resolve under /ui/."""
    path = str((request.context or {}).get("path") or "")
    if not path.endswith("/"):
        return Response(body="", status_code=308, headers={
            "Location": "ui/", "Cache-Control": "no-cache", "Content-Type": "text/plain"})
    return _static("index.html", request)


@guarded
def asset(request: Request, name: str) -> Response:
    if name not in ASSETS:
        raise NotFound("no such file of the dashboard")
    return _static(name, request)


def page_policy(host: str | None) -> str:
    """Scripts, styles and images from this origin only; calls to it, and to
    its WebSocket (which not every browser counts as 'self')."""
    sockets = f" ws://{host} wss://{host}" if host and HOST.fullmatch(host) else ""
    return ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            f"connect-src 'self'{sockets}; base-uri 'none'; form-action 'none'; "
            "frame-ancestors 'none'")


@cache
def _text(name: str) -> str:
    return (STATIC / name).read_text(encoding="utf-8")


def _static(name: str, request: Request) -> Response:
    return Response(body=_text(name), status_code=200, headers={
        "Content-Type": ASSETS[name],
        "Content-Security-Policy": page_policy(request.headers.get("host")),
        "X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache",
        "Referrer-Policy": "no-referrer"})
