"""FortiGate syslog rendering, as FortiOS 6.4/7.x sends it (default format, key=value, local7 facility).

Field names, their order and the log ids follow the FortiOS Log Message Reference and Fortinet's sample
logs: traffic forward ``0000000013``, traffic local ``0001000014``, virus ``0211008192``, webfilter block
``0316013056`` / allow ``0317013312``, IPS ``0419016384``, emailfilter (IMAP) ``0510020491``,
app-ctrl ``1059028704``, DNS response ``1501054802``. Times are Japan local time with ``tz="+0900"``;
``eventtime`` is in nanoseconds. Each line starts with its syslog PRI (``<189>`` = local7.notice).
"""

# ruff: noqa: PLR0917  # implements the positional Sink protocol

from __future__ import annotations

import random
import zlib

from mimamori.sim.model import SimDevice, SimTenant
from mimamori.sim.sink import Clock, Emitted

FORMAT = "fortigate"
_PRI = {"alert": 185, "warning": 188, "notice": 189, "information": 190}
_POLICY_UUID = "5c8a0f3e-2b7d-51ee-9d1a-3f6c2e8b4a10"


class FortigateSink:
    """Renders one tenant's events as FortiGate syslog lines into ``out``."""

    def __init__(self, tenant: SimTenant, rng: random.Random, out: list[Emitted]) -> None:
        self._tenant = tenant
        self._index = tenant.index
        self._rng = rng
        self._out = out
        self._clock = Clock()
        self._session = rng.randrange(10**6, 10**8)
        self._wan = tenant.wan_ip
        self._dev_tail: dict[str, str] = {}
        self._dev_head: dict[str, str] = {}
        self._devname = f'devname="{tenant.firewall_name}" devid="{tenant.firewall_serial}"'

    # -- helpers ---------------------------------------------------------------------------------

    def _emit(self, t: int, level: str, body: str) -> None:
        day, tod = self._clock.date_time(t)
        line = f'<{_PRI[level]}>date={day} time={tod} {self._devname} eventtime={t} tz="+0900" {body}'
        self._out.append((t, self._index, line.encode()))

    def _next_session(self) -> int:
        self._session += 1 + (self._session & 3)
        return self._session

    def _src(self, dev: SimDevice) -> str:
        head = self._dev_head.get(dev.name)
        if head is None:
            intf = (
                '"wifi" srcintfrole="lan"'
                if dev.role in ("phone", "byod")
                else '"internal" srcintfrole="lan"'
            )
            head = f'srcip={dev.ip} srcname="{dev.name}" srcport=%d srcintf={intf}'
            self._dev_head[dev.name] = head
        return head

    def _tail(self, dev: SimDevice) -> str:
        tail = self._dev_tail.get(dev.name)
        if tail is None:
            os_part = f'osname="{dev.os_name}" ' if dev.os_name else ""
            if dev.os_version:
                os_part += f'osversion="{dev.os_version}" '
            tail = (
                f'{os_part}mastersrcmac="{dev.mac}" srcmac="{dev.mac}" srcserver=0 '
                f'devtype="{dev.device_type}" srchwvendor="{dev.vendor}"'
            )
            self._dev_tail[dev.name] = tail
        return tail

    def _port(self) -> int:
        return 49152 + self._rng.getrandbits(14)

    # -- the Sink protocol -----------------------------------------------------------------------

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
        """Forward traffic log (logid 0000000013) written when the session ends."""
        sport = self._port()
        head = self._src(dev) % sport
        spkt = sent // 700 + 1
        rpkt = rcvd // 1200 + 1
        policy = 0 if action == "deny" else 1
        nat = "" if action == "deny" else f'trandisp="snat" transip={self._wan} transport={sport} '
        self._emit(
            t,
            "notice",
            f'logid="0000000013" type="traffic" subtype="forward" level="notice" vd="root" {head} '
            f'dstip={dst_ip} dstport={dst_port} dstintf="wan1" dstintfrole="wan" '
            f"sessionid={self._next_session()} "
            f'proto={proto} action="{action}" policyid={policy} policytype="policy" poluuid="{_POLICY_UUID}" '
            f'service="{service}" dstcountry="{country}" srccountry="Reserved" {nat}duration={duration} '
            f"sentbyte={sent} rcvdbyte={rcvd} sentpkt={spkt} rcvdpkt={rpkt} "
            f'appcat="unscanned" {self._tail(dev)}',
        )

    def inbound_deny(
        self, t: int, src_ip: str, src_port: int, dst_port: int, proto: int, service: str
    ) -> None:
        """Local-in traffic log (logid 0001000014) of a denied probe to the WAN address."""
        self._emit(
            t,
            "notice",
            f'logid="0001000014" type="traffic" subtype="local" level="notice" vd="root" srcip={src_ip} '
            f'srcport={src_port} srcintf="wan1" srcintfrole="wan" dstip={self._wan} dstport={dst_port} '
            f'dstintf="root" dstintfrole="undefined" srccountry="Reserved" dstcountry="Reserved" '
            f'sessionid={self._next_session()} proto={proto} action="deny" policyid=0 '
            f'policytype="local-in-policy" service="{service}" trandisp="noop" duration=0 sentbyte=0 '
            f'rcvdbyte=0 sentpkt=0 rcvdpkt=0 appcat="unscanned" crscore=5 craction=262144 crlevel="low"',
        )

    def dns(self, t: int, dev: SimDevice, resolver: str, qname: str, answers: tuple[str, ...]) -> None:
        """DNS filter response log (logid 1501054802)."""
        ipaddr = f'ipaddr="{", ".join(answers)}" ' if answers else ""
        cat = (
            'cat=52 catdesc="Information Technology"' if answers else 'cat=90 catdesc="Newly Observed Domain"'
        )
        if qname.endswith((".example", ".invalid")) and answers:
            cat = 'cat=90 catdesc="Newly Observed Domain"'
        self._emit(
            t,
            "notice",
            f'logid="1501054802" type="utm" subtype="dns" eventtype="dns-response" level="notice" vd="root" '
            f"policyid=1 sessionid={self._next_session()} srcip={dev.ip} srcport={self._port()} "
            f'srccountry="Reserved" srcintf="internal" srcintfrole="lan" dstip={resolver} dstport=53 '
            f'dstcountry="United States" dstintf="wan1" dstintfrole="wan" proto=17 profile="default" '
            f'srcmac="{dev.mac}" xid={self._rng.getrandbits(16)} qname="{qname}" '
            f'qtype="A" qtypeval=1 qclass="IN" '
            f'{ipaddr}msg="Domain is monitored" action="pass" {cat}',
        )

    def webfilter(
        self, t: int, dev: SimDevice, host: str, ip: str, url: str, cat: int, catdesc: str, blocked: bool
    ) -> None:
        """Web filter log: FortiGuard category block (0316013056) or monitored allow (0317013312)."""
        if blocked:
            ids = 'logid="0316013056" type="utm" subtype="webfilter" eventtype="ftgd_blk" level="warning"'
            verdict = 'action="blocked"'
            msg = 'msg="URL belongs to a denied category in policy"'
            tail = ' crscore=30 craction=4194304 crlevel="high"'
        else:
            ids = 'logid="0317013312" type="utm" subtype="webfilter" eventtype="ftgd_allow" level="notice"'
            verdict = 'action="passthrough"'
            msg = 'msg="URL belongs to an allowed category in policy"'
            tail = ""
        service, dport = ("HTTPS", 443) if url.startswith("https") else ("HTTP", 80)
        path = url.split(host, 1)[-1] or "/"
        self._emit(
            t,
            "warning" if blocked else "notice",
            f'{ids} vd="root" policyid=1 sessionid={self._next_session()} '
            f"srcip={dev.ip} srcport={self._port()} "
            f'srccountry="Reserved" srcintf="internal" srcintfrole="lan" dstip={ip} dstport={dport} '
            f'dstcountry="Reserved" dstintf="wan1" dstintfrole="wan" proto=6 service="{service}" '
            f'hostname="{host}" profile="default" {verdict} reqtype="direct" url="{path}" '
            f'sentbyte={400 + self._rng.getrandbits(9)} rcvdbyte=0 direction="outgoing" {msg} '
            f'method="domain" '
            f'cat={cat} catdesc="{catdesc}"{tail}',
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
        """Antivirus log (logid 0211008192): an infected file blocked in a download or a mail."""
        dport = {"HTTP": 80, "HTTPS": 443, "IMAPS": 993, "POP3S": 995, "SMTP": 25}.get(service, 80)
        where = f'url="{url}" ' if url else ""
        if mail:
            where += f'from="{mail.get("sender", "")}" to="{mail.get("recipient", "")}" '
        self._emit(
            t,
            "warning",
            f'logid="0211008192" type="utm" subtype="virus" eventtype="infected" level="warning" vd="root" '
            f'msg="File is infected." action="blocked" service="{service}" sessionid={self._next_session()} '
            f'srcip={dev.ip} dstip={peer_ip} srcport={self._port()} dstport={dport} srccountry="Reserved" '
            f'dstcountry="Reserved" srcintf="internal" srcintfrole="lan" dstintf="wan1" dstintfrole="wan" '
            f'policyid=1 proto=6 direction="incoming" filename="{filename}" '
            f'quarskip="File-was-not-quarantined" '
            f'virus="{virus}" viruscat="Virus" dtype="av-engine" ref="http://www.fortinet.com/ve?vn={virus}" '
            f"virusid={zlib.crc32(virus.encode()) % 10**7} {where}"
            f'profile="default" analyticssubmit="false" crscore=50 craction=2 crlevel="critical"',
        )

    def ips(
        self, t: int, dev: SimDevice, peer_ip: str, dst_port: int, attack: str, attackid: int, sev: str
    ) -> None:
        """IPS signature log (logid 0419016384): an inbound attack on ``dev`` dropped."""
        self._emit(
            t,
            "alert",
            f'logid="0419016384" type="utm" subtype="ips" eventtype="signature" level="alert" vd="root" '
            f'severity="{sev}" srcip={peer_ip} srccountry="Reserved" dstip={dev.ip} dstcountry="Reserved" '
            f'srcintf="wan1" srcintfrole="wan" dstintf="internal" dstintfrole="lan" '
            f'sessionid={self._next_session()} action="dropped" proto=6 service="tcp/{dst_port}" policyid=2 '
            f'attack="{attack}" srcport={self._port()} dstport={dst_port} direction="incoming" '
            f'attackid={attackid} profile="default" ref="http://www.fortinet.com/ids/VID{attackid}" '
            f'incidentserialno={self._rng.getrandbits(30)} msg="applications3: {attack}," '
            f'crscore=50 craction=4096 crlevel="critical"',
        )

    def app_ctrl(
        self, t: int, dev: SimDevice, dst_ip: str, host: str, app: str, appid: int, appcat: str
    ) -> None:
        """Application control log (logid 1059028704)."""
        self._emit(
            t,
            "information",
            f'logid="1059028704" type="utm" subtype="app-ctrl" eventtype="signature" level="information" '
            f'vd="root" appid={appid} srcip={dev.ip} srccountry="Reserved" dstip={dst_ip} dstcountry="Japan" '
            f'srcport={self._port()} dstport=443 srcintf="internal" srcintfrole="lan" dstintf="wan1" '
            f'dstintfrole="wan" proto=6 service="HTTPS" direction="outgoing" policyid=1 '
            f'sessionid={self._next_session()} applist="default" action="pass" appcat="{appcat}" app="{app}" '
            f'hostname="{host}" incidentserialno={self._rng.getrandbits(30)} url="/" msg="{appcat}: {app},"'
            f' apprisk="elevated"',
        )

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
        """Email filter log on IMAPS retrieval (logid 0510020491)."""
        text = msg or "Email is tagged as spam by FortiGuard AntiSpam (spam email checksum)."
        user = dev.name.lower()
        self._emit(
            t,
            "notice",
            f'logid="0510020491" type="utm" subtype="emailfilter" eventtype="imap" level="notice" vd="root" '
            f"policyid=1 sessionid={self._next_session()} srcip={dev.ip} srcport={self._port()} "
            f'srcintf="internal" srcintfrole="lan" dstip={server_ip} dstport=993 dstintf="wan1" '
            f'dstintfrole="wan" proto=6 service="IMAPS" profile="default" action="tagged" from="{sender}" '
            f'to="{user}@{self._mail_domain()}" recipient="{user}" direction="incoming" msg="{text}" '
            f'subject="{subject}" size="{20000 + self._rng.getrandbits(16)}" attachment="{attachment}"',
        )

    def _mail_domain(self) -> str:
        return f"{self._tenant.firewall_name.split('-', 1)[1].lower()}.example"
