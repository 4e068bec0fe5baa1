"""What traffic generators and scenarios write to: one method per kind of observable event.

A sink renders each event in one log format (``fortigate.FortigateSink``, ``zeek.ZeekSink``) and appends
``(time_ns, tenant_index, line)`` to a shared list; generators never know the format. Events a format
cannot observe (a Zeek sensor sees no firewall-local denies) are rendered as what it does see, or dropped.
"""

# ruff: noqa: PLR0917  # event methods mirror fixed log fields; call sites stay short and positional

from __future__ import annotations

from datetime import date, timedelta
from typing import Protocol

from mimamori.sim.model import SimDevice

Emitted = tuple[int, int, bytes]  # (event time in ns since the epoch, tenant index, one record)


class Sink(Protocol):
    """The observable events of one tenant's network, all originated by a LAN device unless stated."""

    def traffic(
        self,
        t: int,
        dev: SimDevice,
        dst_ip: str,
        dst_port: int,
        proto: int,
        service: str,
        country: str,
        sent: int,
        rcvd: int,
        duration: int,
        *,
        action: str = "close",
    ) -> None:
        """A finished (or denied) forward session from ``dev`` to the internet."""

    def inbound_deny(
        self, t: int, src_ip: str, src_port: int, dst_port: int, proto: int, service: str
    ) -> None:
        """An unsolicited inbound packet to the WAN address, dropped by the firewall."""

    def dns(self, t: int, dev: SimDevice, resolver: str, qname: str, answers: tuple[str, ...]) -> None:
        """A DNS A query from ``dev`` and its answer (empty answers mean NXDOMAIN)."""

    def webfilter(
        self, t: int, dev: SimDevice, host: str, ip: str, url: str, cat: int, catdesc: str, blocked: bool
    ) -> None:
        """A web-filter verdict on an HTTP(S) request."""

    def virus(
        self,
        t: int,
        dev: SimDevice,
        peer_ip: str,
        service: str,
        url: str,
        filename: str,
        virus: str,
        **mail: str,
    ) -> None:
        """An infected file blocked by the antivirus profile (download or mail attachment)."""

    def ips(
        self, t: int, dev: SimDevice, peer_ip: str, dst_port: int, attack: str, attackid: int, sev: str
    ) -> None:
        """An IPS signature match on a session of ``dev``, dropped."""

    def app_ctrl(
        self, t: int, dev: SimDevice, dst_ip: str, host: str, app: str, appid: int, appcat: str
    ) -> None:
        """An application-control sighting on a session of ``dev``."""

    def spam(
        self,
        t: int,
        dev: SimDevice,
        server_ip: str,
        sender: str,
        subject: str,
        *,
        msg: str = "",
        attachment: str = "no",
    ) -> None:
        """A mail retrieved by ``dev`` over IMAPS and tagged by the email filter (``msg`` says why)."""


class Clock:
    """Formats ns timestamps as Japan local date and time strings, cheaply (one cached day at a time)."""

    OFFSET_NS = 9 * 3600 * 10**9  # JST is UTC+9 all year round
    _DAY_NS = 86400 * 10**9
    _TOD: tuple[str, ...] = ()  # "HH:MM:SS" for every second of a day, built on first use

    def __init__(self) -> None:
        self._day = -1
        self._date = ""
        if not Clock._TOD:
            Clock._TOD = tuple(f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(86400))

    def date_time(self, t: int) -> tuple[str, str]:
        """``("2026-11-26", "10:01:02")`` in JST for ``t`` ns since the epoch."""
        local = t + self.OFFSET_NS
        day = local // self._DAY_NS
        if day != self._day:
            self._day = day
            self._date = (date(1970, 1, 1) + timedelta(days=day)).isoformat()
        return self._date, self._TOD[(local - day * self._DAY_NS) // 1_000_000_000]
