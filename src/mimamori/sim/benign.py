"""Benign background traffic of one SME network: what a quiet office looks like to its FortiGate.

Web browsing, DNS, cloud office, OS and antivirus updates, mail, NTP, printer chatter, inbound scans
dropped at the WAN, and the UTM's everyday verdicts (web-filter blocks, a blocked virus, an IPS drop,
spam). Nothing here ever touches a listed indicator; the legacy Windows XP PC gets no updates and, having
no antivirus, never appears in antivirus logs.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import random
from collections.abc import Callable

from mimamori.sim import catalog
from mimamori.sim.catalog import Destination
from mimamori.sim.model import SimDevice, SimTenant
from mimamori.sim.sink import Sink

# Event mix: (weight, kind). Weights are relative frequencies of records.
MIX: tuple[tuple[float, str], ...] = (
    (0.32, "web"),
    (0.18, "dns"),
    (0.14, "office"),
    (0.05, "update"),
    (0.04, "mail"),
    (0.03, "av"),
    (0.02, "ntp"),
    (0.02, "printer"),
    (0.12, "scan"),
    (0.03, "app"),
    (0.012, "webblock"),
    (0.004, "virus"),
    (0.002, "ips"),
    (0.006, "spam"),
)
_CUM = list(itertools.accumulate(w for w, _ in MIX))
_KINDS = tuple(k for _, k in MIX)
_BY_KIND: dict[str, tuple[Destination, ...]] = {
    kind: tuple(d for d in catalog.DESTINATIONS if d.kind == kind)
    for kind in {d.kind for d in catalog.DESTINATIONS}
}
_MX = (("142.250.157.26", "United States"), ("52.101.68.12", "Japan"), ("210.131.2.30", "Japan"))
_APPS = (
    ("teams.microsoft.com", "52.113.194.132", "Microsoft.Teams", 43541, "Collaboration"),
    ("www.youtube.com", "142.250.198.14", "YouTube", 31077, "Video/Audio"),
    ("line.me", "147.92.170.150", "LINE", 17474, "Collaboration"),
    ("drive.google.com", "142.251.42.174", "Google.Drive", 24007, "Storage.Backup"),
)


class BenignTraffic:
    """Draws benign events for one tenant; call :meth:`run` for each time window."""

    def __init__(self, tenant: SimTenant, rng: random.Random, sink: Sink) -> None:
        self._rng = rng
        self._sink = sink
        self._clients = tenant.by_role("pc", "laptop", "legacy") or tenant.devices
        self._protected = tuple(d for d in self._clients if d.role != "legacy") or self._clients
        self._windows = tuple(d for d in self._protected if d.os_name == "Windows")
        self._apple = tuple(d for d in tenant.devices if d.vendor == "Apple")
        self._people = self._clients + tenant.by_role("phone")
        self._printer = tenant.by_role("printer")
        self._servers = tenant.by_role("server", "mail", "printer") or self._clients
        self._mail = tenant.by_role("mail")
        self._exposed = tenant.by_role("mail", "server") or self._clients
        one = self._one
        self._handlers: tuple[Callable[[int], None], ...] = tuple(
            (self._web if kind == "web" else functools.partial(one, kind)) for kind in _KINDS
        )

    def run(self, start_ns: int, end_ns: int, per_minute: float) -> None:
        """Emit events with exponential inter-arrival times at ``per_minute`` on average in the window."""
        rng = self._rng
        rate = per_minute / 60e9  # events per ns
        t = start_ns + int(rng.expovariate(rate))
        pick = bisect.bisect_right
        total = _CUM[-1]
        handlers = self._handlers
        last = len(_KINDS) - 1
        expo = rng.expovariate
        draw = rng.random
        while t < end_ns:
            handlers[min(pick(_CUM, draw() * total), last)](t)
            t += int(expo(rate)) + 1

    def _choice(self, seq: tuple[SimDevice, ...]) -> SimDevice:
        return seq[int(self._rng.random() * len(seq))]

    def _dest(self, kind: str) -> Destination:
        seq = _BY_KIND[kind]
        return seq[int(self._rng.random() * len(seq))]

    def _session(self, t: int, dev: SimDevice, d: Destination, scale: int) -> None:
        rng = self._rng
        sent = 500 + int(rng.random() * scale // 8)
        rcvd = 1500 + int(rng.paretovariate(1.2) * scale)
        proto = 17 if d.service == "NTP" else 6
        self._sink.traffic(
            t, dev, d.ip, d.port, proto, d.service, d.country, sent, rcvd, 1 + int(rng.random() * 120)
        )

    def _web(self, t: int) -> None:
        self._session(t, self._choice(self._people), self._dest("web"), 30000)

    def _one(self, kind: str, t: int) -> None:
        rng, sink = self._rng, self._sink
        if kind == "dns":
            d = self._dest(("web", "office", "update", "apple", "av")[int(rng.random() * 5)])
            sink.dns(t, self._choice(self._people), catalog.RESOLVERS[t & 1], d.host, (d.ip,))
        elif kind == "office":
            self._session(t, self._choice(self._protected), self._dest("office"), 60000)
        elif kind == "update":
            if self._apple and rng.random() < 0.3:
                self._session(t, self._choice(self._apple), self._dest("apple"), 400000)
            else:
                self._session(t, self._choice(self._windows or self._protected), self._dest("update"), 400000)
        elif kind == "mail":
            self._mail_event(t)
        elif kind == "av":
            self._session(t, self._choice(self._windows or self._protected), self._dest("av"), 50000)
        elif kind == "ntp":
            dev, d = self._choice(self._servers), self._dest("ntp")
            sink.traffic(t, dev, d.ip, 123, 17, "NTP", d.country, 76, 76, 1)
        elif kind == "printer" and self._printer:
            prn = self._printer[0]
            self._session(t, prn, catalog.PRINTER_CLOUD.get(prn.vendor, self._dest("web")), 2000)
        elif kind in {"scan", "printer"}:
            port, proto, service = catalog.SCAN_PORTS[int(rng.random() * len(catalog.SCAN_PORTS))]
            src = f"198.18.{int(rng.random() * 256)}.{1 + int(rng.random() * 254)}"
            sink.inbound_deny(t, src, 1024 + int(rng.random() * 64000), port, proto, service)
        elif kind == "app":
            host, ip, app, appid, cat = _APPS[int(rng.random() * len(_APPS))]
            sink.app_ctrl(t, self._choice(self._protected), ip, host, app, appid, cat)
        else:
            self._utm_event(kind, t)

    def _mail_event(self, t: int) -> None:
        rng, sink = self._rng, self._sink
        if self._mail and rng.random() < 0.5:
            ip, country = _MX[int(rng.random() * len(_MX))]
            size = 3000 + int(rng.paretovariate(1.5) * 8000)
            sink.traffic(t, self._mail[0], ip, 25, 6, "SMTP", country, size, 800, 2)
        else:
            self._session(t, self._choice(self._protected), self._dest("mail"), 20000)

    def _utm_event(self, kind: str, t: int) -> None:
        rng, sink = self._rng, self._sink
        if kind == "webblock":
            host, ip, cat, desc = catalog.BLOCKED_SITES[int(rng.random() * len(catalog.BLOCKED_SITES))]
            sink.webfilter(t, self._choice(self._people), host, ip, f"https://{host}/", cat, desc, True)
        elif kind == "virus":
            virus = catalog.NOISE_VIRUS[int(rng.random() * len(catalog.NOISE_VIRUS))]
            host = "files.sample-mirror.example"
            sink.virus(
                t,
                self._choice(self._protected),
                "198.18.20.7",
                "HTTP",
                f"http://{host}/pkg/setup.zip",
                "setup.zip",
                virus,
            )
        elif kind == "ips":
            attack, attackid, sev = catalog.NOISE_IPS[int(rng.random() * len(catalog.NOISE_IPS))]
            src = f"198.19.{int(rng.random() * 256)}.{1 + int(rng.random() * 254)}"
            sink.ips(
                t, self._choice(self._exposed), src, 445 if "SMB" in attack else 443, attack, attackid, sev
            )
        else:
            subject = catalog.SPAM_SUBJECTS[int(rng.random() * len(catalog.SPAM_SUBJECTS))]
            d = self._dest("mail")
            sink.spam(t, self._choice(self._protected), d.ip, "info@promo-mail.sample.example", subject)
