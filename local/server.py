"""`make run`: the job API on http://127.0.0.1:PORT with no AWS account.

One process holds everything: a moto server (a thread) stands in for AWS,
the resources come from infra/template.yaml (local/provision.py), the real
state machine definition executes inside moto, and its Lambda tasks run our
worker in-process (local/seam.py). Presigned S3 URLs point at the moto
server, so any HTTP client can use them. With --tls (`make run TLS=1`) the
same port speaks only HTTPS and WSS, with a self-signed certificate
(local/tls.py).
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import secrets
import socket
import ssl
import sys
import threading
from pathlib import Path
from typing import Any

import requests
from moto.server import ThreadedMotoServer

from local import gateway, seam, tls, websocket
from local.emulated import FAKE_CREDENTIALS, LOCAL_JWT_SECRET, MOTO_CONFIG
from local.provision import Provisioned, provision
from local.streams import StreamPoller

PROJECT_DIR = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def quiet_moto_logs() -> None:
    # moto's access log and the interpreter's failure dumps drown the server's
    # own output; the job record carries every failure anyway.
    for name in ("werkzeug", "moto", "moto.stepfunctions"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


def start_moto(port: int) -> ThreadedMotoServer:
    quiet_moto_logs()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    requests.post(f"{endpoint}/moto-api/config", json=MOTO_CONFIG, timeout=10).raise_for_status()
    # The state machine interpreter calls back into moto on MOTO_PORT; our
    # boto3 clients find it through AWS_ENDPOINT_URL.
    os.environ.update(FAKE_CREDENTIALS, MOTO_PORT=str(port), AWS_ENDPOINT_URL=endpoint)
    return server


def prepare(moto_port: int) -> Provisioned:
    """Start moto, create the resources and wire the worker; returns what was made."""
    start_moto(moto_port)
    from chalicelib.aws import AwsClients

    provisioned = provision(AwsClients())
    os.environ.update(provisioned.environment())
    os.environ.setdefault("JOBS_STAGE", "local")
    os.environ.setdefault("JOBS_JWT_SECRET", LOCAL_JWT_SECRET)
    # Paging tokens signed with a key of this process only: they die with it.
    os.environ.setdefault("JOBS_TOKEN_SECRET", secrets.token_urlsafe(32))
    os.environ.setdefault("JOBS_CREDENTIAL_SECRET", secrets.token_urlsafe(32))
    import app

    seam.install({provisioned.worker_function: app.worker}, [app.upload_landed])
    return provisioned


SECRET_QUERY = re.compile(r"((?:auth_token|X-Amz-Signature|X-Amz-Credential)=)[^&\s]+")


def log_request_without_secrets(handler: Any, code: Any = "-", size: Any = "-") -> None:
    """The access log, with one-time download tokens (and any signature)
    masked: a log line must never be a working link."""
    line = SECRET_QUERY.sub(r"\1[redacted]", handler.requestline)
    handler.log_message('"%s" %s %s', line, str(code), str(size))


def start_sweeper(every_seconds: float) -> threading.Thread:
    """The scheduled sweeper Lambda of a deployment, as a thread on the same code."""
    from chalicelib.wiring import services

    def loop() -> None:
        while True:
            try:
                services().sweeper.sweep()
            except Exception:  # keep sweeping; the next run retries
                logging.getLogger("jobapi.local").exception("sweep failed")
            threading.Event().wait(every_seconds)

    thread = threading.Thread(target=loop, name="sweeper", daemon=True)
    thread.start()
    return thread


# How many connections may wait to be accepted. The standard library's 5
# resets the rest of a burst of new connections (64 clients at once lost about
# half); API Gateway takes such a burst.
LISTEN_BACKLOG = 1024
# How long a new connection may take over its TLS handshake: a client that
# connects and says nothing must not hold a thread.
TLS_HANDSHAKE_SECONDS = 10.0


def create_server(config: Any, port: int, tls_context: ssl.SSLContext | None = None) -> Any:
    """Chalice's local server (one daemon thread per connection) on a listen
    backlog of LISTEN_BACKLOG (the kernel caps it at net.core.somaxconn),
    speaking TLS only if given a context.

    What chalice.local.create_local_server does, but with our server class:
    that function builds its server on the standard backlog."""
    from chalice import local as chalice_local

    class BurstTolerantHTTPServer(chalice_local.ThreadedHTTPServer):
        request_queue_size = LISTEN_BACKLOG
        daemon_threads = True

        def finish_request(self, request: Any, client_address: Any) -> None:
            if tls_context is not None and not tls_handshake(request, client_address):
                return  # closed by the caller, process_request_thread
            super().finish_request(request, client_address)

    app_obj = config.chalice_app
    chalice_local.CustomLocalChalice.__bases__ = (chalice_local.LocalChalice, app_obj.__class__)
    app_obj.__class__ = chalice_local.CustomLocalChalice
    server = chalice_local.LocalDevServer(app_obj, config, "127.0.0.1", port,
                                          server_cls=BurstTolerantHTTPServer)
    if tls_context is not None:
        # Accepting stays quick: each handshake runs in its connection's
        # thread (finish_request), so a slow client holds up no other.
        server.server.socket = tls_context.wrap_socket(
            server.server.socket, server_side=True, do_handshake_on_connect=False)
    return server


# What a failed handshake most likely means, for the line the server prints.
HANDSHAKE_FAILURES = {
    "HTTP_REQUEST": "plain HTTP on a TLS-only port (use https:// and wss://): ",
    "TLSV1_ALERT_UNKNOWN_CA": "the client does not trust the certificate (the banner says how): ",
}


def tls_handshake(connection: ssl.SSLSocket, client_address: Any) -> bool:
    """The server's side of a new connection's handshake; False (with a line
    on stderr) for a client that does not speak TLS or goes away."""
    try:
        connection.settimeout(TLS_HANDSHAKE_SECONDS)
        connection.do_handshake()
        connection.settimeout(None)
    except ssl.SSLError as error:
        print(f"{client_address[0]}: {HANDSHAKE_FAILURES.get(error.reason or '', '')}"
              f"TLS handshake failed ({error.reason or error})", file=sys.stderr)
        return False
    except OSError:
        return False
    return True


def start_stream_poller(provisioned: Provisioned) -> StreamPoller | None:
    """Lambda's event source mapping on the jobs table's stream: every change
    of a job record handed to app.job_events, as on AWS."""
    if not provisioned.jobs_stream_arn:
        print("No stream on the jobs table (infra/template.yaml): no job events.")
        return None
    import app
    from chalicelib.aws import AwsClients

    poller = StreamPoller(AwsClients(), provisioned.table_name, app.job_events)
    poller.start()
    return poller


def serve(port: int, moto_port: int, certificate: tls.Certificate | None = None) -> None:
    from chalice.cli.factory import CLIFactory
    from chalice.local import ChaliceRequestHandler

    scheme = "https" if certificate else "http"
    # The app sends to its watchers through the API Gateway Management API,
    # served on this very port (local/websocket.py); set before the app loads.
    os.environ["JOBS_EVENTS_ENDPOINT"] = f"{scheme}://127.0.0.1:{port}"
    if certificate:
        # ...and over TLS, boto3 must trust this port's certificate.
        os.environ["AWS_CA_BUNDLE"] = str(certificate.cert_file)
    provisioned = prepare(moto_port)
    start_sweeper(float(os.environ.get("JOBS_SWEEP_SECONDS", "10")))
    start_stream_poller(provisioned)
    factory = CLIFactory(str(PROJECT_DIR))
    config = factory.create_config_obj(chalice_stage_name="local")
    # Without TCP_NODELAY a keep-alive client waits ~40 ms per request on the
    # Nagle/delayed-ACK interplay; API Gateway has no such stall.
    ChaliceRequestHandler.disable_nagle_algorithm = True
    ChaliceRequestHandler.log_request = log_request_without_secrets  # type: ignore[method-assign]
    # API Gateway's own 401, 403 and 404 answers, as deployed.
    gateway.install()
    # /events (WebSocket) and /@connections/{id} on the same port, before routing.
    websocket.install(config.chalice_app)
    server = create_server(config, port, tls.server_context(certificate) if certificate else None)
    url = f"{scheme}://127.0.0.1:{port}"
    from chalicelib.authn import mint

    token = mint(os.environ["JOBS_JWT_SECRET"], "default", "admin", ["FULL_ADMIN"],
                 seconds=12 * 3600)
    print_banner(url, moto_port, token, certificate)
    print(f"Serving on {url}")
    sys.stdout.flush()
    try:
        server.server.serve_forever()
    except KeyboardInterrupt:
        print("stopped")


def print_banner(url: str, moto_port: int, token: str,
                 certificate: tls.Certificate | None) -> None:
    ws_url = url.replace("http", "ws", 1)
    curl = "curl -s"
    if certificate is None:
        print(f"Job API on {url} (AWS emulated by moto on port {moto_port}). Ctrl-C stops it.")
    else:
        curl = f"curl -s --cacert {certificate.cert_file}"
        print(f"Job API on {url}, TLS only (AWS emulated by moto on port {moto_port}). "
              "Ctrl-C stops it.")
        print(f"TrueNAS clients (WebSocket): {ws_url}/api/current")
        print(f"Certificate (self-signed, for localhost, 127.0.0.1 and ::1): "
              f"{certificate.cert_file}")
        print(f"  trust it: curl --cacert {certificate.cert_file}, "
              f"REQUESTS_CA_BUNDLE={certificate.cert_file} or SSL_CERT_FILE=..., "
              "pytruenas TrueNASClient(..., verify=<that path>)")
    print(f"Job events (WebSocket): {ws_url}{websocket.EVENTS_PATH}")
    print(f"Admin token (FULL_ADMIN, 12 hours; `make token` mints others):\n  {token}")
    print("Try:")
    print(f"  {curl} -X POST {url}/jobs -H 'Content-Type: application/json' "
          f"-H 'Authorization: Bearer {token}' "
          f"-d '{{\"method\": \"demo.echo\", \"params\": {{\"hello\": \"world\"}}}}'")
    print("An API key (shown once; send it as `Authorization: Bearer <key>` or as Basic's "
          "password; `make api-key` mints one too):")
    print(f"  {curl} -X POST {url}/api_keys -H 'Content-Type: application/json' "
          f"-H 'Authorization: Bearer {token}' -d '{{\"name\": \"my script\"}}'")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument("--moto-port", type=int, default=0, help="default: any free port")
    parser.add_argument("--tls", action="store_true",
                        help="serve https:// and wss:// (only) with a self-signed certificate")
    parser.add_argument("--tls-dir", type=Path, default=tls.DEFAULT_DIR,
                        help="where that certificate is kept (default: %(default)s)")
    args = parser.parse_args(argv)
    certificate = tls.ensure_certificate(args.tls_dir) if args.tls else None
    serve(args.port, args.moto_port or free_port(), certificate)


if __name__ == "__main__":
    main()
