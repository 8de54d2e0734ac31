"""`make run TLS=1`'s certificate: self-signed, for localhost, 127.0.0.1 and
::1, made once and kept under .local/tls/ (git-ignored), made again when it
is missing, unreadable, not for those names, or about to expire.

Some TrueNAS tools speak only wss:// and https://; a client trusts this
certificate by naming its file (`curl --cacert`, `REQUESTS_CA_BUNDLE`,
pytruenas's `verify=`). It is its own issuer, so the file is both the
server's certificate and the bundle a client trusts.
"""

from __future__ import annotations

import fcntl
import ipaddress
import os
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DEFAULT_DIR = Path(__file__).resolve().parent.parent / ".local" / "tls"
DNS_NAMES = ("localhost",)
IP_ADDRESSES = ("127.0.0.1", "::1")
VALIDITY = timedelta(days=365)
# A certificate this close to its end is made again rather than served: a
# server started on its last day would stop being trusted while it runs.
RENEW_BEFORE = timedelta(days=7)
# Clocks of the clients may be a little behind this one.
BACKDATE = timedelta(minutes=5)


@dataclass(frozen=True)
class Certificate:
    cert_file: Path  # the certificate (PEM): what clients trust
    key_file: Path  # its private key (PEM, readable by its owner only)


def certificate_in(directory: Path) -> Certificate:
    """Where the certificate and its key live in `directory`."""
    return Certificate(directory / "localhost.pem", directory / "localhost-key.pem")


def ensure_certificate(directory: Path = DEFAULT_DIR, now: datetime | None = None) -> Certificate:
    """The certificate in `directory`, made first if it is not one to serve."""
    now = now or datetime.now(UTC)
    pair = certificate_in(directory)
    directory.mkdir(parents=True, exist_ok=True)
    # Two servers starting at once must not pair one's key with the other's
    # certificate: one checks and writes while the other waits.
    with open(directory / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not is_servable(pair, now):
            write_certificate(pair, now)
    return pair


def is_servable(pair: Certificate, now: datetime) -> bool:
    """Readable, its key matching, for every local name, and valid for a while yet."""
    try:
        cert = x509.load_pem_x509_certificate(pair.cert_file.read_bytes())
        key = serialization.load_pem_private_key(pair.key_file.read_bytes(), password=None)
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (OSError, ValueError, x509.ExtensionNotFound):
        return False
    return (key.public_key() == cert.public_key()
            and set(names.get_values_for_type(x509.DNSName)) >= set(DNS_NAMES)
            and {str(ip) for ip in names.get_values_for_type(x509.IPAddress)}
            >= {str(ipaddress.ip_address(ip)) for ip in IP_ADDRESSES}
            and cert.not_valid_before_utc <= now
            and now + RENEW_BEFORE < cert.not_valid_after_utc)


def write_certificate(pair: Certificate, now: datetime) -> None:
    """A new key and certificate, each written whole or not at all."""
    key = ec.generate_private_key(ec.SECP256R1())
    cert = self_signed(key, now)
    _write_atomically(pair.key_file, key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()), mode=0o600)
    _write_atomically(pair.cert_file, cert.public_bytes(serialization.Encoding.PEM), mode=0o644)


def self_signed(key: ec.EllipticCurvePrivateKey, now: datetime) -> x509.Certificate:
    """A server certificate that is its own issuer: the extensions a strict
    verifier (Python 3.13's default context, browsers) asks of one."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "jobapi local server"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "jobapi make run")])
    public = key.public_key()
    alt_names: list[x509.GeneralName] = [x509.DNSName(n) for n in DNS_NAMES]
    alt_names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in IP_ADDRESSES]
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=False,
            crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public),
                       critical=False)
        .sign(key, hashes.SHA256())
    )


def server_context(pair: Certificate) -> ssl.SSLContext:
    """What the local server speaks: TLS 1.2 or later, with this certificate."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(pair.cert_file, pair.key_file)
    return context


def _write_atomically(path: Path, data: bytes, mode: int) -> None:
    # A server killed mid-write leaves the old file or the new one, never half.
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)
    os.replace(temporary, path)
