"""The indicator detector: events whose addresses or names are on the indicator list.

Severity follows the outcome, because an SME needs to know whether the defence worked: an allowed
connection to a listed server is high (緊急度 高), a DNS lookup of a listed name is medium (the
connection may follow), and anything the UTM blocked is low (it still counts in the monthly report).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Sequence
from functools import lru_cache

from mimamori.detection.indicators.store import Indicator, IndicatorSet
from mimamori.domain import Event, Finding, Severity

NAME = "indicator"
TAGS = ("attack.command-and-control", "attack.t1071")
DOMAIN_FIELDS = ("dns.question.name", "url.domain", "tls.server.name", "http.request.host")
FAILURE = "failure"
MAX_ORIGINAL = 4096  # bytes of the raw log line quoted in an alert's evidence

# Title templates are message ids: the web translates them with the alert's indicator value.
TITLES = {
    ("connection", "address", True): "Connection to a known malicious server: %(value)s",
    ("connection", "address", False): "Connection from a known malicious server: %(value)s",
    ("connection", "domain", True): "Access to a known malicious site: %(value)s",
    ("connection", "domain", False): "Access to a known malicious site: %(value)s",
    ("blocked", "address", True): "Blocked connection to a known malicious server: %(value)s",
    ("blocked", "address", False): "Blocked connection from a known malicious server: %(value)s",
    ("blocked", "domain", True): "Blocked access to a known malicious site: %(value)s",
    ("blocked", "domain", False): "Blocked access to a known malicious site: %(value)s",
    ("dns", "domain", True): "Name lookup of a known malicious site: %(value)s",
    ("dns", "domain", False): "Name lookup of a known malicious site: %(value)s",
    ("dns", "address", True): "Name lookup of a known malicious site: %(value)s",
    ("dns", "address", False): "Name lookup of a known malicious site: %(value)s",
}


@lru_cache(maxsize=65536)
def _is_internal(ip: str) -> bool:
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return addr.is_private or addr.is_loopback or addr.is_link_local


class IndicatorDetector:
    """Matches source/destination IPs and domain-bearing fields against an ``IndicatorSet``."""

    name = NAME

    def __init__(self, indicators: IndicatorSet) -> None:
        self.indicators = indicators

    def detect(self, events: Sequence[Event]) -> Iterator[Finding]:
        if not len(self.indicators):
            return
        match_ip, match_domain = self.indicators.match_ip, self.indicators.match_domain
        for event in events:
            fields = event.fields
            dst = fields.get("destination.ip")
            if isinstance(dst, str):
                hit = match_ip(dst)
                if hit is not None:
                    yield self._finding(event, hit, outbound=True)
                    continue
            src = fields.get("source.ip")
            if isinstance(src, str):
                hit = match_ip(src)
                if hit is not None:
                    yield self._finding(event, hit, outbound=False)
                    continue
            for name in DOMAIN_FIELDS:
                value = fields.get(name)
                if isinstance(value, str) and value:
                    hit = match_domain(value)
                    if hit is not None:
                        yield self._finding(event, hit, outbound=True, matched_field=name)
                        break

    def _finding(self, event: Event, hit: Indicator, *, outbound: bool, matched_field: str = "") -> Finding:
        fields = event.fields
        src = event.get_str("source.ip")
        dst = event.get_str("destination.ip")
        blocked = fields.get("event.outcome") == FAILURE
        dns_only = matched_field == "dns.question.name" and not event.dataset.endswith("traffic")
        if blocked:
            severity = Severity.LOW
        elif dns_only:
            severity = Severity.MEDIUM
        elif outbound or (dst is not None and _is_internal(dst)):
            severity = Severity.HIGH
        else:
            severity = Severity.MEDIUM
        internal = src if outbound else dst
        host = event.get_str("host.name") if outbound else None
        kind = "domain" if hit.type == "domain" else "address"
        if blocked:
            template = TITLES[("blocked", kind, outbound)]
        elif dns_only:
            template = TITLES[("dns", kind, outbound)]
        else:
            template = TITLES[("connection", kind, outbound)]
        title = template % {"value": hit.value}
        evidence = {k: v for k, v in fields.items() if not k.startswith("fortigate.")}
        evidence["title.template"] = template
        if event.raw is not None:
            evidence["event.original"] = event.raw.data[:MAX_ORIGINAL].decode("utf-8", "replace")
            evidence["log.origin"] = event.raw.origin
        evidence["indicator.value"] = hit.value
        evidence["indicator.type"] = hit.type
        if hit.description:
            evidence["indicator.description"] = hit.description
        return Finding(
            tenant_id=event.tenant_id,
            detector=NAME,
            key=f"{hit.type}:{hit.value}",
            title=title,
            severity=severity,
            timestamp=event.timestamp,
            host=host or internal,
            source_ip=src,
            destination_ip=dst,
            description=hit.description,
            tags=TAGS,
            evidence=evidence,
            device_ip=internal if internal and _is_internal(internal) else None,
        )
