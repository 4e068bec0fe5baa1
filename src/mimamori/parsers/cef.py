"""ArcSight Common Event Format (CEF 0.x/1.x), bare or behind a syslog header, to ECS-named Events.

``CEF:Version|Device Vendor|Device Product|Device Version|Signature ID|Name|Severity|Extension``: the
header fields escape ``\\|`` and ``\\\\``; extension values escape ``\\=``, ``\\\\``, ``\\n`` and ``\\r`` and
run until the next `` key=``. Keys of the CEF dictionary with an ECS meaning are renamed (``_RENAMES``);
``csN``/``cnN``/``cfpN``/``deviceCustom*`` values are stored under their label (``cef.<label>``); every
other key stays as ``cef.<key>``. Severity is 0-10 or Low/Medium/High/Very-High.
"""

from __future__ import annotations

import re

from mimamori.domain.models import Event, Fields, RawRecord
from mimamori.errors import ParseError
from mimamori.parsers import _device, syslog

FORMAT = "cef"

_START_RE = re.compile(r"CEF: ?\d")
_KEY_RE = re.compile(r"(?:^|(?<=\s))([A-Za-z][\w.\[\]-]{0,63})=")
_HEADER_UNESCAPE_RE = re.compile(r"\\([|\\])")
_VALUE_UNESCAPE_RE = re.compile(r"\\([=\\nr|])")
_LABEL_RE = re.compile(r"[^a-z0-9]+")
_CUSTOM_RE = re.compile(r"(c6a|cfp|cn|cs|c6a|deviceCustomDate|flexString|flexNumber|flexDate)(\d)")
_NOT_SET = frozenset(("", "N/A", "n/a", "-", "NA"))
_ESCAPES = {"n": "\n", "r": "\r"}
_SEVERITY_WORDS = {"unknown": 0, "low": 3, "medium": 5, "high": 8, "very-high": 10, "veryhigh": 10}

# CEF key -> ECS name; the value stays text.
_RENAMES = {
    "src": "source.ip", "dst": "destination.ip", "shost": "source.domain", "dhost": "destination.domain",
    "suser": "source.user.name", "duser": "destination.user.name", "suid": "source.user.id",
    "duid": "destination.user.id", "sntdom": "source.user.domain", "dntdom": "destination.user.domain",
    "act": "event.action", "app": "network.protocol", "msg": "message",
    "requestMethod": "http.request.method",
    "requestClientApplication": "user_agent.original", "requestContext": "http.request.referrer",
    "fname": "file.name", "filePath": "file.path", "fileHash": "file.hash.sha256", "fileType": "file.type",
    "dvchost": "observer.hostname", "dvc": "observer.ip", "deviceExternalId": "observer.serial_number",
    "deviceInboundInterface": "observer.ingress.interface.name",
    "deviceOutboundInterface": "observer.egress.interface.name", "externalId": "event.id",
    "reason": "event.reason", "sourceTranslatedAddress": "source.nat.ip",
    "destinationTranslatedAddress": "destination.nat.ip", "sproc": "process.name", "dproc": "process.name",
    "sourceServiceName": "source.service.name", "destinationServiceName": "destination.service.name",
    "deviceProcessName": "observer.process.name", "deviceFacility": "log.syslog.facility.name",
    "dvcpid": "observer.process.pid", "oldFileName": "file.name",
}  # fmt: skip
_INTS = {
    "spt": "source.port", "dpt": "destination.port", "sourceTranslatedPort": "source.nat.port",
    "destinationTranslatedPort": "destination.nat.port", "in": "source.bytes", "out": "destination.bytes",
    "fsize": "file.size", "spid": "process.pid", "dpid": "process.pid", "cnt": "event.count",
}  # fmt: skip
_PORTS = frozenset(("spt", "dpt", "sourceTranslatedPort", "destinationTranslatedPort"))
_MACS = {"smac": "source.mac", "dmac": "destination.mac", "dvcmac": "observer.mac"}
_TIMES = {"start": "event.start", "end": "event.end"}


def _header(text: str) -> list[str]:
    """Split the seven header fields on unescaped pipes; the eighth part is the extension."""
    parts: list[str] = []
    pos = 0
    start = 0
    while len(parts) < 7:
        i = text.find("|", pos)
        if i < 0:
            raise ParseError(f"CEF header has {len(parts) + 1} of 8 parts")
        backslashes = 0
        j = i - 1
        while j >= start and text[j] == "\\":
            backslashes += 1
            j -= 1
        if backslashes % 2:
            pos = i + 1
            continue
        field = text[start:i]
        parts.append(_HEADER_UNESCAPE_RE.sub(r"\1", field) if "\\" in field else field)
        pos = start = i + 1
    parts.append(text[start:])
    return parts


def _unescape(value: str) -> str:
    if "\\" not in value:
        return value
    return _VALUE_UNESCAPE_RE.sub(lambda m: _ESCAPES.get(m.group(1), m.group(1)), value)


def extension(text: str) -> dict[str, str]:
    """Split ``key=value key=value``: a value runs to the next unescaped `` key=``."""
    pairs: dict[str, str] = {}
    matches = list(_KEY_RE.finditer(text))
    for n, m in enumerate(matches):
        end = matches[n + 1].start() if n + 1 < len(matches) else len(text)
        pairs[m.group(1)] = _unescape(text[m.end() : end].rstrip(" "))
    return pairs


def _label(value: str) -> str:
    return _LABEL_RE.sub("_", value.lower()).strip("_")[:64]


def _severity(fields: Fields, value: str) -> None:
    value = value.strip()
    number = _device.to_int(value)
    if number is None:
        number = _SEVERITY_WORDS.get(value.lower())
        if number is None:
            fields["cef.severity"] = value
            return
    fields["event.severity"] = number
    fields["log.level"] = (
        "low" if number <= 3 else "medium" if number <= 6 else "high" if number <= 8 else "very-high"
    )


def _extensions(fields: Fields, pairs: dict[str, str], tz: str) -> None:
    labels = {key[:-5]: value for key, value in pairs.items() if key.endswith("Label")}
    for key, value in pairs.items():
        if key.endswith("Label") and key[:-5] in pairs:
            continue
        name = _RENAMES.get(key)
        if name is not None:
            if value not in _NOT_SET:
                fields[name] = value
            continue
        if key in ("rt", "deviceReceiptTime"):
            continue
        if key in _INTS:
            number = _device.to_port(value) if key in _PORTS else _device.to_int(value)
            if number is not None:
                fields[_INTS[key]] = number
            elif value:
                fields["cef." + key] = value
        elif key in _MACS:
            if value:
                fields[_MACS[key]] = _device.mac(value)
        elif key == "proto":
            if value:
                fields["network.transport"] = _device.transport(value)
        elif key == "request":
            if value:
                _device.set_url(fields, value)
        elif key == "outcome":
            word = value.strip("/").lower()
            fields["cef.outcome"] = value
            result = _device.outcome(word)
            if result is not None:
                fields["event.outcome"] = result
        elif key in _TIMES:
            ts = _device.device_time(value, tz)
            if ts is not None:
                fields[_TIMES[key]] = ts.isoformat()
            elif value:
                fields["cef." + key] = value
        elif _CUSTOM_RE.fullmatch(key) and labels.get(key):
            fields["cef." + (_label(labels[key]) or key)] = value
        elif value:
            fields["cef." + key] = value


def parse_body(record: RawRecord, text: str, header: _device.Header) -> Event:
    """Parse ``text`` starting at ``CEF:``; ``header`` gives the time and host when the body has none."""
    version, vendor, product, dev_version, signature, name, severity, ext = _header(text)
    fields: Fields = {
        "cef.version": version[4:].strip(),
        "observer.vendor": vendor,
        "observer.product": product,
        "observer.version": dev_version,
        "event.code": signature,
        "cef.name": name,
        "message": name,
    }
    _severity(fields, severity)
    pairs = extension(ext)
    _extensions(fields, pairs, record.timezone)
    user = fields.get("source.user.name") or fields.get("destination.user.name")
    if user:
        fields["user.name"] = user
    if "event.outcome" not in fields and "event.action" in fields:
        result = _device.outcome(str(fields["event.action"]))
        if result is not None:
            fields["event.outcome"] = result
    if header.hostname and "observer.hostname" not in fields:
        fields["observer.hostname"] = header.hostname
    received_at = syslog.as_utc(record.received_at)
    timestamp = None
    rt = pairs.get("rt") or pairs.get("deviceReceiptTime")
    if rt:
        timestamp = _device.device_time(rt, record.timezone, received_at)
        if timestamp is None:
            fields["cef.rt"] = rt
    return _device.make_event(record, "cef", fields, timestamp or header.timestamp)


def parse(record: RawRecord) -> Event | None:
    """Parse one CEF record; an empty line carries no event, a line without a CEF header raises."""
    text = syslog.decode(record.data)
    if not text.strip():
        return None
    m = _START_RE.search(text)
    if m is None:
        raise ParseError("no CEF header found")
    received_at = syslog.as_utc(record.received_at)
    prefix = text[: m.start()]
    header = (
        _device.split_header(prefix, received_at, record.timezone)
        if prefix.strip()
        else _device.Header(None, None, None, "")
    )
    return parse_body(record, text[m.start() :], header)
