"""What the browser tests put into the service: hostile payloads, customers' records, users.

Shared by the fixtures (conftest.py) and the tests, which assert on these values.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
from tests.browser.harness import SeededTenant, Service, login, wait_for

SME_SOURCE = "127.0.1.1"  # the simulated FortiGate's registered sender address (loopback)
JST = timezone(timedelta(hours=9))
PHONE = {
    "viewport": {"width": 375, "height": 812},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "locale": "ja-JP",
}

# Hostile values an attacker controls on the customer's network (device names, URLs, DNS names...).
SCRIPT = "<script>window.__xss=1</script>"
IMG = '"><img src=x onerror="window.__xss=1">'
JS_URL = "javascript:window.__xss=1"
TEMPLATE = "{{7*7}}"
SVG = "<svg/onload=window.__xss=1>"
PAYLOADS = (SCRIPT, IMG, JS_URL, TEMPLATE, SVG)
HOSTILE_DEVICE = f"PC-{SCRIPT}"
HOSTILE_TENANT = f"ヤマダ工業 {TEMPLATE}"
HOSTILE_USER_NAME = "総務 <b>担当</b>"  # in the header of every page: not one of PAYLOADS on purpose


# Users (all with harness.PASSWORD).
SME = "somu@midori.example"
HOSTILE_USER = "somu@yamada.example"
QUIET = "somu@aoba.example"
OPS = "somu@sakura.example"
ANALYST = "analyst@provider.example"
SOC_ADMIN = "soc@provider.example"


def _now_fortigate() -> str:
    moment = datetime.now(JST)
    return f'date={moment:%Y-%m-%d} time={moment:%H:%M:%S} tz="+0900"'


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def hostile_records() -> dict[str, list[bytes]]:
    """Records per sensor of the ``hostile`` tenant; each set also trips a known-bad indicator."""
    now = datetime.now(UTC)
    webfilter = (
        f'<189>{_now_fortigate()} devname="FG60E-YAMADA" devid="FGT60E0000000001" logid="0316013056" '
        'type="utm" subtype="webfilter" eventtype="ftgd_allow" level="warning" vd="root" policyid=1 '
        f'srcip=192.168.10.36 srcname="{_escape(HOSTILE_DEVICE)}" srcport=51000 srcintf="internal" '
        'srcintfrole="lan" dstip=203.0.113.66 dstport=80 dstintf="wan1" dstintfrole="wan" proto=6 '
        f'service="HTTP" hostname="{_escape(SVG)}.example" url="/{_escape(JS_URL)}" '
        f'agent="{_escape(TEMPLATE + " " + IMG)}" action="passthrough" msg="{_escape(SCRIPT)}" '
        'devtype="Windows PC" osname="Windows" srcmac="00:00:4c:da:09:d0"'
    )
    http = {
        "_path": "http",
        "ts": now.timestamp(),
        "uid": "CxSs1",
        "id.orig_h": "192.168.10.40",
        "id.orig_p": 50123,
        "id.resp_h": "203.0.113.66",
        "id.resp_p": 80,
        "method": "GET",
        "host": IMG,
        "uri": f"/{SVG}",
        "referrer": JS_URL,
        "user_agent": f"{TEMPLATE} {SCRIPT}",
    }
    dns = {
        "_path": "dns",
        "ts": now.timestamp(),
        "uid": "CxSs2",
        "id.orig_h": "192.168.10.41",
        "id.orig_p": 5353,
        "id.resp_h": "192.168.10.1",
        "id.resp_p": 53,
        "proto": "udp",
        "query": f"x{SCRIPT}.malware-dist.example",
        "qtype_name": "A",
        "rcode_name": "NOERROR",
    }
    eve = {
        "timestamp": now.isoformat(),
        "event_type": "alert",
        "src_ip": "192.168.10.42",
        "src_port": 50200,
        "dest_ip": "192.0.2.44",
        "dest_port": 80,
        "proto": "TCP",
        "alert": {
            "action": "allowed",
            "signature_id": 2_000_001,
            "signature": f"ET MALWARE {SCRIPT} {IMG}",
            "category": f"A Network Trojan was detected {TEMPLATE}",
            "severity": 1,
        },
        "http": {"hostname": f"c2{SVG}.example", "url": f"/{JS_URL}", "http_user_agent": IMG},
    }
    return {
        "utm": [json.dumps({"message": webfilter}).encode()],
        "zeek": [json.dumps(http).encode(), json.dumps(dns).encode()],
        "ids": [json.dumps(eve).encode()],
    }


def benign_record() -> bytes:
    """A harmless Zeek connection of a known device: one more batch through the pipeline."""
    conn = {
        "_path": "conn",
        "ts": datetime.now(UTC).timestamp(),
        "uid": "CxOk1",
        "id.orig_h": "192.168.10.40",
        "id.orig_p": 50999,
        "id.resp_h": "192.168.10.1",
        "id.resp_p": 443,
        "proto": "tcp",
        "conn_state": "SF",
        "duration": 0.5,
    }
    return json.dumps(conn).encode()


def ops_record() -> bytes:
    line = (
        f'<189>{_now_fortigate()} devname="FG60E-SAKURA" devid="FGT60E0000000002" logid="0000000013" '
        'type="traffic" subtype="forward" level="notice" vd="root" srcip=192.168.20.15 '
        'srcname="PC-UKETSUKE" srcport=55000 srcintf="internal" srcintfrole="lan" dstip=192.0.2.44 '
        'dstport=443 dstintf="wan1" dstintfrole="wan" proto=6 action="close" policyid=1 service="HTTPS" '
        "duration=3 sentbyte=900 rcvdbyte=4000"
    )
    return json.dumps({"message": line}).encode()


@dataclass
class World:
    """The running service and who is in it."""

    service: Service
    hostile: SeededTenant
    sme: SeededTenant
    ops: SeededTenant
    quiet: SeededTenant
    totp: dict[str, str | None]  # staff e-mail -> base32 secret (None: no TOTP feature yet)
    sim: subprocess.Popen[bytes]
    clients: dict[str, httpx.Client] = field(default_factory=dict)

    @property
    def base(self) -> str:
        return self.service.base

    def login(self, page: Any, email: str) -> list[str]:
        return login(page, self.base, email, self.totp.get(email))

    def incidents(self, email: str, tenant_id: str) -> list[dict[str, Any]]:
        """The tenant's incidents through the API, as a user of that tenant."""
        response = self.api(email).get("/api/v1/incidents", params={"tenant_id": tenant_id})
        assert response.status_code == 200, response.text
        return list(response.json())

    def api(self, email: str) -> httpx.Client:
        """A logged-in API client of a customer user (kept for the session)."""
        if email not in self.clients:
            self.clients[email] = self.service.api(email)
        return self.clients[email]

    def close(self) -> None:
        for client in self.clients.values():
            client.close()

    def wait_incident(self, email: str, tenant_id: str, severity: str = "high") -> dict[str, Any]:
        def probe() -> dict[str, Any] | None:
            found = [i for i in self.incidents(email, tenant_id) if i["severity"] == severity]
            return found[0] if found else None

        return wait_for(probe, f"a {severity} incident of tenant {tenant_id}", timeout=60)


@dataclass
class Tab:
    """A page with the dialogs it raised (every dialog is dismissed and recorded)."""

    page: Any
    dialogs: list[str]
