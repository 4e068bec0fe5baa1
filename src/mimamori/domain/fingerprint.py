"""Alert fingerprints: the identity under which repeated findings collapse into one alert."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from mimamori.domain.models import Finding

WINDOW = timedelta(hours=24)  # findings of the same detector/key/host within one UTC day share an alert


def fingerprint(finding: Finding, window: timedelta = WINDOW) -> str:
    """A stable hex digest of (detector, key, tenant, device, time window).

    The device is its LAN address when known, so a FortiGate log (which names the PC) and a Zeek log of
    the same connection (which only has the address) collapse into one alert.
    """
    bucket = int(finding.timestamp.timestamp() // window.total_seconds())
    host = finding.device_ip or finding.host or finding.source_ip or ""
    raw = "\x1f".join((finding.detector, finding.key, finding.tenant_id, host, str(bucket)))
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()[:32]
