"""The sensor token in RFC 5424 structured data: ``[mimamori@32473 token="..."]``.

A sender that cannot present a TLS client certificate and has no fixed address (a notebook, a site
behind changing NAT) identifies itself with its sensor token in an SD element of our private enterprise
number; e.g. ``<134>1 2026-11-26T10:00:00+09:00 fw01 - - - [mimamori@32473 token="..."] msg``. The
receiver only reads the token: the record keeps every byte as received.

Called for every message of a syslog stream, so one compiled pattern rejects the common cases at once:
anything that is not an RFC 5424 header, and an RFC 5424 header whose STRUCTURED-DATA is the NILVALUE.
"""

from __future__ import annotations

import re

__all__ = ["SD_ID", "TOKEN_PARAM", "token"]

SD_ID = b"mimamori@32473"  # SD-ID: our name @ private enterprise number
TOKEN_PARAM = b"token"
_BACKSLASH, _QUOTE, _CLOSE = 0x5C, 0x22, 0x5D
# PRI VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID SP, then an SD element must follow.
# Fields are bounded (RFC 5424 allows at most 255 octets for any of them), so garbage fails fast.
_HEADER = re.compile(rb"<[0-9]{1,3}>[1-9][0-9]{0,2}(?: [^ ]{1,255}){5} (?=\[)")
_VALUE = rb'"(?:[^"\\]|\\.)*"'  # PARAM-VALUE with its escapes; the alternatives are disjoint: linear
_ELEMENT = re.compile(rb'\[([^ =\]"]+)((?: [^ =\]"]+=' + _VALUE + rb")*)\]", re.DOTALL)
_PARAM = re.compile(rb' ([^ =\]"]+)="((?:[^"\\]|\\.)*)"', re.DOTALL)


def token(message: bytes) -> str | None:
    """The first ``token`` parameter of the first ``mimamori@32473`` SD element, else ``None``.

    Malformed structured data yields ``None`` (as if no token were sent); escapes (``\\"``, ``\\\\``,
    ``\\]``) are undone and invalid UTF-8 is replaced, so the result is always a ``str``.
    """
    header = _HEADER.match(message)
    if header is None:
        return None
    pos, end = header.end(), len(message)
    while pos < end and message[pos] == 0x5B:  # "["
        element = _ELEMENT.match(message, pos)
        if element is None:
            return None
        if element[1] == SD_ID:
            for param in _PARAM.finditer(element[2]):
                if param[1] == TOKEN_PARAM:
                    return _unescape(param[2]).decode("utf-8", "replace")
        pos = element.end()
    return None


def _unescape(value: bytes) -> bytes:
    r"""Undo the escapes of RFC 5424 §6.3.3: ``\"``, ``\\`` and ``\]``; other backslashes stay."""
    if b"\\" not in value:
        return value
    out = bytearray()
    i, end = 0, len(value)
    while i < end:
        char = value[i]
        if char == _BACKSLASH and i + 1 < end and value[i + 1] in (_QUOTE, _BACKSLASH, _CLOSE):
            out.append(value[i + 1])
            i += 2
        else:
            out.append(char)
            i += 1
    return bytes(out)
