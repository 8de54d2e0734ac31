"""The dashboard's Content-Security-Policy (chalicelib.faces.dashboard.pages):
the page's own host is added for its WebSocket, and nothing a client sends
as Host can add a directive."""

from __future__ import annotations

import pytest

from chalicelib.faces.dashboard.pages import page_policy


@pytest.mark.parametrize("host", ["127.0.0.1:8000", "jobs.example.com", "[::1]:8443"])
def test_the_pages_own_host_may_be_reached_by_websocket(host: str) -> None:
    policy = page_policy(host)

    assert f"connect-src 'self' ws://{host} wss://{host};" in policy
    assert "script-src 'self';" in policy and "unsafe-inline" not in policy


@pytest.mark.parametrize("host", ["example.com\n", "example.com; script-src *",
                                  "evil.com 'unsafe-inline'", "a.com\r\nX: y", "", None])
def test_a_forged_host_adds_nothing(host: str | None) -> None:
    policy = page_policy(host)

    assert "connect-src 'self';" in policy
    assert policy.count(";") == page_policy(None).count(";") and "\n" not in policy
