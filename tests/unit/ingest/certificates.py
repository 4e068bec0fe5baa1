"""Throwaway PKI for the TLS tests: a CA, a server certificate for 127.0.0.1, client certificates.

Made with the ``cryptography`` package when it is installed, else with the ``openssl`` command; the
tests skip when neither is available.
"""

from __future__ import annotations

import hashlib
import shutil
import ssl
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest


@dataclass(frozen=True)
class Pair:
    cert: Path
    key: Path

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(ssl.PEM_cert_to_DER_cert(self.cert.read_text())).hexdigest()


@dataclass(frozen=True)
class Pki:
    ca: Pair
    server: Pair
    clients: dict[str, Pair]


def make_pki(directory: Path, clients: tuple[str, ...]) -> Pki:
    directory.mkdir(parents=True, exist_ok=True)
    try:
        import cryptography  # noqa: F401
    except ImportError:
        if shutil.which("openssl") is None:
            pytest.skip("neither the cryptography package nor the openssl command is available")
        return _with_openssl(directory, clients)
    return _with_cryptography(directory, clients)


def _with_cryptography(directory: Path, clients: tuple[str, ...]) -> Pki:
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.now(UTC)

    def name(common: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])

    def write(stem: str, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> Pair:
        pair = Pair(directory / f"{stem}.pem", directory / f"{stem}.key")
        pair.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        pair.key.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        return pair

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(name("mimamori test CA"))
        .issuer_name(name("mimamori test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    def issue(common: str, *, server: bool) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
        key = ec.generate_private_key(ec.SECP256R1())
        usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
        builder = (
            x509.CertificateBuilder()
            .subject_name(name(common))
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
            )
        )
        if server:
            builder = builder.add_extension(
                x509.SubjectAlternativeName(
                    [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
                ),
                critical=False,
            )
        return builder.sign(ca_key, hashes.SHA256()), key

    return Pki(
        ca=write("ca", ca_cert, ca_key),
        server=write("server", *issue("localhost", server=True)),
        clients={c: write(f"client-{c}", *issue(c, server=False)) for c in clients},
    )


def _with_openssl(directory: Path, clients: tuple[str, ...]) -> Pki:
    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=30)

    def request(stem: str, common: str) -> Pair:
        pair = Pair(directory / f"{stem}.pem", directory / f"{stem}.key")
        openssl(
            "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", str(pair.key), "-out", str(directory / f"{stem}.csr"), "-subj", f"/CN={common}",
        )  # fmt: skip
        return pair

    ca = Pair(directory / "ca.pem", directory / "ca.key")
    openssl(
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", str(ca.key), "-out", str(ca.cert), "-days", "1", "-subj", "/CN=mimamori test CA",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    )  # fmt: skip

    def sign(stem: str, extensions: str) -> None:
        ext = directory / f"{stem}.ext"
        ext.write_text(extensions)
        openssl(
            "x509", "-req", "-in", str(directory / f"{stem}.csr"), "-CA", str(ca.cert),
            "-CAkey", str(ca.key), "-CAcreateserial", "-out", str(directory / f"{stem}.pem"),
            "-days", "1", "-sha256", "-extfile", str(ext),
        )  # fmt: skip

    server = request("server", "localhost")
    sign("server", "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    pairs = {}
    for common in clients:
        pairs[common] = request(f"client-{common}", common)
        sign(f"client-{common}", "extendedKeyUsage=clientAuth\n")
    return Pki(ca=ca, server=server, clients=pairs)
