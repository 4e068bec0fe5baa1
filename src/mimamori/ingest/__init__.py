"""Receivers that turn what sensors send into RawRecords on the bus.

``syslog`` (TCP with RFC 6587 framing, UDP) and ``http`` (JSON lines / arrays, gzip) identify the sender,
stamp every record with its tenant and sensor (``routes``), count what was received or lost (``stats``)
and publish batches to the bus. Unknown senders are rejected, never guessed.
"""

from mimamori.ingest.framing import Framer
from mimamori.ingest.http import (
    BodyError,
    BodyTooLargeError,
    UnsupportedEncodingError,
    decode_body,
    read_body,
)
from mimamori.ingest.routes import Resolver, Route
from mimamori.ingest.stats import ReceiverStats, SensorCounts, StatsSnapshot, UnknownSourceCounts
from mimamori.ingest.syslog import SyslogPorts, SyslogServer

__all__ = [
    "BodyError",
    "BodyTooLargeError",
    "Framer",
    "ReceiverStats",
    "Resolver",
    "Route",
    "SensorCounts",
    "StatsSnapshot",
    "SyslogPorts",
    "SyslogServer",
    "UnknownSourceCounts",
    "UnsupportedEncodingError",
    "decode_body",
    "read_body",
]
