"""Stripe-style request signatures for the webhook and telephone channels.

The header value is ``t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>``. A receiver
recomputes the HMAC over the exact bytes it received, compares in constant time and rejects a timestamp
outside its tolerance (a replayed old request). Several ``v1=`` entries are accepted, so a sender can
sign with an old and a new secret while the secret is rotated.
"""

from __future__ import annotations

import hashlib
import hmac

HEADER = "X-Mimamori-Signature"
SCHEME = "v1"
DEFAULT_TOLERANCE = 300.0  # seconds
MAX_HEADER = 4096  # characters: a longer header is rejected before it is parsed


def _key(secret: str | bytes) -> bytes:
    return secret.encode("utf-8") if isinstance(secret, str) else secret


def digest(secret: str | bytes, body: bytes, timestamp: int) -> str:
    """Hex HMAC-SHA256 of ``"<timestamp>.<body>"`` under ``secret``."""
    message = str(int(timestamp)).encode("ascii") + b"." + body
    return hmac.new(_key(secret), message, hashlib.sha256).hexdigest()


def sign(secret: str | bytes, body: bytes, timestamp: int) -> str:
    """The ``X-Mimamori-Signature`` header value for ``body`` sent at ``timestamp`` (unix seconds)."""
    return f"t={int(timestamp)},{SCHEME}={digest(secret, body, timestamp)}"


def verify(
    secret: str | bytes,
    body: bytes,
    header: str | None,
    now: float,
    tolerance: float = DEFAULT_TOLERANCE,
) -> bool:
    """True when ``header`` carries a valid signature of ``body`` made within ``tolerance`` of ``now``.

    Never raises: a missing, malformed or oversized header is simply not valid.
    """
    if not header or len(header) > MAX_HEADER or not _key(secret):
        return False
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isascii() and value.isdigit() and len(value) <= 12:
            timestamp = int(value)
        elif name == SCHEME and value:
            candidates.append(value.strip().lower())
    if timestamp is None or not candidates or abs(now - timestamp) > tolerance:
        return False
    expected = digest(secret, body, timestamp)
    valid = False
    for candidate in candidates:  # compare every candidate: no early exit that leaks which one matched
        valid |= hmac.compare_digest(expected.encode("ascii"), candidate.encode("utf-8", "replace"))
    return valid
