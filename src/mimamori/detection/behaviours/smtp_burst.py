"""Outbound mail burst: a LAN client that is not the mail server sends SMTP to many external servers.

Emotet and its kind steal address books and mail partners in the company's name, one SMTP session per
recipient domain, straight from the infected PC. A PC normally submits mail to one or two servers (its
provider's submission server, Microsoft 365); the tenant's own mail server talks to many MX hosts, but
it is known (``BehaviourPolicy.mail_servers``) or learned: a host that sent SMTP (port 25) in
``MAIL_SERVER_HOURS`` distinct clock hours is the mail server. A host flagged by this detector is never
learned as a mail server afterwards.

The detector fires once a host has sent SMTP (25/465/587/2525) to ``MIN_SERVERS`` distinct external
addresses within ``WINDOW``; one finding per host per ``COOLDOWN``.

Memory per tenant at the limits: ``MAX_SENDERS`` hosts × (≤ ``MAX_TRACKED`` servers × ~0.1 KiB) ≈
at most 6 MiB, typically a few KiB (hosts that send SMTP at all are few).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from mimamori.detection.behaviours._flows import (
    CONNECTION_DATASETS,
    MAX_TENANTS,
    TenantStates,
    is_connection,
)
from mimamori.detection.behaviours._view import Route, View, has_value
from mimamori.detection.behaviours.base import BehaviourPolicy, BoundedMap, finding
from mimamori.domain import Event, Finding, Severity

NAME = "smtp_burst"
SMTP_PORTS = frozenset((25, 465, 587, 2525))
MIN_SERVERS = 10  # distinct external SMTP servers (addresses) within WINDOW
WINDOW = 600.0  # seconds
MAIL_SERVER_HOURS = 3  # distinct clock hours with port-25 sessions that make a host the mail server
MAX_LEARN_HOURS = 48  # upper bound of a tenant's mail_server_hours override (the list kept per host)
COOLDOWN = 6 * 3600.0  # seconds: one finding per host per episode
MAX_SENDERS = 1024  # hosts tracked per tenant
MAX_TRACKED = 512  # servers remembered per host and window (beyond: the host is alerted already)
TAGS = ("attack.impact", "attack.t1566", "attack.t1114")  # phishing sent on, stolen address books
# Cheap pre-filter on the raw field before any parsing of addresses.
_PORT_VALUES: frozenset[str | int] = frozenset((*SMTP_PORTS, *(str(p) for p in SMTP_PORTS)))


class _Sender:
    __slots__ = ("alerted", "flagged", "hours", "servers")

    def __init__(self) -> None:
        self.servers: dict[str, float] = {}  # external server → last session time
        self.hours: list[int] = []  # distinct hours (epoch // 3600) with port-25 sessions
        self.alerted = -1e18
        self.flagged = False

    def dump(self) -> list[Any]:
        return [self.servers, self.hours, self.alerted, self.flagged]

    @classmethod
    def load(cls, data: Any) -> _Sender:
        servers, hours, alerted, flagged = data
        sender = cls()
        items = list(servers.items())[-MAX_TRACKED:]
        sender.servers = {str(k): float(v) for k, v in items}
        sender.hours = [int(h) for h in hours][:MAX_LEARN_HOURS]
        sender.alerted, sender.flagged = float(alerted), bool(flagged)
        return sender


class _Tenant:
    __slots__ = ("cooldown", "learn_hours", "mail_servers", "min_servers", "senders", "window")

    def __init__(self, tenant_id: str, policy: BehaviourPolicy) -> None:
        self.min_servers = max(2, policy.value(tenant_id, NAME, "min_servers", MIN_SERVERS))
        self.window = policy.value(tenant_id, NAME, "window_seconds", WINDOW)
        hours = policy.value(tenant_id, NAME, "mail_server_hours", MAIL_SERVER_HOURS)
        self.learn_hours = min(MAX_LEARN_HOURS, max(1, hours))
        self.cooldown = policy.value(tenant_id, NAME, "cooldown_seconds", COOLDOWN)
        self.mail_servers = policy.mail_servers.get(tenant_id, frozenset())
        self.senders: BoundedMap[str, _Sender] = BoundedMap(MAX_SENDERS)


# The raw ``destination.port`` is an SMTP port (a value route, ``_view.has_value``: an int or str in
# ``_PORT_VALUES``, or a list holding one, which ``see`` then drops: its view's port is -1).
_SMTP_PORT = ("destination.port", _PORT_VALUES)


class SmtpBurstBehaviour:
    """SMTP to many external servers from a host that is not the mail server (see the module docstring)."""

    name = NAME

    def __init__(self, policy: BehaviourPolicy | None = None) -> None:
        self.policy = policy or BehaviourPolicy()
        self.tenants: TenantStates[_Tenant] = TenantStates(lambda t: _Tenant(t, self.policy))

    def accepts(self, event: Event) -> bool:
        port = event.fields.get("destination.port")
        return has_value(port, _PORT_VALUES) and is_connection(event)

    def route(self, dataset: str) -> Route:
        return _SMTP_PORT if dataset in CONNECTION_DATASETS else False

    def observe(self, event: Event) -> Iterable[Finding]:
        return self.see(View(event))

    def see(self, view: View) -> Iterable[Finding]:
        src, dst = view.src, view.dst
        if src is None or dst is None:
            return ()
        port = view.port
        if port not in SMTP_PORTS or not view.src_lan or view.dst_lan:
            return ()
        state = self.tenants.get(view.tenant)
        if src in state.mail_servers:
            return ()
        event = view.event
        sender = state.senders.setdefault(src, _Sender)
        if not sender.flagged and len(sender.hours) >= state.learn_hours:
            return ()  # the tenant's mail server, learned
        now = view.now
        if port == 25 and not sender.flagged:
            hour = int(now // 3600)
            if hour not in sender.hours:
                sender.hours.append(hour)
        servers = sender.servers
        servers.pop(dst, None)  # keep insertion order = recency, so pruning stops at the first fresh one
        servers[dst] = now
        if len(servers) < state.min_servers:
            return ()
        horizon = now - state.window
        for server, seen in list(servers.items()):
            if seen >= horizon and len(servers) <= MAX_TRACKED:
                break
            del servers[server]
        if len(servers) < state.min_servers or now - sender.alerted < state.cooldown:
            return ()
        sender.alerted, sender.flagged = now, True
        return (self._finding(event, src, dst, len(servers), state.window),)

    def _finding(self, event: Event, src: str, dst: str, count: int, window: float) -> Finding:
        return finding(
            NAME,
            event,
            key="smtp_burst",
            title=f"Mail sent to {count} external mail servers within {round(window / 60)} minutes",
            severity=Severity.HIGH,
            tags=TAGS,
            source_ip=src,
            destination_ip=dst,
            description=(
                "メールサーバではない端末が短時間に多数の外部メールサーバへメールを送信しています"
                " (Emotet などによる取引先へのなりすましメール送信の疑い)。"
                " A device that is not the mail server is sending mail to many external servers in minutes"
                " (possible Emotet spreading to partners in the company's name)."
            ),
            evidence={
                "distinct_servers": count,
                "window_s": round(window),
                "destination.port": event.fields.get("destination.port", ""),
                "last_server": dst,
            },
        )

    def snapshot(self) -> dict[str, Any]:
        return {
            "version": 1,
            "tenants": {
                tenant: [[src, s.dump()] for src, s in state.senders.items()]
                for tenant, state in self.tenants.items()
            },
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        tenants = state.get("tenants") if isinstance(state, Mapping) and state.get("version") == 1 else None
        if not isinstance(tenants, Mapping):
            return
        for tenant_id, senders in list(tenants.items())[-MAX_TENANTS:]:
            try:
                fresh = _Tenant(str(tenant_id), self.policy)
                for src, dumped in senders[-MAX_SENDERS:]:
                    fresh.senders.setdefault(str(src), lambda d=dumped: _Sender.load(d))
            except (TypeError, ValueError, KeyError, AttributeError):
                continue  # a malformed tenant starts fresh
            self.tenants.set(str(tenant_id), fresh)


__all__ = ["NAME", "SmtpBurstBehaviour"]
