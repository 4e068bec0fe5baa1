"""No antivirus: a Windows device where no endpoint antivirus activity is ever seen (ウイルス対策なし).

Evidence of antivirus on a device, any of: a session to an antivirus vendor's update/cloud service (by
name: ``url.domain``/TLS SNI under ``mimamori.inventory.facts.AV_DOMAINS``; or by address: the addresses
DNS answers gave for those names, learnt per tenant), or an endpoint AV event naming the host (Windows
Defender EVTX, Defender for Endpoint). A DNS look-up alone is not evidence. A Windows device (by the UTM's
device identification or a Windows event log) that has been active for ``OBSERVATION`` with at least
``MIN_EVENTS`` events and never showed such activity gets one 低 (LOW) finding; the end-of-life OS
detector rates the worse case. One finding per device per ``COOLDOWN``.

Memory per tenant at the limits: ``MAX_DEVICES`` devices × ~0.2 KiB + ``MAX_AV_ADDRESSES`` × ~0.1 KiB
+ ``MAX_AV_NAMES`` × ~0.1 KiB ≈ 0.9 MiB.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from mimamori.detection.behaviours._flows import MAX_TENANTS, TenantStates
from mimamori.detection.behaviours._view import Hot, Route, View
from mimamori.detection.behaviours.base import BehaviourPolicy, BoundedMap, finding
from mimamori.domain import Event, Finding, Severity
from mimamori.inventory.facts import (
    AV_DATASETS,
    MAX_DESTINATION,
    antivirus_addresses,
    is_antivirus_name,
)
from mimamori.parsers import _native

NAME = "no_antivirus"
OBSERVATION = 24 * 3600.0  # seconds a device must be watched before its lack of antivirus counts
MIN_EVENTS = 50  # events of the device in that time (a device seen twice says nothing)
COOLDOWN = 7 * 86400.0  # seconds: one finding per device per week
MAX_DEVICES = 4096  # Windows devices per tenant
MAX_AV_ADDRESSES = 512  # antivirus service addresses per tenant (learnt from DNS answers)
MAX_AV_NAMES = 512  # host names seen in endpoint antivirus events, per tenant
MAX_NAME = 128  # characters of a host name
MAX_PLAIN = 8192  # DNS question names remembered as not an antivirus service's
MAX_PLAIN_CHARS = 512  # longer question names are judged each time, not remembered
TAGS = ("attack.defense-evasion", "attack.t1562.001")  # Impair Defenses: disable or modify tools


class _Device:
    __slots__ = ("alerted", "antivirus", "events", "first")

    def __init__(self, now: float) -> None:
        self.first = now
        self.events = 0
        self.antivirus = False
        self.alerted: float | None = None

    def dump(self) -> list[Any]:
        return [self.first, self.events, self.antivirus, self.alerted]

    @classmethod
    def load(cls, data: Any) -> _Device:
        first, events, antivirus, alerted = data
        device = cls(float(first))
        device.events, device.antivirus = int(events), bool(antivirus)
        device.alerted = None if alerted is None else float(alerted)
        return device


class _Tenant:
    __slots__ = ("av_addresses", "av_names", "devices", "min_events", "observation")

    def __init__(self, tenant_id: str, policy: BehaviourPolicy) -> None:
        self.observation = policy.value(tenant_id, NAME, "observation_seconds", OBSERVATION)
        self.min_events = policy.value(tenant_id, NAME, "min_events", MIN_EVENTS)
        self.devices: BoundedMap[str, _Device] = BoundedMap(MAX_DEVICES)
        self.av_addresses: BoundedMap[str, bool] = BoundedMap(MAX_AV_ADDRESSES)
        self.av_names: BoundedMap[str, bool] = BoundedMap(MAX_AV_NAMES)


def _text(fields: Mapping[str, Any], name: str) -> str | None:
    value = fields.get(name)
    return value if isinstance(value, str) and 0 < len(value) <= MAX_NAME else None


def _antivirus_lookup(raw: str) -> bool:
    """Whether a DNS question name as logged is an antivirus service's (as ``antivirus_addresses``
    reads it: stripped, ``-`` for none, cut to a DNS name's length)."""
    value = raw.strip()
    return bool(value) and value != "-" and is_antivirus_name(value[:MAX_DESTINATION])


def _true() -> bool:
    return True


class NoAntivirusBehaviour:
    """A Windows device without any antivirus activity (see the module docstring)."""

    name = NAME

    def __init__(self, policy: BehaviourPolicy | None = None) -> None:
        self.policy = policy or BehaviourPolicy()
        self.tenants: TenantStates[_Tenant] = TenantStates(lambda t: _Tenant(t, self.policy))
        # DNS question names (as logged) that are no antivirus service's: their answers are no evidence
        # (also read by the C hot path, which then need not send DNS events to ``see``)
        self._plain: dict[str, bool] = {}

    def accepts(self, event: Event) -> bool:
        return "source.ip" in event.fields or event.dataset in AV_DATASETS

    def route(self, dataset: str) -> Route:
        return True if dataset in AV_DATASETS else "source.ip"

    def hot(self, dataset: str) -> Hot | None:
        """The C loop's hot path (``hot_no_antivirus``: a device not judged, or already known to run
        antivirus; a DNS event only when its question name is known not to be an antivirus service's),
        except on antivirus and Windows datasets."""
        if dataset in AV_DATASETS or dataset.startswith("windows."):
            return None
        return _native.hot_no_antivirus

    def observe(self, event: Event) -> Iterable[Finding]:
        return self.see(View(event))

    def see(self, view: View) -> Iterable[Finding]:
        fields = view.fields
        tenant = view.tenant
        last = self.tenants.last
        state = last[1] if last is not None and last[0] == tenant else self.tenants.get(tenant)
        if view.dataset in AV_DATASETS:
            hostname = _text(fields, "host.name")
            if hostname is not None:
                state.av_names.setdefault(hostname.split(".", 1)[0].lower(), _true)
            return ()
        event = view.event
        raw = fields.get("dns.question.name")  # (without it, antivirus_addresses has nothing to say)
        if raw is not None and not (type(raw) is str and raw in self._plain):
            for address in antivirus_addresses(event):
                state.av_addresses.setdefault(address, _true)
            if type(raw) is str and len(raw) <= MAX_PLAIN_CHARS and not _antivirus_lookup(raw):
                if len(self._plain) >= MAX_PLAIN:
                    self._plain.clear()
                self._plain[raw] = True
        found = view.device
        if found is None:
            return ()
        key, ip = found
        now = view.now
        devices = state.devices.data  # (BoundedMap.get inlined)
        device = devices.get(key)
        if device is None:
            if fields.get("host.os.name") != "Windows" and not view.dataset.startswith("windows."):
                return ()  # only Windows devices are judged
            device = state.devices.setdefault(key, lambda: _Device(now))
        else:
            devices.move_to_end(key)
        device.events += 1
        if now < device.first:  # noqa: PLR1730 (min() costs a call on the hot path)
            device.first = now
        if device.antivirus:
            return ()
        hostname = _text(fields, "host.name")
        # (view.dst: the addresses kept are at most 64 characters, as view.dst)
        destination = view.dst
        names = state.av_names.data
        if (
            (destination is not None and destination in state.av_addresses.data)
            or (
                ("url.domain" in fields or "tls.client.server_name" in fields)
                and is_antivirus_name(_text(fields, "url.domain") or _text(fields, "tls.client.server_name"))
            )
            or (names and hostname is not None and hostname.split(".", 1)[0].lower() in names)
        ):
            device.antivirus = True
            return ()
        if now - device.first < state.observation or device.events < state.min_events:
            return ()
        if device.alerted is not None and now - device.alerted < COOLDOWN:
            return ()
        device.alerted = now
        name = hostname or ip or key
        return (
            finding(
                NAME,
                event,
                key=f"no_antivirus:{key}",
                title=f"No antivirus activity seen on {name}"[:200],
                severity=Severity.LOW,
                tags=TAGS,
                host=hostname,
                source_ip=ip,
                description=(
                    "この Windows 端末ではウイルス対策ソフトの更新や動作の記録が一度も見られません。"
                    "ウイルス対策ソフトが入っているか確認してください。 No antivirus update or activity was "
                    "ever seen from this Windows device: check that it has working antivirus."
                ),
                evidence={
                    "device": key,
                    "events": device.events,
                    "observed_hours": round((now - device.first) / 3600, 1),
                    "av_services_known": len(state.av_addresses),
                },
            ),
        )

    def snapshot(self) -> dict[str, Any]:
        return {
            "version": 1,
            "tenants": {
                tenant: {
                    "devices": [[k, d.dump()] for k, d in state.devices.items()],
                    "av_addresses": [k for k, _ in state.av_addresses.items()],
                    "av_names": [k for k, _ in state.av_names.items()],
                }
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
                for key, dumped in data["devices"][-MAX_DEVICES:]:
                    fresh.devices.setdefault(str(key), lambda d=dumped: _Device.load(d))
                for address in data["av_addresses"][-MAX_AV_ADDRESSES:]:
                    fresh.av_addresses.setdefault(str(address)[:64], lambda: True)
                for name in data["av_names"][-MAX_AV_NAMES:]:
                    fresh.av_names.setdefault(str(name)[:MAX_NAME], lambda: True)
            except (TypeError, ValueError, KeyError, AttributeError):
                continue  # a malformed tenant starts fresh
            self.tenants.set(str(tenant_id), fresh)


__all__ = ["NAME", "NoAntivirusBehaviour"]
