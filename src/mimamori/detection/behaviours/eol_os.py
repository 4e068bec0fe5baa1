"""End-of-life OS: a device runs an operating system its vendor no longer patches (サポート終了OS).

Windows XP/Vista/7/8/8.1, Server 2003/2008/2012, iOS/Android/macOS below the supported majors (see
``mimamori.inventory.eol``). The OS comes from the strongest evidence available on the event: the UTM's
device identification (FortiGate ``osname``/``osversion``) gives 中 (MEDIUM); a product version or an HTTP
user agent (Zeek software/http, Suricata http) only 低 (LOW), since one old application's user agent does
not make an old OS. One finding per device per ``COOLDOWN``; each device's last verdict is cached so the
many events of one device cost a dictionary look-up and a string comparison.

Memory per tenant at the limit: ``MAX_DEVICES`` devices × ~0.25 KiB ≈ 1 MiB.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from mimamori.detection.behaviours._flows import MAX_TENANTS, TenantStates
from mimamori.detection.behaviours._view import Hot, Route, View
from mimamori.detection.behaviours.base import BehaviourPolicy, BoundedMap, finding
from mimamori.domain import Event, Finding, Severity
from mimamori.inventory import is_eol, observe
from mimamori.inventory.classify import CONFIDENCE_DEVICE_ID
from mimamori.parsers import _native

NAME = "eol_os"
COOLDOWN = 7 * 86400.0  # seconds: one finding per device per week
MAX_DEVICES = 4096  # devices per tenant whose OS verdict is cached
MAX_OS_TEXT = 64  # characters of the OS name/version compared
TAGS = ("attack.initial-access", "attack.t1190", "attack.t1210")  # exploitation of unpatched systems


class _Tenant:
    __slots__ = ("cooldown", "devices")

    def __init__(self, tenant_id: str, policy: BehaviourPolicy) -> None:
        self.cooldown = policy.value(tenant_id, NAME, "cooldown_seconds", COOLDOWN)
        self.devices: BoundedMap[str, list[Any]] = BoundedMap(MAX_DEVICES)


def _os_text(event: Event) -> str | None:
    fields = event.fields
    name = fields.get("host.os.name")
    if isinstance(name, str):
        version = fields.get("host.os.version")
        return f"{name}|{version if isinstance(version, str) else ''}"[:MAX_OS_TEXT]
    agent = fields.get("user_agent.original")
    return agent[:MAX_OS_TEXT] if isinstance(agent, str) else None


_OS_FIELDS = frozenset(("host.os.name", "user_agent.original"))  # ``route``: an event must have one


def _fresh() -> list[Any]:
    return [None, None, -1]


class EolOsBehaviour:
    """A device whose OS is end-of-life (see the module docstring)."""

    name = NAME

    def __init__(self, policy: BehaviourPolicy | None = None) -> None:
        self.policy = policy or BehaviourPolicy()
        self.tenants: TenantStates[_Tenant] = TenantStates(lambda t: _Tenant(t, self.policy))

    def accepts(self, event: Event) -> bool:
        fields = event.fields
        return "host.os.name" in fields or "user_agent.original" in fields

    def route(self, dataset: str) -> Route:
        return _OS_FIELDS

    def hot(self, dataset: str) -> Hot | None:
        """The C loop's hot path (``hot_eol_os``: a device's OS text unchanged and already judged)."""
        return _native.hot_eol_os

    HOT_CONSTANTS = (MAX_OS_TEXT,)  # what the C hot path reads

    def observe(self, event: Event) -> Iterable[Finding]:
        return self.see(View(event))

    def see(self, view: View) -> Iterable[Finding]:
        event = view.event
        text = _os_text(event)
        found = view.device
        if text is None or found is None:
            return ()
        key = found[0]
        tenant = view.tenant
        last = self.tenants.last
        state = last[1] if last is not None and last[0] == tenant else self.tenants.get(tenant)
        now = view.now
        devices = state.devices.data  # (BoundedMap.get inlined)
        cached = devices.get(key)  # [os text, alerted at, best confidence of a supported OS]
        if cached is None:
            cached = state.devices.setdefault(key, _fresh)
        else:
            devices.move_to_end(key)
            if cached[0] == text and (cached[1] is None or now - cached[1] < state.cooldown):
                return ()
        cached[0] = text
        facts = observe(event)
        guess = facts.os if facts is not None else None
        if facts is None or guess is None:
            return ()
        if not is_eol(guess.family, guess.version):
            if guess.confidence >= cached[2]:
                cached[1], cached[2] = None, guess.confidence  # supported (or upgraded since)
            return ()
        if guess.confidence < cached[2] or (cached[1] is not None and now - cached[1] < state.cooldown):
            return ()  # weaker than what says the OS is supported, or already told this week
        cached[1] = now
        severity = Severity.MEDIUM if guess.confidence >= CONFIDENCE_DEVICE_ID else Severity.LOW
        os_name = f"{guess.family} {guess.version or ''}".strip()
        return (
            finding(
                NAME,
                event,
                key=f"eol_os:{key}",
                title=f"End-of-life OS ({os_name}) on {facts.hostname or facts.ip or key}"[:200],
                severity=severity,
                tags=TAGS,
                host=facts.hostname,
                source_ip=facts.ip,
                description=(
                    "サポートが終了したOSの端末です。セキュリティ更新が提供されないため、更新・買い替えか"
                    "ネットワークからの分離を検討してください。 The device runs an operating system that no "
                    "longer gets security updates: upgrade or replace it, or isolate it from the network."
                ),
                evidence={
                    "device": key,
                    "os_family": guess.family,
                    "os_version": guess.version or "",
                    "os_source": guess.source,
                    "os_detail": guess.detail[:200],
                    "device_class": facts.device_class,
                    "vendor": facts.vendor or "",
                },
            ),
        )

    def snapshot(self) -> dict[str, Any]:
        return {
            "version": 1,
            "tenants": {
                tenant: {"devices": [[k, v[0], v[1], v[2]] for k, v in state.devices.items()]}
                for tenant, state in self.tenants.items()
            },
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        tenants = state.get("tenants") if isinstance(state, Mapping) and state.get("version") == 1 else None
        if not isinstance(tenants, Mapping):
            return
        for tenant_id, data in list(tenants.items())[-MAX_TENANTS:]:
            try:
                fresh = _Tenant(str(tenant_id), self.policy)
                for key, text, alerted, best in data["devices"][-MAX_DEVICES:]:
                    value = [
                        None if text is None else str(text)[:MAX_OS_TEXT],
                        None if alerted is None else float(alerted),
                        int(best),
                    ]
                    fresh.devices.setdefault(str(key), lambda v=value: v)
            except (TypeError, ValueError, KeyError, AttributeError):
                continue  # a malformed tenant starts fresh
            self.tenants.set(str(tenant_id), fresh)


__all__ = ["NAME", "EolOsBehaviour"]
