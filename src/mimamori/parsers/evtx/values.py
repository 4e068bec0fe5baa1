"""Value normalisation shared by the channel mappings: Windows placeholders, numbers, addresses, paths.

Every function takes the record's ``EventData`` items (``Data``: original names to text) or writes into
the Event's flat ``Fields``; none raises on odd input (it returns None or writes nothing instead).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

from mimamori.domain.models import Fields, FieldValue
from mimamori.parsers import _native
from mimamori.parsers._fast import BoundedCache

__all__ = [
    "NONE", "Data", "account", "category", "cleared_by", "copy", "executable", "file", "get", "hashes",
    "ip", "keywords", "number", "user",
]  # fmt: skip

Data = dict[str, FieldValue]  # the record's EventData items by their original names

_UD = "winlog.user_data."
NONE: frozenset[str] = frozenset(("", "-", "Unknown", "N/A"))  # what Windows writes for "no value"
_HASHES = {"MD5": "md5", "SHA1": "sha1", "SHA256": "sha256", "IMPHASH": "imphash"}
_IPS: BoundedCache[str, str] = BoundedCache(4096)  # address text as logged -> canonical text or ""


def _get(data: Data, name: str) -> str | None:
    """A data item's text, or None when absent or a Windows "no value" placeholder."""
    value = data.get(name)
    return value if type(value) is str and value not in NONE else None


def _copy(fields: Fields, data: Data, names: dict[str, str]) -> None:
    """``fields[name] = get(data, key)`` for every ``key: name`` of ``names`` whose value ``get`` keeps."""
    for key, name in names.items():
        value = get(data, key)
        if value is not None:
            fields[name] = value


# The C versions when the speedups are built (``_native``; ``parsers.evtx`` configures them with NONE).
get: Callable[[Data, str], str | None] = _native.evtx_get or _get
copy: Callable[[Fields, Data, dict[str, str]], None] = _native.evtx_copy or _copy


def number(value: str | None) -> int | None:
    """Decimal or ``0x`` hexadecimal (Security writes process ids in hex) to int."""
    if not value or len(value) > 20:
        return None
    try:
        number = int(value, 16) if value[:2] in ("0x", "0X") else int(value)
    except ValueError:
        return None
    return number if 0 <= number < 2**63 else None


def keywords(value: object) -> int | None:
    """``System/Keywords`` (``0x8020000000000000``: a 64-bit mask, above the signed range) to int."""
    if type(value) is not str or not value.startswith("0x") or len(value) > 18:
        return None
    try:
        return int(value, 16)
    except ValueError:
        return None


def ip(value: str | None) -> str | None:
    """An IPv4/IPv6 address in canonical text (``::ffff:`` and ``%zone`` dropped), or None.

    ``ipaddress`` costs microseconds per call and a log repeats few addresses: results are memoised
    (bounded; "" stands for "not an address").
    """
    if not value:
        return None
    known = _IPS.get(value)
    if known is None:
        try:
            known = str(ipaddress.ip_address(value.removeprefix("::ffff:").partition("%")[0]))
        except ValueError:
            known = ""
        if len(value) <= 64:
            _IPS.put(value, known)
    return known or None


def category(fields: Fields, entry: tuple[str, str, str] | None) -> None:
    if entry is not None:
        fields["event.category"] = [entry[0]]
        fields["event.type"] = [entry[1]]
        fields["event.action"] = entry[2]


def executable(fields: Fields, prefix: str, path: str | None) -> None:
    if path:
        fields[prefix + ".executable"] = path
        fields[prefix + ".name"] = path.rpartition("\\")[2].rpartition("/")[2]


def file(fields: Fields, path: str | None) -> None:
    if path:
        directory, _, name = path.rpartition("\\")
        fields["file.path"] = path
        fields["file.name"] = name
        if directory:
            fields["file.directory"] = directory


def user(fields: Fields, prefix: str, name: str | None, domain: str | None, sid: str | None) -> None:
    if name is not None:
        fields[prefix + ".name"] = name
    if domain is not None:
        fields[prefix + ".domain"] = domain
    if sid is not None:
        fields[prefix + ".id"] = sid


def account(fields: Fields, prefix: str, value: str | None) -> None:
    """``DOMAIN\\name`` (Sysmon ``User``, Defender ``Detection User``) into name and domain."""
    if value:
        domain, _, name = value.rpartition("\\")
        user(fields, prefix, name, domain or None, None)


def _hash_fields(prefix: str) -> dict[str, str]:
    return {
        algorithm: f"{prefix}.pe.imphash" if name == "imphash" else f"{prefix}.hash.{name}"
        for algorithm, name in _HASHES.items()
    }


_HASH_FIELDS = {prefix: _hash_fields(prefix) for prefix in ("process", "file")}


def hashes(fields: Fields, prefix: str, value: str | None) -> None:
    """Sysmon ``SHA1=..,MD5=..,SHA256=..,IMPHASH=..`` into ``<prefix>.hash.*`` (lower-case hex)."""
    if not value:
        return
    targets = _HASH_FIELDS.get(prefix) or _hash_fields(prefix)
    for part in value.split(","):
        algorithm, _, digest = part.partition("=")
        target = targets.get(algorithm) or targets.get(algorithm.strip().upper())
        if target is not None and digest:
            fields[target] = digest.strip().lower()


def cleared_by(fields: Fields) -> None:
    """The account that cleared a log (1102, 104: ``UserData/LogFileCleared``)."""
    for key, name in (("SubjectUserName", "user.name"), ("SubjectDomainName", "user.domain")):
        value = fields.get(_UD + key)
        if type(value) is str and value:
            fields[name] = value
