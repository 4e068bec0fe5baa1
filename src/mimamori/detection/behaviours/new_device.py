"""New device: a device the tenant's logs have never shown before appears on the LAN (BYOD, 私物端末).

A device is its MAC address when the log carries one (FortiGate device identification, Zeek DHCP or conn
with MACs), else its LAN address. A brand-new tenant first learns: flagging every office device on day
one would drown the customer. Learning ends once ``LEARNING_MIN`` of its event time has passed and no
new device appeared for ``LEARNING_QUIET`` (the office's devices have all shown up), or after
``LEARNING_MAX`` at the latest. After that, the first record of an unknown device raises a finding:

- 低 (LOW): a new device of a known vendor (a new PC, a printer): the customer should approve it;
- 中 (MEDIUM): a phone or tablet, a locally administered ("private Wi-Fi") MAC, or a MAC whose vendor is
  not in the IEEE list: typical of personal devices;
- 高 (HIGH): a new device whose traffic draws a UTM/IDS verdict (virus, IPS, botnet, high-risk site) on
  its first record or within ``PROBATION`` of it (a second finding, once).

A device unseen for ``FORGET_AFTER`` counts as new again. Memory per tenant at the limits: ``MAX_DEVICES``
known devices × ~0.2 KiB + ``MAX_DEVICES`` address aliases × ~0.15 KiB ≈ 1.4 MiB, plus ``MAX_PROBATION``
recent devices × ~0.2 KiB ≈ 50 KiB.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from mimamori.detection.behaviours._flows import MAX_TENANTS, TenantStates
from mimamori.detection.behaviours._view import HOST_DATASETS, MAX_FIELD, Hot, Route, View, device_of
from mimamori.detection.behaviours.base import BehaviourPolicy, BoundedMap, finding
from mimamori.domain import Event, Finding, Severity
from mimamori.inventory import DeviceClass, DeviceFacts, observe
from mimamori.parsers import _native

NAME = "new_device"
LEARNING_MIN = 600.0  # seconds of a new tenant's event time during which devices are only learnt
LEARNING_QUIET = 600.0  # seconds without a new device that end the learning period (after LEARNING_MIN)
LEARNING_MAX = 24 * 3600.0  # seconds: learning ends after this even if devices keep appearing
PROBATION = 24 * 3600.0  # seconds after its first record during which a bad verdict escalates a new device
FORGET_AFTER = 90 * 86400.0  # seconds: a device unseen this long is new again
MAX_DEVICES = 4096  # known devices per tenant (and as many IP → MAC aliases)
MAX_PROBATION = 256  # recently new devices per tenant watched for bad-reputation traffic
TAGS = ("attack.initial-access", "attack.t1200")  # Hardware Additions
_VERDICT_PREFIXES = ("fortigate.utm.", "suricata.alert", "zeek.notice")
_HOST_DATASETS = HOST_DATASETS


def device_key(event: Event) -> tuple[str, str | None] | None:
    """``(key, ip)`` of the LAN device ``event`` is about (cheap: no inventory parsing), or None."""
    fields = event.fields
    host = event.dataset in _HOST_DATASETS
    ip = fields.get("host.ip" if host else "source.ip")
    mac = fields.get("host.mac" if host else "source.mac")
    return device_of(ip if type(ip) is str else None, mac if type(mac) is str else None)


class _Tenant:
    __slots__ = (
        "aliases",
        "forget",
        "known",
        "last_new",
        "learned",
        "probation",
        "quiet",
        "started",
        "window",
    )

    def __init__(self, tenant_id: str, policy: BehaviourPolicy) -> None:
        self.window = policy.value(tenant_id, NAME, "learning_seconds", LEARNING_MIN)
        self.quiet = policy.value(tenant_id, NAME, "learning_quiet_seconds", LEARNING_QUIET)
        self.forget = policy.value(tenant_id, NAME, "forget_seconds", FORGET_AFTER)
        self.started: float | None = None
        self.last_new = 0.0  # event time of the last device learnt while learning
        self.learned = False  # the learning period is over
        self.known: BoundedMap[str, list[float]] = BoundedMap(MAX_DEVICES)  # key → [last seen]
        self.aliases: BoundedMap[str, str] = BoundedMap(MAX_DEVICES)  # "ip:x" → "mac:y"
        self.probation: BoundedMap[str, list[Any]] = BoundedMap(MAX_PROBATION)  # key → [first, escalated]


def _severity(facts: DeviceFacts) -> Severity:
    if facts.bad_reputation:
        return Severity.HIGH
    personal = facts.device_class == DeviceClass.PHONE or facts.private_mac
    unknown_vendor = facts.mac is not None and not facts.private_mac and facts.vendor is None
    return Severity.MEDIUM if personal or unknown_vendor else Severity.LOW


class NewDeviceBehaviour:
    """The first record of a device the tenant never had (see the module docstring)."""

    name = NAME

    def __init__(self, policy: BehaviourPolicy | None = None) -> None:
        self.policy = policy or BehaviourPolicy()
        self.tenants: TenantStates[_Tenant] = TenantStates(lambda t: _Tenant(t, self.policy))

    @staticmethod
    def _learning(state: _Tenant, now: float) -> bool:
        """Whether the tenant is still learning its devices at ``now`` (ends for good once over)."""
        if state.learned:
            return False
        started = state.started if state.started is not None else now
        elapsed = now - started
        if elapsed >= LEARNING_MAX or (elapsed >= state.window and now - state.last_new >= state.quiet):
            state.learned = True
            return False
        return True

    def accepts(self, event: Event) -> bool:
        return "source.ip" in event.fields or event.dataset in _HOST_DATASETS

    def route(self, dataset: str) -> Route:
        return True if dataset in _HOST_DATASETS else "source.ip"

    def hot(self, dataset: str) -> Hot | None:
        """The C loop's hot path (``hot_new_device``: ``see``'s known-device case once learning is over;
        on verdict datasets ``hot_new_device_verdict``, which leaves a device on probation to ``see``)."""
        return (
            _native.hot_new_device_verdict
            if dataset.startswith(_VERDICT_PREFIXES)
            else _native.hot_new_device
        )

    def observe(self, event: Event) -> Iterable[Finding]:
        return self.see(View(event))

    def see(self, view: View) -> Iterable[Finding]:
        found = view.device
        if found is None:
            return ()
        key, ip = found
        tenant = view.tenant
        last = self.tenants.last
        state = last[1] if last is not None and last[0] == tenant else self.tenants.get(tenant)
        now = view.now
        known = state.known.data  # (BoundedMap.get inlined)
        seen = known.get(key)
        if seen is not None:
            known.move_to_end(key)
        if seen is not None and now - seen[0] <= state.forget:  # the hot path: a known device
            if now > seen[0]:  # noqa: PLR1730 (max() costs a call on the hot path)
                seen[0] = now
            if not state.learned:
                self._learning(state, now)
            if view.dataset.startswith(_VERDICT_PREFIXES):
                return self._escalate(view.event, state, key, now)
            return ()
        event = view.event
        if state.started is None or now < state.started:
            state.started = now
        if seen is None and ip is not None:
            # (an "ip:" key is f"ip:{ip}" itself)
            alias = state.aliases.get(key) if key.startswith("ip:") else None
            if alias is not None:  # a log without the MAC of a device known by its MAC
                seen = known.get(alias)
                key = alias
                if seen is not None:
                    known.move_to_end(alias)
                    if now - seen[0] <= state.forget:
                        seen[0] = max(seen[0], now)
                        return ()
            elif key.startswith("mac:"):
                seen = state.known.pop(f"ip:{ip}")  # known by its address before a log gave its MAC
                if seen is not None:
                    state.known.setdefault(key, lambda s=seen: s)
        if ip is not None and key.startswith("mac:"):
            state.aliases.setdefault(f"ip:{ip}", lambda: key)
        if seen is not None:
            new = now - seen[0] > state.forget
            seen[0] = max(seen[0], now)
            if not new:
                return ()
        else:
            state.known.setdefault(key, lambda: [now])
        if self._learning(state, now):
            state.last_new = now
            return ()
        facts = observe(event)
        if facts is None:
            return ()
        state.probation.setdefault(key, lambda: [now, facts.bad_reputation])
        return (self._finding(event, key, facts, _severity(facts), first=True),)

    def _escalate(self, event: Event, state: _Tenant, key: str, now: float) -> Iterable[Finding]:
        if key not in state.probation:
            return ()
        entry = state.probation.get(key)
        if entry is None or entry[1] or now - entry[0] > PROBATION:
            return ()
        facts = observe(event)
        if facts is None or not facts.bad_reputation:
            return ()
        entry[1] = True
        return (self._finding(event, key, facts, Severity.HIGH, first=False),)

    def _finding(
        self, event: Event, key: str, facts: DeviceFacts, severity: Severity, first: bool
    ) -> Finding:
        name = facts.hostname or facts.ip or key
        what = "New device on the LAN" if first else "New device with malicious traffic"
        return finding(
            NAME,
            event,
            key=f"new_device:{key}" if first else f"new_device:{key}:verdict",
            title=f"{what}: {name}"[:200],
            severity=severity,
            tags=TAGS,
            host=facts.hostname,
            source_ip=facts.ip,
            description=(
                "これまでに見たことのない端末が社内ネットワークに接続しました。会社の端末か確認し、"
                "承認するか切断してください。 A device never seen before joined the network: check "
                "whether it is the company's, then approve it or disconnect it."
            ),
            evidence={
                "device": key,
                "mac": facts.mac or "",
                "vendor": facts.vendor or ("private MAC" if facts.private_mac else "unknown"),
                "private_mac": facts.private_mac,
                "device_class": facts.device_class,
                "device_type": facts.devtype or "",
                "os": f"{facts.os.family} {facts.os.version or ''}".strip() if facts.os else "",
                "bad_reputation": facts.bad_reputation,
                "dataset": event.dataset,
            },
        )

    def snapshot(self) -> dict[str, Any]:
        return {
            "version": 1,
            "tenants": {
                tenant: {
                    "started": state.started,
                    "last_new": state.last_new,
                    "learned": state.learned,
                    "known": [[k, v[0]] for k, v in state.known.items()],
                    "aliases": [[k, v] for k, v in state.aliases.items()],
                    "probation": [[k, v[0], v[1]] for k, v in state.probation.items()],
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
                started = data["started"]
                fresh.started = None if started is None else float(started)
                fresh.last_new = float(data["last_new"])
                fresh.learned = bool(data["learned"])
                for key, last in data["known"][-MAX_DEVICES:]:
                    fresh.known.setdefault(str(key), lambda v=float(last): [v])
                for ip_key, key in data["aliases"][-MAX_DEVICES:]:
                    fresh.aliases.setdefault(str(ip_key), lambda v=str(key): v)
                for key, first, escalated in data["probation"][-MAX_PROBATION:]:
                    fresh.probation.setdefault(str(key), lambda v=[float(first), bool(escalated)]: v)
            except (TypeError, ValueError, KeyError, AttributeError):
                continue  # a malformed tenant starts fresh
            self.tenants.set(str(tenant_id), fresh)


__all__ = ["MAX_FIELD", "NAME", "NewDeviceBehaviour", "device_key"]
