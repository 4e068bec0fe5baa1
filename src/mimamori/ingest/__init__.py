"""Receivers that turn what sensors send into RawRecords on the bus.

``syslog`` (TCP with RFC 6587 framing, TLS per RFC 5425, UDP), ``http`` (JSON lines / arrays, gzip) and
``watch`` (log files another program writes) identify the sender,
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
from mimamori.ingest.routes import AddressResolver, Resolver, Route, RouteTable, SenderResolver
from mimamori.ingest.stats import ReceiverStats, SensorCounts, StatsSnapshot, UnknownSourceCounts
from mimamori.ingest.syslog import SyslogPorts, SyslogServer
from mimamori.ingest.tls import server_context
from mimamori.ingest.watch import DirectoryWatcher, WatchSource

__all__ = [
    "AddressResolver",
    "BodyError",
    "BodyTooLargeError",
    "DirectoryWatcher",
    "Framer",
    "ReceiverStats",
    "Resolver",
    "Route",
    "RouteTable",
    "SenderResolver",
    "SensorCounts",
    "StatsSnapshot",
    "SyslogPorts",
    "SyslogServer",
    "UnknownSourceCounts",
    "UnsupportedEncodingError",
    "WatchSource",
    "decode_body",
    "read_body",
    "server_context",
]
