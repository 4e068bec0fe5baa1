"""Device facts from one event: ``observe(event) -> DeviceFacts | None``.

Which logs say what (see docs/inventory.md):

- FortiGate traffic/UTM logs with device identification: ``host.name`` (srcname), ``source.mac`` (srcmac),
  ``host.type`` (devtype), ``host.os.name``/``host.os.version`` (osname/osversion), ``host.vendor``
  (srchwvendor) of the LAN source ``source.ip``;
- Zeek ``dhcp`` (host.name, host.mac, host.ip), ``known_hosts`` (host.ip), ``software`` (host.ip and the
  product/user agent seen), ``conn``/``http``/``ssl``/``dns`` (source.ip, source.mac when logged, the user
  agent), ``ntlm`` (source.domain: the client's host name);
- Windows event logs (EVTX/Winlogbeat): ``host.name`` (and the host's own address when given);
- any LAN → outside connection: the external service used (domain or IP, port) for the network map.

Cheap: dictionary look-ups only, a regular expression only on events that carry a user agent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from mimamori.domain import Event
from mimamori.domain.network import is_lan
from mimamori.inventory.classify import (
    CONFIDENCE_DEVICE_ID,
    CONFIDENCE_SOFTWARE,
    CONFIDENCE_USER_AGENT,
    OsGuess,
    device_class,
    os_family,
    os_from_user_agent,
)
from mimamori.inventory.oui import OuiTable, default_table, is_private_mac, normalise_mac

MAX_NAME = 128  # characters kept of a host name / vendor
MAX_DESTINATION = 253  # characters of a destination name (a DNS name's maximum)

# Endpoint antivirus: update/cloud look-up domains (suffix match) and datasets of endpoint AV products.
AV_DOMAINS = (
    "trendmicro.com",
    "trendmicro.co.jp",
    "eset.com",
    "symantec.com",
    "norton.com",
    "mcafee.com",
    "kaspersky.com",
    "kaspersky-labs.com",
    "avast.com",
    "avg.com",
    "sophos.com",
    "sophosupd.com",
    "bitdefender.com",
    "bitdefender.net",
    "f-secure.com",
    "sourcenext.com",
    "fortinet.net",
    "crowdstrike.com",
    "sentinelone.net",
    "wdcp.microsoft.com",
    "wd.microsoft.com",
    "definitionupdates.microsoft.com",
)
_AV_SET = frozenset(AV_DOMAINS)
_AV_MAX_LABELS = max(d.count(".") for d in AV_DOMAINS) + 1
AV_DATASETS = frozenset({"windows.defender", "mde.alert", "mde.alerts"})
_DNS_DATASETS = frozenset({"fortigate.utm.dns", "zeek.dns", "suricata.dns"})
MAX_AV_ADDRESSES = 8  # resolved addresses taken from one DNS answer
_BAD_LEVELS = frozenset({"high", "critical"})


@dataclass(frozen=True, slots=True)
class DeviceFacts:
    """What one event says about one LAN device (None: the event does not say)."""

    tenant_id: str
    seen: datetime
    ip: str | None = None
    mac: str | None = None
    hostname: str | None = None
    vendor: str | None = None
    private_mac: bool = False
    devtype: str | None = None
    os: OsGuess | None = None
    destination: str | None = None  # an external service the device used (domain or IP)
    port: int | None = None
    antivirus: bool = False  # endpoint antivirus activity seen from this device
    bad_reputation: bool = False  # a UTM/IDS verdict against this device's traffic

    @property
    def device_class(self) -> str:
        """The device's class from these facts (computed on demand: most events never need it)."""
        family = self.os.family if self.os is not None else None
        return device_class(self.devtype, family, self.vendor, self.hostname).value

    @property
    def key(self) -> str | None:
        """The device's identity: its MAC, else its IP, else its host name."""
        if self.mac:
            return f"mac:{self.mac}"
        if self.ip:
            return f"ip:{self.ip}"
        if self.hostname:
            return f"name:{self.hostname.lower()}"
        return None


def _text(event: Event, name: str, limit: int = MAX_NAME) -> str | None:
    value = event.fields.get(name)
    if value is None or type(value) is not str:
        return None
    value = value.strip()
    return value[:limit] if value and value != "-" else None


def _lan(value: str | None) -> str | None:
    return value if value and len(value) <= 64 and is_lan(value) else None


def is_antivirus_name(name: str | None) -> bool:
    """Whether ``name`` is an antivirus vendor's update/cloud service name (or under one)."""
    if not name:
        return False
    lowered = name.lower().rstrip(".")
    pos = len(lowered)
    for _ in range(_AV_MAX_LABELS):
        pos = lowered.rfind(".", 0, pos)
        if lowered[pos + 1 :] in _AV_SET:
            return True
        if pos < 0:
            return False
    return False


@lru_cache(maxsize=4096)
def _device_id_os(name: str, version: str | None, source: str) -> OsGuess:
    detail = f"{name} {version}" if version else name
    return OsGuess(os_family(name), version, source, detail, CONFIDENCE_DEVICE_ID)


def _os(event: Event) -> OsGuess | None:
    name = _text(event, "host.os.name", 64)
    if name:
        source = "fortigate.device-id" if event.dataset.startswith("fortigate") else event.dataset[:64]
        return _device_id_os(name, _text(event, "host.os.version", 64), source)
    agent = _text(event, "user_agent.original", 512)
    if agent:
        software = event.dataset == "zeek.software"
        confidence = CONFIDENCE_SOFTWARE if software else CONFIDENCE_USER_AGENT
        return os_from_user_agent(agent, event.dataset[:64], confidence)
    return None


def _bad(event: Event) -> bool:
    """A UTM/IDS verdict against the (LAN source) device's own traffic that the UTM did not simply stop:
    an IPS or botnet hit from the device, an IDS alert, or a high-risk verdict on an allowed session.
    Everyday blocked web pages and blocked downloads are the UTM doing its job, not a device's reputation.
    """
    dataset = event.dataset
    if dataset.startswith("fortigate.utm."):
        if dataset[14:] in ("ips", "botnet"):
            return True
        return event.fields.get("fortigate.crlevel") in _BAD_LEVELS and event.fields.get("event.outcome") == (
            "success"
        )
    return dataset.startswith(("suricata.alert", "zeek.notice"))


def service_of(event: Event) -> tuple[str | None, int | None]:
    """The external service (domain or address, port) a connection from the LAN used; ``(None, None)``.

    DNS logs are left out: their session (to the resolver) is in the connection log too.
    """
    dest_ip = _text(event, "destination.ip", 64)
    if not dest_ip or is_lan(dest_ip) or event.dataset in _DNS_DATASETS:
        return None, None
    destination = (
        _text(event, "url.domain", MAX_DESTINATION)
        or _text(event, "tls.client.server_name", MAX_DESTINATION)
        or dest_ip
    ).lower()
    raw_port = event.fields.get("destination.port")
    port = raw_port if type(raw_port) is int and 0 <= raw_port <= 65535 else None
    return destination, port


def antivirus_addresses(event: Event) -> tuple[str, ...]:
    """The addresses a DNS answer gives for an antivirus update domain (sessions to them are AV activity).

    A DNS look-up alone is not: browsers and resolvers look names up for many reasons.
    """
    if event.dataset not in _DNS_DATASETS or not is_antivirus_name(
        _text(event, "dns.question.name", MAX_DESTINATION)
    ):
        return ()
    answers = event.fields.get("dns.resolved_ip")
    if not isinstance(answers, list):
        return ()
    return tuple(a for a in answers[:MAX_AV_ADDRESSES] if isinstance(a, str) and len(a) <= 64)


def observe_again(known: DeviceFacts, event: Event) -> DeviceFacts:
    """``observe(event)`` for an event that agrees with the one ``known`` came from on tenant, dataset and
    every identity field (``inventory.merge``'s cache key): only the time, the service and the per-event
    verdicts are read again; who the device is (addresses, names, vendor, OS) is taken from ``known``."""
    destination, port = service_of(event) if known.ip is not None else (None, None)
    return DeviceFacts(  # not dataclasses.replace: that is several times slower, and this runs per event
        tenant_id=known.tenant_id,
        seen=event.timestamp,
        ip=known.ip,
        mac=known.mac,
        hostname=known.hostname,
        vendor=known.vendor,
        private_mac=known.private_mac,
        devtype=known.devtype,
        os=known.os,
        destination=destination,
        port=port,
        antivirus=_antivirus(event),
        bad_reputation=_bad(event),
    )


def _antivirus(event: Event) -> bool:
    """Whether the event is endpoint antivirus activity (an AV product's log, or a session to its cloud)."""
    dataset = event.dataset
    return dataset in AV_DATASETS or (
        dataset not in _DNS_DATASETS
        and is_antivirus_name(
            _text(event, "url.domain", MAX_DESTINATION)
            or _text(event, "tls.client.server_name", MAX_DESTINATION)
        )
    )


def observe(event: Event, table: OuiTable | None = None) -> DeviceFacts | None:
    """The facts ``event`` gives about one LAN device of its tenant, or None (nothing about a LAN device)."""
    fields = event.fields
    dataset = event.dataset
    if dataset.startswith("zeek.") and dataset in ("zeek.dhcp", "zeek.known_hosts", "zeek.software"):
        ip = _lan(_text(event, "host.ip", 64)) or _lan(_text(event, "source.ip", 64))
        mac = normalise_mac(fields.get("host.mac"))
    else:
        ip = _lan(_text(event, "source.ip", 64))
        mac = normalise_mac(fields.get("source.mac"))
        if ip is None and dataset.startswith(("windows.", "sysmon", "ecs", "winlog")):
            ip = _lan(_text(event, "host.ip", 64))
    if dataset == "zeek.ntlm":
        hostname = _text(event, "source.domain")
    elif dataset.startswith("windows.") or "host.os.name" in fields or dataset == "zeek.dhcp":
        hostname = _text(event, "host.name")
    else:
        hostname = _text(event, "host.name") if ip is not None and "host.type" in fields else None
    if ip is None and mac is None and hostname is None:
        return None
    if ip is None and mac is None and not dataset.startswith("windows."):
        return None
    private = mac is not None and is_private_mac(mac)
    vendor = None
    if mac is not None and not private:
        vendor = (table or default_table()).vendor(mac)
    if vendor is None and not private:
        vendor = _text(event, "host.vendor")
    devtype = _text(event, "host.type", 64)
    guess = _os(event)
    destination, port = service_of(event) if ip is not None else (None, None)
    return DeviceFacts(
        tenant_id=event.tenant_id,
        seen=event.timestamp,
        ip=ip,
        mac=mac,
        hostname=hostname,
        vendor=vendor,
        private_mac=private,
        devtype=devtype,
        os=guess,
        destination=destination,
        port=port,
        antivirus=_antivirus(event),
        bad_reputation=_bad(event),
    )
