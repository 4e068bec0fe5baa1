"""The demo: simulated SME customers whose networks send real-format logs through the real receivers.

``prepare`` creates (idempotently) the provider login, one tenant per simulated SME with its FortiGate
registered by source address (127.0.1.N — every 127.x address is loopback on Linux, so each simulated
UTM has its own sender address) and a Zeek sensor with an HTTP token, plus a customer login per tenant.
``feed`` then streams live traffic with the seed's attack scenarios: FortiGate syslog over TCP to our own
syslog receiver and Zeek JSON over HTTP to our own ingest API.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from mimamori import sim
from mimamori.domain import Role
from mimamori.errors import MimamoriError, ValidationError
from mimamori.services import accounts, auth, contacts
from mimamori.services import tenants as tenant_service
from mimamori.services.runtime import Runtime
from mimamori.storage import Database

log = logging.getLogger(__name__)

DEMO_PASSWORD = "mimamori-demo"  # noqa: S105 - printed on the console on purpose; demo mode only
PROVIDER_EMAIL = "soc@provider.example"
# TOTP is mandatory for provider staff: the demo's SOC login gets this fixed, printed secret, so a person
# can add it to any authenticator app (or compute codes with `python -c "import pyotp; ..."`).
DEMO_TOTP_SECRET = "MIMAMORIDEMOSOCANALYSTTOTPKEY234"  # noqa: S105 - demo mode only, printed on purpose
SOURCE_BASE = "127.0.1."  # FortiGate of simulated tenant i sends from 127.0.1.(i+1)
SCENARIO_EVERY_MINUTES = 3  # the first round starts at once, so alerts show within a minute
BENIGN_PER_MINUTE = 120  # per tenant
ONCALL = timedelta(days=365)  # the demo's provider login is on call for a year


@dataclass(frozen=True, slots=True)
class DemoTenant:
    index: int
    tenant_id: str
    name: str
    login: str
    source_address: str
    zeek_token: str | None


@dataclass(frozen=True, slots=True)
class DemoSetup:
    seed: int
    tenants: tuple[DemoTenant, ...]
    scenarios: tuple[str, ...]


def _tenant_login(index: int) -> str:
    return f"admin@customer{index + 1}.example"


def prepare(db: Database, *, tenants: int = 3, seed: int = 1) -> DemoSetup:
    """Create the demo's tenants, sensors and logins unless they exist; return what the feeder needs."""
    simulated = sim.build_tenants(tenants, seed)
    existing = {t.name: t for t in tenant_service.list_tenants(db)}
    _ensure_user(db, PROVIDER_EMAIL, "SOC オペレーター", Role.PROVIDER_ADMIN, None)
    accounts.enrol_with_secret(db, accounts.user_by_email(db, PROVIDER_EMAIL).id, DEMO_TOTP_SECRET)
    prepared: list[DemoTenant] = []
    for sim_tenant in simulated:
        tenant = existing.get(sim_tenant.name) or tenant_service.add_tenant(db, sim_tenant.name)
        address = f"{SOURCE_BASE}{sim_tenant.index + 1}"
        sensors = {s.name: s for s in tenant_service.list_sensors(db, tenant.id)}
        if sim_tenant.firewall_name not in sensors:
            tenant_service.add_sensor(
                db, tenant.id, sim_tenant.firewall_name, "fortigate", source_address=address, with_token=False
            )
        zeek_name = f"zeek-{sim_tenant.index + 1}"
        if zeek_name in sensors:
            # Only token hashes are stored, so a restarted demo mints a fresh token for its feeder.
            token: str | None = tenant_service.rotate_token(db, tenant.id, sensors[zeek_name].id)
        else:
            token = tenant_service.add_sensor(db, tenant.id, zeek_name, "zeek").token
        login = _tenant_login(sim_tenant.index)
        _ensure_user(db, login, f"{sim_tenant.name} 総務担当", Role.CUSTOMER_ADMIN, tenant.id)
        if not contacts.list_contacts(db, None, tenant.id):
            contacts.add_contact(
                db, None, tenant.id, {"name": f"{sim_tenant.name} 総務担当", "role": "総務", "email": login}
            )
        prepared.append(DemoTenant(sim_tenant.index, tenant.id, sim_tenant.name, login, address, token))
    if not contacts.list_shifts(db, None, current_only=True):
        now = datetime.now(UTC)
        contacts.add_shift(
            db,
            None,
            {"name": "SOC オペレーター", "email": PROVIDER_EMAIL, "starts_at": now, "ends_at": now + ONCALL},
        )
    return DemoSetup(seed=seed, tenants=tuple(prepared), scenarios=tuple(sim.SCENARIOS))


def _ensure_user(db: Database, email: str, name: str, role: Role, tenant_id: str | None) -> None:
    with contextlib.suppress(ValidationError):  # already there from an earlier run
        auth.create_user(db, email, name, role, DEMO_PASSWORD, tenant_id=tenant_id)


def banner(setup: DemoSetup, url: str, *, mail_dir: Path | None = None) -> str:
    """What the console prints: the URL, the demo logins and where notification mails go."""
    lines = [
        "",
        "=" * 72,
        f" mimamori demo is starting: {url}",
        f" provider (SOC) login : {PROVIDER_EMAIL}  /  {DEMO_PASSWORD}",
        f" SOC two-factor (TOTP): secret {DEMO_TOTP_SECRET}",
        f"                        {accounts.provisioning_uri(DEMO_TOTP_SECRET, PROVIDER_EMAIL)}",
    ]
    for t in setup.tenants:
        lines.append(f" customer login       : {t.login}  /  {DEMO_PASSWORD}   ({t.name})")
    lines += [
        f" simulated scenarios  : {', '.join(setup.scenarios)}",
        *([f" notification mails   : {mail_dir} (.eml files)"] if mail_dir else []),
        " first alerts appear within a minute; press Ctrl+C to stop",
        "=" * 72,
        "",
    ]
    return "\n".join(lines)


async def _wait_until_serving(url: str, timeout: float = 30.0) -> None:
    """The feeder starts with the app; give uvicorn a moment to listen before the first POST."""
    deadline = asyncio.get_running_loop().time() + timeout
    async with httpx.AsyncClient(timeout=2.0) as client:
        while asyncio.get_running_loop().time() < deadline:
            try:
                if (await client.get(url)).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)


async def feed(runtime: Runtime, setup: DemoSetup) -> None:
    """Stream live simulated traffic into the running service until cancelled."""
    await _wait_until_serving(f"http://{runtime.settings.host}:{runtime.settings.port}/healthz")
    tcp_port = runtime.syslog_ports[0]
    http_url = f"http://{runtime.settings.host}:{runtime.settings.port}/api/v1/ingest"
    syslog_url = f"syslog+tcp://{runtime.settings.syslog_host}:{tcp_port}"
    sources = {t.index: t.source_address for t in setup.tenants}
    tokens = {t.index: t.zeek_token for t in setup.tenants}
    await asyncio.gather(
        _pump(sim_stream(setup, "fortigate"), syslog_url, sources=sources),
        _pump_zeek(sim_stream(setup, "zeek"), http_url, tokens),
    )


def sim_stream(setup: DemoSetup, fmt: str) -> AsyncIterator[sim.SimRecord]:
    return sim.live(
        tenants=len(setup.tenants),
        seed=setup.seed,
        scenarios=setup.scenarios,
        fmt=fmt,
        events_per_minute=BENIGN_PER_MINUTE,
        scenario_every_minutes=SCENARIO_EVERY_MINUTES,
    )


async def _chunks(
    stream: AsyncIterator[sim.SimRecord], seconds: float = 1.0
) -> AsyncIterator[list[sim.SimRecord]]:
    loop = asyncio.get_running_loop()
    chunk: list[sim.SimRecord] = []
    deadline = loop.time() + seconds
    async for record in stream:
        chunk.append(record)
        if loop.time() >= deadline:
            yield chunk
            chunk = []
            deadline = loop.time() + seconds
    if chunk:
        yield chunk


async def _pump(stream: AsyncIterator[sim.SimRecord], url: str, *, sources: dict[int, str]) -> None:
    async for chunk in _chunks(stream):
        await _send_safely(chunk, url, source_addresses=sources)


async def _pump_zeek(stream: AsyncIterator[sim.SimRecord], url: str, tokens: dict[int, str | None]) -> None:
    async for chunk in _chunks(stream):
        for index, token in tokens.items():
            mine = [r for r in chunk if r.tenant_index == index]
            if mine and token:
                await _send_safely(mine, url, token=token)


async def _send_safely(records: Sequence[sim.SimRecord], url: str, **kwargs: object) -> None:
    try:
        await sim.send(records, url, **kwargs)  # type: ignore[arg-type]
    except (OSError, MimamoriError) as exc:
        log.warning("demo feeder could not send to %s: %s", url, exc)
