"""TLS for the syslog receiver (RFC 5425): the server context and the client certificate's fingerprint.

RFC 5425 carries syslog over TLS with octet-counting framing; the receiver's ``Framer`` also accepts
LF-terminated frames, which many senders use anyway. Senders may authenticate with a client certificate:
the receiver then identifies the sensor by the SHA-256 fingerprint of the certificate's DER encoding
(what ``openssl x509 -fingerprint -sha256`` prints, without colons, lower case), so a sensor is bound to
one exact certificate, not to anything the issuing CA signs.

Python's ``ssl`` module can only ask for a client certificate when it can verify it against a CA bundle:
a site's self-signed certificates work by adding each of them to the bundle. Without a bundle no client
certificate is requested and senders identify themselves by token or address.
"""

from __future__ import annotations

import hashlib
import ssl
from pathlib import Path

from mimamori.errors import ConfigError

__all__ = ["fingerprint", "peer_fingerprint", "server_context"]


def server_context(
    certfile: Path | str,
    keyfile: Path | str | None = None,
    *,
    cafile: Path | str | None = None,
    require_client_cert: bool = False,
    password: str | None = None,
) -> ssl.SSLContext:
    """A server context: TLS 1.2 or newer, the server's certificate chain and key, client certificates.

    Cipher suites are Python's defaults (forward secrecy, no RC4/3DES/SHA-1 MACs), which older UTM
    firmware still negotiates.

    With ``cafile`` a client certificate is requested and verified against it: optional
    (``CERT_OPTIONAL``, so senders without one can still use a token or their address) unless
    ``require_client_cert``, which refuses every connection without a valid one. ``require_client_cert``
    without ``cafile`` is a configuration error. Unreadable files raise ``ConfigError``.
    """
    if require_client_cert and cafile is None:
        raise ConfigError("requiring TLS client certificates needs a CA bundle to verify them")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.options |= ssl.OP_NO_COMPRESSION | ssl.OP_CIPHER_SERVER_PREFERENCE
    try:
        context.load_cert_chain(certfile, keyfile, password=password)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"cannot load the TLS certificate {certfile} / key {keyfile}: {exc}") from exc
    if cafile is not None:
        try:
            context.load_verify_locations(cafile=cafile)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"cannot load the TLS client CA bundle {cafile}: {exc}") from exc
        context.verify_mode = ssl.CERT_REQUIRED if require_client_cert else ssl.CERT_OPTIONAL
    return context


def fingerprint(der: bytes) -> str:
    """SHA-256 of a certificate's DER encoding, lower-case hex (the key of ``by_certificate``)."""
    return hashlib.sha256(der).hexdigest()


def peer_fingerprint(ssl_object: ssl.SSLObject | ssl.SSLSocket | None) -> str | None:
    """The fingerprint of the verified client certificate of a TLS connection, ``None`` without one."""
    if ssl_object is None:
        return None
    der = ssl_object.getpeercert(binary_form=True)
    return fingerprint(der) if der else None
