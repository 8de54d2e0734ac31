"""`make run TLS=1`: the local server on https:// and wss:// (only), with a
self-signed certificate it makes once (local/tls.py). Clients trust it by
naming its file: requests' `verify`, an ssl context for `websockets`,
pytruenas's `verify=`. The certificate's own rules are checked first,
without a server."""

from __future__ import annotations

import json
import socket
import ssl
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID
from pytruenas import TrueNASClient
from websockets.sync.client import connect

from local import tls
from tests.e2e.conftest import LocalServer
from tests.helpers import token_for

PING = {"jsonrpc": "2.0", "id": 7, "method": "core.ping", "params": []}


def load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def client_context(server: LocalServer) -> ssl.SSLContext:
    assert server.ca_file is not None
    return ssl.create_default_context(cafile=str(server.ca_file))


# --- the certificate ---------------------------------------------------------


def test_the_certificate_is_ecdsa_p256_for_every_local_name_for_a_year(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    cert = load(tls.ensure_certificate(tmp_path, now).cert_file)

    key = cert.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == "secp256r1"
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["localhost"]
    assert {str(ip) for ip in names.get_values_for_type(x509.IPAddress)} == {"127.0.0.1", "::1"}
    usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [ExtendedKeyUsageOID.SERVER_AUTH]
    assert abs(cert.not_valid_after_utc - now - timedelta(days=365)) < timedelta(seconds=1)
    assert cert.issuer == cert.subject  # self-signed: the file is what clients trust


def test_the_key_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    assert tls.ensure_certificate(tmp_path).key_file.stat().st_mode & 0o077 == 0


def test_the_certificate_is_made_once_and_then_reused(tmp_path: Path) -> None:
    first = tls.ensure_certificate(tmp_path).cert_file.read_bytes()

    assert tls.ensure_certificate(tmp_path).cert_file.read_bytes() == first


def test_a_certificate_about_to_expire_is_made_again(tmp_path: Path) -> None:
    first = load(tls.ensure_certificate(tmp_path).cert_file)

    later = datetime.now(UTC) + tls.VALIDITY - timedelta(days=1)
    again = load(tls.ensure_certificate(tmp_path, later).cert_file)

    assert again.serial_number != first.serial_number
    assert again.not_valid_after_utc > later + timedelta(days=300)


@pytest.mark.parametrize("which", ["cert_file", "key_file"])
def test_an_unreadable_certificate_or_key_is_made_again(tmp_path: Path, which: str) -> None:
    pair = tls.ensure_certificate(tmp_path)
    getattr(pair, which).write_text("not a PEM file")

    again = tls.ensure_certificate(tmp_path)

    assert tls.is_servable(again, datetime.now(UTC))


def test_a_certificate_without_its_key_is_made_again(tmp_path: Path) -> None:
    pair = tls.ensure_certificate(tmp_path)
    first = pair.cert_file.read_bytes()
    other = tls.ensure_certificate(tmp_path / "other")
    pair.key_file.write_bytes(other.key_file.read_bytes())

    assert tls.ensure_certificate(tmp_path).cert_file.read_bytes() != first


def test_the_server_speaks_tls_1_2_at_least(tmp_path: Path) -> None:
    context = tls.server_context(tls.ensure_certificate(tmp_path))

    assert context.minimum_version == ssl.TLSVersion.TLSv1_2


# --- the server --------------------------------------------------------------


def test_the_banner_names_the_tls_urls_and_how_to_trust_the_certificate(
    tls_server: LocalServer,
) -> None:
    banner = "".join(tls_server.banner)
    wss = tls_server.url.replace("https://", "wss://")

    assert tls_server.url.startswith("https://127.0.0.1:")
    assert f"Serving on {tls_server.url}" in banner
    assert f"{wss}/api/current" in banner and f"{wss}/events" in banner
    assert f"curl --cacert {tls_server.ca_file}" in banner
    assert "REQUESTS_CA_BUNDLE=" in banner
    assert "http://" not in banner and "ws://" not in banner  # no plain URL to this port


def test_health_answers_over_https_with_the_generated_certificate(
    tls_server: LocalServer,
) -> None:
    answer = requests.get(f"{tls_server.url}/health", verify=str(tls_server.ca_file), timeout=10)

    assert answer.status_code == 200
    assert answer.json() == {"status": "ok"}


def test_the_port_serves_the_certificate_file_over_tls_1_2_or_later(
    tls_server: LocalServer,
) -> None:
    port = int(tls_server.url.rsplit(":", 1)[1])
    context = client_context(tls_server)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw, \
            context.wrap_socket(raw, server_hostname="localhost") as conn:
        served = conn.getpeercert(binary_form=True)
        version = conn.version()

    assert served == ssl.PEM_cert_to_DER_cert(Path(str(tls_server.ca_file)).read_text())
    assert version in {"TLSv1.2", "TLSv1.3"}


def test_an_unverified_client_is_refused_the_handshake(tls_server: LocalServer) -> None:
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"{tls_server.url}/health", timeout=10)  # the system's CAs only


def test_plain_http_to_the_tls_port_fails(tls_server: LocalServer) -> None:
    plain = tls_server.url.replace("https://", "http://")

    with pytest.raises(requests.ConnectionError):
        requests.get(f"{plain}/health", timeout=10)
    # ...and the server goes on serving TLS.
    assert requests.get(f"{tls_server.url}/health", verify=str(tls_server.ca_file),
                        timeout=10).status_code == 200


def test_a_truenas_socket_over_wss_answers_core_ping(tls_server: LocalServer) -> None:
    url = tls_server.url.replace("https://", "wss://") + "/api/current"

    with connect(url, ssl=client_context(tls_server), open_timeout=10) as ws:
        ws.send(json.dumps(PING))
        answer = json.loads(ws.recv(timeout=10))

    assert answer == {"jsonrpc": "2.0", "id": 7, "result": "pong"}


def test_job_events_reach_a_watcher_over_wss(tls_server: LocalServer) -> None:
    """The app sends to its watchers through the Management API on this same
    port: over TLS too."""
    url = tls_server.url.replace("https://", "wss://") + "/events"
    bearer = f"Bearer {token_for('acme', 'ann', ())}"

    with connect(url, ssl=client_context(tls_server), open_timeout=10,
                 additional_headers={"Authorization": bearer}) as ws:
        ws.send(json.dumps({"type": "subscribe", "id": "s", "query": {"method": "demo.echo"}}))
        assert json.loads(ws.recv(timeout=10))["type"] == "subscribed"
        answer = requests.post(f"{tls_server.url}/jobs", verify=str(tls_server.ca_file),
                               json={"method": "demo.echo", "params": {"via": "wss"}},
                               headers={"Authorization": bearer}, timeout=10)
        assert answer.status_code == 202, answer.text
        event = first_event(ws, answer.json()["id"])

    assert event["event"] == "added"


def first_event(ws: Any, job_id: str, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        message = json.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
        if message.get("type") == "event" and message.get("job_id") == job_id:
            return dict(message)


def test_pytruenas_logs_in_and_pings_over_wss(tls_server: LocalServer) -> None:
    answer = tls_server.http.post(f"{tls_server.url}/api_keys", json={"name": "pytruenas tls"},
                                  timeout=10)
    assert answer.status_code == 201, answer.text
    url = tls_server.url.replace("https://", "wss://") + "/api/current"

    nas = TrueNASClient(url, credentials=answer.json()["key"], verify=str(tls_server.ca_file),
                        timeout=20)
    try:
        assert nas.ping() == "pong"
        assert nas.api.core.ping() == "pong"
    finally:
        nas.close()
