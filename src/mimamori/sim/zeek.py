"""Zeek JSON rendering (``LogAscii::use_json=T``): conn.log and dns.log lines of Zeek 5/6.

Several log types share one stream, so every line carries ``_path`` first, as Zeek's JSON streaming writer
does. ``ts`` is a UTC epoch float with microseconds. The sensor is assumed on the LAN side (mirror port
behind the firewall): it sees LAN addresses and never sees probes the firewall dropped on its WAN side.
"""

# ruff: noqa: PLR0917  # implements the positional Sink protocol

from __future__ import annotations

import random

from mimamori.sim.model import SimDevice, SimTenant
from mimamori.sim.sink import Emitted

FORMAT = "zeek"
_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


class ZeekSink:
    """Renders one tenant's events as Zeek JSON lines into ``out``."""

    def __init__(self, tenant: SimTenant, rng: random.Random, out: list[Emitted]) -> None:
        self._index = tenant.index
        self._rng = rng
        self._out = out

    def _uid(self) -> str:
        n = self._rng.getrandbits(96)
        chars = ["C"]
        for _ in range(17):
            n, r = divmod(n, 62)
            chars.append(_B62[r])
        return "".join(chars)

    def _port(self) -> int:
        return 49152 + self._rng.getrandbits(14)

    def _conn(
        self,
        t: int,
        orig: str,
        oport: int,
        resp: str,
        rport: int,
        proto: str,
        service: str | None,
        duration: float,
        sent: int,
        rcvd: int,
        state: str,
        history: str,
        uid: str | None = None,
    ) -> None:
        opk = sent // 700 + 1
        rpk = rcvd // 1200 + 1 if rcvd else 0
        hdr = 20 if proto == "tcp" else 8
        svc = f'"service":"{service}",' if service else ""
        local_resp = "true" if resp.startswith(("192.168.", "10.")) else "false"
        line = (
            f'{{"_path":"conn","ts":{t / 1e9:.6f},"uid":"{uid or self._uid()}","id.orig_h":"{orig}",'
            f'"id.orig_p":{oport},"id.resp_h":"{resp}","id.resp_p":{rport},"proto":"{proto}",{svc}'
            f'"duration":{duration:.6f},"orig_bytes":{sent},"resp_bytes":{rcvd},"conn_state":"{state}",'
            f'"local_orig":{"false" if local_resp == "true" else "true"},"local_resp":{local_resp},'
            f'"missed_bytes":0,"history":"{history}","orig_pkts":{opk},'
            f'"orig_ip_bytes":{sent + opk * (hdr + 20)},'
            f'"resp_pkts":{rpk},"resp_ip_bytes":{rcvd + rpk * (hdr + 20) if rcvd else 0}}}'
        )
        self._out.append((t, self._index, line.encode()))

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
        """conn.log entry of the session (S0 for a denied one)."""
        tcp = proto == 6
        svc = {
            "HTTPS": "ssl",
            "HTTP": "http",
            "SMTP": "smtp",
            "NTP": "ntp",
            "IMAPS": "ssl",
            "POP3S": "ssl",
        }.get(service)
        if action == "deny":
            state, hist, sent, rcvd, svc = "S0", "S" if tcp else "D", 0, 0, None
        else:
            state, hist = "SF", "ShADadFf" if tcp else "Dd"
        dur = duration + self._rng.random()
        self._conn(
            t,
            dev.ip,
            self._port(),
            dst_ip,
            dst_port,
            "tcp" if tcp else "udp",
            svc,
            dur,
            sent,
            rcvd,
            state,
            hist,
        )

    def inbound_deny(
        self, t: int, src_ip: str, src_port: int, dst_port: int, proto: int, service: str
    ) -> None:
        """Not visible to a LAN-side sensor: dropped."""

    def dns(self, t: int, dev: SimDevice, resolver: str, qname: str, answers: tuple[str, ...]) -> None:
        """dns.log entry plus the conn.log entry of the UDP exchange."""
        uid = self._uid()
        port = self._port()
        rtt = 0.004 + self._rng.random() * 0.03
        rcode, rname = (0, "NOERROR") if answers else (3, "NXDOMAIN")
        ans = ",".join(f'"{a}"' for a in answers)
        ttls = ",".join("300.0" for _ in answers)
        extra = f',"answers":[{ans}],"TTLs":[{ttls}]' if answers else ""
        line = (
            f'{{"_path":"dns","ts":{t / 1e9:.6f},"uid":"{uid}","id.orig_h":"{dev.ip}","id.orig_p":{port},'
            f'"id.resp_h":"{resolver}","id.resp_p":53,"proto":"udp","trans_id":{self._rng.getrandbits(16)},'
            f'"rtt":{rtt:.6f},"query":"{qname}","qclass":1,"qclass_name":"C_INTERNET","qtype":1,'
            f'"qtype_name":"A","rcode":{rcode},"rcode_name":"{rname}","AA":false,"TC":false,"RD":true,'
            f'"RA":true,"Z":0{extra},"rejected":false}}'
        )
        self._out.append((t, self._index, line.encode()))
        self._conn(
            t,
            dev.ip,
            port,
            resolver,
            53,
            "udp",
            "dns",
            rtt,
            40 + len(qname),
            56 + 16 * len(answers) + len(qname),
            "SF",
            "Dd",
            uid,
        )

    def webfilter(
        self, t: int, dev: SimDevice, host: str, ip: str, url: str, cat: int, catdesc: str, blocked: bool
    ) -> None:
        """conn.log entry of the web session (a short one when the firewall blocked it)."""
        https = url.startswith("https")
        rcvd = 1500 if blocked else 20000 + self._rng.getrandbits(18)
        svc = "ssl" if https else "http"
        self._conn(
            t, dev.ip, self._port(), ip, 443 if https else 80, "tcp", svc, 0.2, 600, rcvd, "SF", "ShADadFf"
        )

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
        """conn.log entry of the session that carried the file (Zeek has no verdict)."""
        port = {"HTTP": 80, "HTTPS": 443, "IMAPS": 993, "POP3S": 995}.get(service, 80)
        svc = "http" if port == 80 else "ssl"
        self._conn(t, dev.ip, self._port(), peer_ip, port, "tcp", svc, 1.5, 900, 180000, "RSTR", "ShADadR")

    def ips(
        self, t: int, dev: SimDevice, peer_ip: str, dst_port: int, attack: str, attackid: int, sev: str
    ) -> None:
        """conn.log entry of the inbound attack attempt, reset by the firewall."""
        self._conn(t, peer_ip, self._port(), dev.ip, dst_port, "tcp", None, 0.05, 300, 0, "RSTO", "ShADR")

    def app_ctrl(
        self, t: int, dev: SimDevice, dst_ip: str, host: str, app: str, appid: int, appcat: str
    ) -> None:
        """Application control has no Zeek counterpart here (the session is logged by ``traffic``)."""

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
        """conn.log entry of the IMAPS retrieval."""
        self._conn(t, dev.ip, self._port(), server_ip, 993, "tcp", "ssl", 2.0, 2000, 60000, "SF", "ShADadFf")
