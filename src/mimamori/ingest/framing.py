"""RFC 6587 framing of syslog over TCP: octet counting and non-transparent framing, detected per frame.

Pure and synchronous (bytes in, messages out), so the receiver stays small and the framing rules can be
tested without sockets.
"""

from __future__ import annotations

from collections import Counter

__all__ = ["TRAILERS", "Framer"]

MAX_LEN_DIGITS = 10  # longest MSG-LEN accepted as octet counting; more digits means an LF-framed line
TRAILERS = b"\r\n\x00"  # trailers tolerated after a non-transparent frame (and after a UDP message)
_NOT_COUNTED = -1
_UNDECIDED = -2


class Framer:
    """Splits a TCP byte stream into syslog messages.

    A frame starting with ``NONZERO-DIGIT *DIGIT SP`` is octet-counted (``MSG-LEN SP SYSLOG-MSG``); any
    other frame is non-transparent: it ends at LF or NUL, and a CR before the LF is dropped. Messages
    longer than ``max_message`` are skipped without losing the framing of the next one (octet counting:
    skip MSG-LEN bytes; otherwise: discard up to the next LF) and counted in ``drops`` by reason. The
    buffer never holds more than about ``max_message`` plus the last chunk fed.
    """

    def __init__(self, max_message: int) -> None:
        self._max = max_message
        self._buf = bytearray()
        self._skip = 0  # bytes of an oversize octet-counted frame still to discard
        self._discarding = False  # inside an oversize non-transparent frame, until its LF/NUL
        self.drops: Counter[str] = Counter()

    def feed(self, data: bytes) -> list[bytes]:
        """The messages completed by ``data``."""
        buf = self._buf
        buf += data
        frames: list[bytes] = []
        pos, end = 0, len(buf)
        nul = buf.find(0)  # NUL trailers are rare: search once, and again only once passed
        while pos < end:
            if self._skip:
                taken = min(self._skip, end - pos)
                pos += taken
                self._skip -= taken
                continue
            if 0 <= nul < pos:
                nul = buf.find(0, pos)
            if self._discarding:
                stop = _delimiter(buf, pos, nul)
                if stop < 0:
                    pos = end
                    break
                pos, self._discarding = stop + 1, False
                continue
            start = _octet_header(buf, pos, end) if 0x31 <= buf[pos] <= 0x39 else _NOT_COUNTED
            if start == _UNDECIDED:
                break  # only digits so far: cannot tell the framing yet
            if start != _NOT_COUNTED:
                length = int(buf[pos : start - 1])
                if length > self._max:
                    self.drops["oversize"] += 1
                    pos = min(start + length, end)
                    self._skip = start + length - pos
                    continue
                if end - start < length:
                    break  # wait for the rest of the frame
                frames.append(bytes(buf[start : start + length]))
                pos = start + length
                continue
            stop = _delimiter(buf, pos, nul)
            if stop < 0:
                if end - pos > self._max:
                    self.drops["oversize"] += 1
                    pos, self._discarding = end, True
                break
            frame = buf[pos : stop - 1] if stop > pos and buf[stop - 1] == 0x0D else buf[pos:stop]
            if len(frame) > self._max:
                self.drops["oversize"] += 1
            elif frame:
                frames.append(bytes(frame))
            pos = stop + 1
        del buf[:pos]
        return frames

    def finish(self) -> list[bytes]:
        """At the end of the stream: an unterminated last line is a message, a cut counted frame is not."""
        rest = bytes(self._buf.rstrip(TRAILERS))
        self._buf.clear()
        if self._skip or self._discarding or not rest:
            return []
        if 0x31 <= rest[0] <= 0x39 and _octet_header(bytearray(rest), 0, len(rest)) >= 0:
            self.drops["truncated"] += 1
            return []
        if len(rest) > self._max:
            self.drops["oversize"] += 1
            return []
        return [rest]


def _octet_header(buf: bytearray, pos: int, end: int) -> int:
    """Where the message after ``MSG-LEN SP`` at ``pos`` starts, else ``_NOT_COUNTED``/``_UNDECIDED``."""
    digits = pos + 1
    while digits < end and digits - pos <= MAX_LEN_DIGITS and 0x30 <= buf[digits] <= 0x39:
        digits += 1
    if digits - pos > MAX_LEN_DIGITS:
        return _NOT_COUNTED
    if digits == end:
        return _UNDECIDED
    return digits + 1 if buf[digits] == 0x20 else _NOT_COUNTED


def _delimiter(buf: bytearray, pos: int, nul: int) -> int:
    """Index of the LF or NUL ending the frame at ``pos`` (``nul``: the next NUL at or after it, or -1)."""
    lf = buf.find(b"\n", pos)
    if nul < 0:
        return lf
    return nul if lf < 0 or nul < lf else lf
