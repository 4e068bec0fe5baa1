"""The ECS mapping of the Zeek logs: per log type, ``zeek key -> (field name, handler)``.

A handler stores a converted value and returns True, or returns False for a value it does not accept
(which ``zeek`` then keeps as ``zeek.<path>.<key>``). ``text``, ``count``, ``flag`` and ``port`` are pure
type checks: ``zeek`` recognises them by identity and renames such keys in bulk without calling them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from mimamori.domain.models import Fields
from mimamori.parsers import _json, _native

_MAC_RE = re.compile(r"[0-9A-Fa-f]{2}(?:[:-][0-9A-Fa-f]{2}){5}")
_HOST_PORT_RE = re.compile(r"(?<=[^:]):\d{1,5}$")  # "example.com:8080" -> "example.com"
_TLS_VERSION_RE = re.compile(r"(TLS|SSL|DTLS)v(\d)(\d?)")

Handler = Callable[[Fields, str, Any], bool]
_flatten = _native.flatten or _json.flatten


def text(fields: Fields, name: str, value: Any) -> bool:
    if type(value) is str:
        fields[name] = value
        return True
    return False


def count(fields: Fields, name: str, value: Any) -> bool:
    if type(value) is int and 0 <= value <= _json.MAX_INT:
        fields[name] = value
        return True
    return False


def port(fields: Fields, name: str, value: Any) -> bool:
    if type(value) is int and 0 <= value <= 65535:
        fields[name] = value
        return True
    return False


def _domain(fields: Fields, name: str, value: Any) -> bool:
    if type(value) is str and value:
        fields[name] = value.rstrip(".").lower()
        return True
    return False


def _host_header(fields: Fields, name: str, value: Any) -> bool:
    if type(value) is str and value:
        fields[name] = _HOST_PORT_RE.sub("", value).rstrip(".").lower()
        return True
    return False


def _mac(fields: Fields, name: str, value: Any) -> bool:
    if type(value) is str and _MAC_RE.fullmatch(value):
        fields[name] = value.upper().replace(":", "-")
        return True
    return False


def _duration(fields: Fields, name: str, value: Any) -> bool:
    if type(value) in (int, float) and 0 <= value < 9e9:
        fields[name] = round(value * 1e9)
        return True
    return False


def _texts(fields: Fields, name: str, value: Any) -> bool:
    if type(value) is list and all(type(v) is str for v in value):
        fields[name] = value
        return True
    return False


def _unless_set(field_name: str) -> Handler:
    """Store a value only where nothing is yet (``notice``'s src/dst duplicate the conn_id)."""

    def store(fields: Fields, name: str, value: Any) -> bool:
        if (type(value) is str or (type(value) is int and 0 <= value <= 65535)) and field_name not in fields:
            fields[name] = value
            return True
        return False

    return store


def flag(fields: Fields, name: str, value: Any) -> bool:
    if type(value) is bool:
        fields[name] = value
        return True
    return False


def _kept(fields: Fields, name: str, value: Any) -> bool:
    """A known list-valued key, kept under its Zeek name (named so that the bulk path stays bulk)."""
    _flatten(fields, name, value)
    return True


def _outcome(fields: Fields, name: str, value: Any) -> bool:
    if type(value) is bool:
        fields[name] = "success" if value else "failure"
        return True
    return False


def _answers(fields: Fields, name: str, value: Any) -> bool:
    if type(value) is not list or not all(type(a) is str for a in value):
        return False
    # Names and addresses are normalised; TXT answers ("TXT 16 v=spf1 ...") are kept as sent.
    answers = [a if " " in a else a.rstrip(".").lower() for a in value]
    fields[name] = answers
    ips = [a for a in answers if " " not in a and (":" in a or a.replace(".", "").isdigit())]
    if ips:
        fields["dns.resolved_ip"] = ips
    return True


def _trans_id(fields: Fields, name: str, value: Any) -> bool:
    if type(value) is int and 0 <= value <= 65535:
        fields[name] = str(value)
        return True
    return False


def _uri(fields: Fields, name: str, value: Any) -> bool:
    if type(value) is not str:
        return False
    fields[name] = value
    path, _, query = value.partition("?")
    fields["url.path"] = path
    if query:
        fields["url.query"] = query
    return True


def _tls_version(fields: Fields, name: str, value: Any) -> bool:
    """Zeek's ``TLSv12`` -> ``tls.version`` "1.2" and ``tls.version_protocol`` "tls"."""
    if type(value) is not str:
        return False
    m = _TLS_VERSION_RE.fullmatch(value)
    if m is None:
        return False
    fields[name] = f"{m[2]}.{m[3]}" if m[3] else m[2]
    fields["tls.version_protocol"] = m[1].lower()
    return True


def _server_name(fields: Fields, name: str, value: Any) -> bool:
    if type(value) is str and value:
        fields[name] = fields["tls.server.name"] = value.rstrip(".").lower()
        return True
    return False


def _principal(fields: Fields, name: str, value: Any) -> bool:
    """Kerberos ``user/REALM`` -> ``user.name`` and ``user.domain``; the whole value stays too."""
    if type(value) is not str:
        return False
    fields[name] = value
    user, _, realm = value.rpartition("/")
    if user:
        fields["user.name"] = user
    if realm:
        fields["user.domain"] = realm
    return True


def _epoch_or_iso(fields: Fields, name: str, value: Any) -> bool:
    """A Zeek time as ISO-8601 UTC text (``json_iso8601`` already writes it so)."""
    if type(value) is str:
        fields[name] = value
        return True
    if type(value) in (int, float) and -1e11 < value < 1e11:
        fields[name] = datetime.fromtimestamp(value, UTC).isoformat()
        return True
    return False


_ORIG = _unless_set("source.ip")
_RESP = _unless_set("destination.ip")
_RESP_PORT = _unless_set("destination.port")
X509 = "tls.server.x509."

# Per log type: zeek key -> (field name, handler). ``text`` and ``count`` entries go to the fast table.
COMMON: dict[str, tuple[str, Handler]] = {
    "id.orig_h": ("source.ip", text), "id.resp_h": ("destination.ip", text),
    "id.orig_p": ("source.port", port), "id.resp_p": ("destination.port", port),
    "uid": ("zeek.session_id", text), "proto": ("network.transport", text),
    "community_id": ("network.community_id", text),
}  # fmt: skip
SPECS: dict[str, dict[str, tuple[str, Handler]]] = {
    "conn": {"service": ("network.protocol", text), "conn_state": ("zeek.conn.state", text),
             "history": ("zeek.conn.history", text), "orig_bytes": ("source.bytes", count),
             "resp_bytes": ("destination.bytes", count), "orig_pkts": ("source.packets", count),
             "resp_pkts": ("destination.packets", count), "duration": ("event.duration", _duration),
             "orig_l2_addr": ("source.mac", _mac), "resp_l2_addr": ("destination.mac", _mac),
             "tunnel_parents": ("zeek.conn.tunnel_parents", _kept)},
    "dns": {"query": ("dns.question.name", _domain), "qtype_name": ("dns.question.type", text),
            "qclass_name": ("dns.question.class", text), "rcode_name": ("dns.response_code", text),
            "answers": ("dns.answers", _answers), "trans_id": ("dns.id", _trans_id),
            "TTLs": ("zeek.dns.TTLs", _kept)},
    "http": {"method": ("http.request.method", text), "uri": ("url.original", _uri),
             "host": ("url.domain", _host_header), "user_agent": ("user_agent.original", text),
             "referrer": ("http.request.referrer", text), "username": ("user.name", text),
             "version": ("http.version", text), "status_code": ("http.response.status_code", count),
             "request_body_len": ("http.request.body.bytes", count),
             "response_body_len": ("http.response.body.bytes", count)},
    "ssl": {"version": ("tls.version", _tls_version), "cipher": ("tls.cipher", text),
            "curve": ("tls.curve", text), "server_name": ("tls.client.server_name", _server_name),
            "resumed": ("tls.resumed", flag), "established": ("tls.established", flag),
            "next_protocol": ("tls.next_protocol", text), "ja3": ("tls.client.ja3", text),
            "ja3s": ("tls.server.ja3s", text), "subject": ("tls.server.subject", text),
            "issuer": ("tls.server.issuer", text), "client_subject": ("tls.client.subject", text),
            "client_issuer": ("tls.client.issuer", text)},
    "files": {"filename": ("file.name", text), "mime_type": ("file.mime_type", text),
              "total_bytes": ("file.size", count), "md5": ("file.hash.md5", text),
              "sha1": ("file.hash.sha1", text), "sha256": ("file.hash.sha256", text),
              "fuid": ("zeek.files.fuid", text), "source": ("network.protocol", _domain)},
    "notice": {"note": ("rule.name", text), "msg": ("message", text), "sub": ("rule.description", text),
               "src": ("source.ip", _ORIG), "dst": ("destination.ip", _RESP),
               "p": ("destination.port", _RESP_PORT), "file_mime_type": ("file.mime_type", text)},
    "dhcp": {"mac": ("host.mac", _mac), "host_name": ("host.name", text),
             "client_fqdn": ("host.hostname", text), "domain": ("host.domain", text),
             "assigned_addr": ("host.ip", text), "assigned_ip": ("host.ip", text),
             "client_addr": ("source.ip", _ORIG), "server_addr": ("destination.ip", _RESP)},
    "software": {"host": ("host.ip", text), "name": ("package.name", text),
                 "unparsed_version": ("zeek.software.unparsed_version", text)},
    "smb_files": {"name": ("file.name", text), "size": ("file.size", count),
                  "action": ("event.action", text), "path": ("file.directory", text),
                  "fuid": ("zeek.smb_files.fuid", text)},
    "smb_mapping": {"path": ("file.path", text)},
    "x509": {"certificate.version": (X509 + "version_number", count),
             "certificate.serial": (X509 + "serial_number", text),
             "certificate.subject": (X509 + "subject.distinguished_name", text),
             "certificate.issuer": (X509 + "issuer.distinguished_name", text),
             "certificate.not_valid_before": (X509 + "not_before", _epoch_or_iso),
             "certificate.not_valid_after": (X509 + "not_after", _epoch_or_iso),
             "certificate.key_alg": (X509 + "public_key_algorithm", text),
             "certificate.sig_alg": (X509 + "signature_algorithm", text),
             "certificate.key_length": (X509 + "public_key_size", count),
             "certificate.curve": (X509 + "public_key_curve", text),
             "san.dns": (X509 + "alternative_names", _texts)},
    "known_hosts": {"host": ("host.ip", text)},
    "known_services": {"host": ("destination.ip", text), "port_num": ("destination.port", port),
                       "port_proto": ("network.transport", text)},
    "weird": {"name": ("rule.name", text), "addl": ("message", text)},
    "ntlm": {"username": ("user.name", text), "domainname": ("user.domain", text),
             "hostname": ("source.domain", _domain), "success": ("event.outcome", _outcome),
             "server_dns_computer_name": ("destination.domain", _domain)},
    "kerberos": {"client": ("zeek.kerberos.client", _principal), "request_type": ("event.action", text),
                 "success": ("event.outcome", _outcome), "service": ("zeek.kerberos.service", text)},
    "ssh": {"auth_success": ("event.outcome", _outcome), "client": ("zeek.ssh.client", text),
            "server": ("zeek.ssh.server", text)},
}  # fmt: skip
CATEGORY = {
    "conn": "network", "dns": "network", "http": "web", "ssl": "network", "files": "file",
    "smb_files": "file", "notice": "intrusion_detection", "dhcp": "network", "weird": "network",
    "ntlm": "authentication", "kerberos": "authentication", "ssh": "authentication",
    "software": "package", "known_hosts": "host", "known_services": "network", "x509": "network",
}  # fmt: skip
# The handlers that ``_speedups`` runs in C, by identity (``_native.zeek_configure``): the same results.
NATIVE: dict[Handler, int] = {_duration: 1, _domain: 2, _trans_id: 3, _kept: 4, _answers: 5}
