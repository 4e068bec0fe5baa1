"""Signed one-click acknowledgement links.

A link in a notification carries the tenant, the incident and who it was sent to, signed with the
provider's secret key (itsdangerous, HMAC-SHA1 over a timestamped payload) and valid for ``MAX_AGE``. The
link opens a page with one button: the acknowledgement itself is a POST, because mail security scanners
open every link in a message, and a GET that acknowledged would silence the escalation before a person
has seen anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from mimamori.errors import AuthError

SALT = "mimamori.notify.ack"
MAX_AGE = timedelta(days=14)  # an incident notice can still be acknowledged two weeks later


@dataclass(frozen=True, slots=True)
class AckClaim:
    tenant_id: str
    incident_id: str
    recipient: str  # who the link was sent to ("contact:<id>", "oncall:<id>", ...)


def _serializer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=SALT)


def ack_token(secret: str, claim: AckClaim) -> str:
    return _serializer(secret).dumps([claim.tenant_id, claim.incident_id, claim.recipient])


def ack_url(base_url: str, secret: str, claim: AckClaim) -> str:
    return f"{base_url.rstrip('/')}/ack/{ack_token(secret, claim)}"


def read_ack(secret: str, token: str, *, max_age: timedelta = MAX_AGE) -> AckClaim:
    """The claim of a valid token; AuthError for a forged, altered or expired one."""
    if len(token) > 2048:
        raise AuthError("invalid acknowledgement link")
    try:
        value = _serializer(secret).loads(token, max_age=int(max_age.total_seconds()))
    except SignatureExpired as error:
        raise AuthError("this acknowledgement link has expired") from error
    except BadSignature as error:
        raise AuthError("invalid acknowledgement link") from error
    if not (isinstance(value, list) and len(value) == 3 and all(isinstance(v, str) and v for v in value)):
        raise AuthError("invalid acknowledgement link")
    return AckClaim(value[0], value[1], value[2])
