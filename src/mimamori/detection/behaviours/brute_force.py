"""Brute-force logons: a burst of failed logons from one source against one target, and a success after it.

Failures come from Windows Security (4625 failed logon, 4771 Kerberos pre-authentication, 4776 NTLM
validation with a non-zero status: the EVTX parser sets ``event.outcome`` "failure"), Zeek ``ssh``
(``auth_success`` false; ``auth_attempts`` counts the guesses in one session), FortiGate VPN and admin
logins (``ssl-login-fail``, ``login`` with status failed), OpenSSH syslog lines (``Failed password for
… from …``, ``Accepted …``: read from the message, which the syslog parser keeps as it is) and any
parser that marks an authentication event (``event.category`` "authentication") with
``event.outcome``. Events without an outcome (Zeek ssh logs without ``auth_success``) are not judged.

Per tenant the detector counts failures in a sliding ``WINDOW`` under two keys: (source, target) —
source: the client address (``source.ip``, FortiGate ``remip``) or, for a local logon, the workstation
name; target: the host logged on to (``host.name``, the server's address) — and (account, target), for
guessing at one account from many addresses. ``MIN_FAILURES`` under either key make one finding
(medium from the LAN, low from the Internet, where guessing at a VPN portal is everyday background); a
success for the same source or the same account on that target within ``SUCCESS_WINDOW`` after such a
burst makes a high-severity finding: the password was probably guessed. One finding of each kind per
episode (``COOLDOWN``), whichever key crossed first.

Memory per tenant at the limits: ``MAX_KEYS`` keys × (≤ ``MAX_TIMES`` floats + ≤ ``MAX_USERS`` names)
≈ 4096 × 2 KiB ≈ 8 MiB worst case; a few KiB in practice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from mimamori.detection.behaviours._flows import MAX_TENANTS, TenantStates, address
from mimamori.detection.behaviours._view import Route, View, taken
from mimamori.detection.behaviours.base import BehaviourPolicy, BoundedMap, finding
from mimamori.domain import Event, Finding, Severity
from mimamori.domain.network import is_lan

NAME = "brute_force"
WINDOW = 600.0  # seconds: failures are counted in this sliding window
MIN_FAILURES = 10  # failed logons per source and target within WINDOW
SUCCESS_WINDOW = 3600.0  # seconds after a burst in which a success means a guessed password
COOLDOWN = 3600.0  # seconds: one finding of each kind per source and target
MAX_KEYS = 4096  # (source, target) pairs per tenant
MAX_TIMES = 64  # failure times kept per pair (more than any sensible threshold)
MAX_USERS = 16  # distinct account names kept per pair (evidence: one account or password spraying)
MAX_ATTEMPTS_PER_EVENT = 50  # guesses one event may count for (Zeek ssh auth_attempts)
MAX_NAME_CHARS = 128  # account/host names longer than this are cut
MAX_SSHD_CHARS = 512  # longer sshd messages are not OpenSSH's authentication lines
TAGS = ("attack.credential-access", "attack.t1110")
TAGS_SUCCESS = ("attack.credential-access", "attack.t1110", "attack.initial-access", "attack.t1078")
FAILED_ACTIONS = frozenset(("ssl-login-fail", "logon-failed", "login-failed"))
SUCCESS_ACTIONS = frozenset(("tunnel-up", "ssl-login-success", "logged-in"))
_AUTH_DATASETS = ("zeek.ssh", "fortigate.event", "windows.security")
_SSHD = "sshd"  # syslog app name of OpenSSH (its messages are read here: the syslog parser keeps them raw)
# Windows logon events judged (logoffs, privileges, special logons... carry an outcome too but are not
# logon attempts): 4624/4625 logon, 4768/4771 Kerberos TGT / pre-authentication, 4776 NTLM validation.
WINDOWS_LOGON_CODES = frozenset(("4624", "4625", "4768", "4771", "4776"))


def _text(fields: Mapping[str, Any], name: str) -> str | None:
    value = fields.get(name)
    if isinstance(value, str) and value and value != "-":
        return value[:MAX_NAME_CHARS]
    return None


def sshd(message: Any) -> tuple[str, str | None, str | None] | None:
    """``(outcome, user, source address)`` of an OpenSSH ``Failed …``/``Accepted …`` syslog message.

    "Failed password for invalid user sammy from 82.202.219.155 port 51676 ssh2" →
    ("failure", "sammy", "82.202.219.155"). String operations only (no regex on the hot path).
    """
    if not isinstance(message, str) or len(message) > MAX_SSHD_CHARS:
        return None
    if message.startswith("Failed "):
        result = "failure"
    elif message.startswith("Accepted "):
        result = "success"
    else:
        return None
    head, sep, tail = message.partition(" from ")
    if not sep:
        return None
    user = head.partition(" for ")[2].removeprefix("invalid user ").removeprefix("illegal user ") or None
    source = tail.partition(" ")[0] or None
    return result, user[:MAX_NAME_CHARS] if user else None, source if source and len(source) <= 64 else None


def outcome(event: Event) -> str | None:
    """``"failure"``, ``"success"`` or None (not a logon, or its result is unknown)."""
    fields = event.fields
    if event.dataset == "windows.security" and fields.get("event.code") not in WINDOWS_LOGON_CODES:
        return None
    action = fields.get("event.action")
    if action in FAILED_ACTIONS:
        return "failure"
    result = fields.get("event.outcome")
    if result in {"failure", "success"}:
        if event.dataset == "fortigate.event" and action not in ("login", *SUCCESS_ACTIONS):
            return None  # other FortiGate events with an outcome (config changes...) are not logons
        return str(result)
    if action in SUCCESS_ACTIONS:
        return "success"
    return None


# An authentication event: ``event.category`` is "authentication" or a list holding it (a value route,
# tested by the runner without a call; ``accepts`` uses the same test, ``_view.taken``).
_AUTHENTICATION = ("event.category", frozenset({"authentication"}))


def _from_sshd(view: View) -> bool:
    return view.fields.get("log.syslog.appname") == _SSHD


class _Pair:
    __slots__ = ("burst", "failures", "success_alerted", "times", "users")

    def __init__(self) -> None:
        self.times: list[float] = []
        self.users: list[str] = []
        self.failures = 0  # failures seen in all (the evidence's total)
        self.burst = -1e18  # time of the last burst finding
        self.success_alerted = -1e18

    def dump(self) -> list[Any]:
        return [self.times, self.users, self.failures, self.burst, self.success_alerted]

    @classmethod
    def load(cls, data: Any) -> _Pair:
        times, users, failures, burst, success = data
        pair = cls()
        pair.times = [float(t) for t in times][-MAX_TIMES:]
        pair.users = [str(u)[:MAX_NAME_CHARS] for u in users][:MAX_USERS]
        pair.failures, pair.burst, pair.success_alerted = int(failures), float(burst), float(success)
        return pair


class _Tenant:
    __slots__ = ("cooldown", "min_failures", "pairs", "success_window", "window")

    def __init__(self, tenant_id: str, policy: BehaviourPolicy) -> None:
        self.min_failures = min(
            MAX_TIMES, max(2, policy.value(tenant_id, NAME, "min_failures", MIN_FAILURES))
        )
        self.window = policy.value(tenant_id, NAME, "window_seconds", WINDOW)
        self.success_window = policy.value(tenant_id, NAME, "success_window_seconds", SUCCESS_WINDOW)
        self.cooldown = policy.value(tenant_id, NAME, "cooldown_seconds", COOLDOWN)
        self.pairs: BoundedMap[str, _Pair] = BoundedMap(MAX_KEYS)


class BruteForceBehaviour:
    """Failed-logon bursts and a success after them (see the module docstring)."""

    name = NAME

    def __init__(self, policy: BehaviourPolicy | None = None) -> None:
        self.policy = policy or BehaviourPolicy()
        self.tenants: TenantStates[_Tenant] = TenantStates(lambda t: _Tenant(t, self.policy))

    def accepts(self, event: Event) -> bool:
        if event.dataset in _AUTH_DATASETS:
            return True
        if event.dataset == "syslog":
            return event.fields.get("log.syslog.appname") == _SSHD
        return taken(event.fields, _AUTHENTICATION)

    def route(self, dataset: str) -> Route:
        if dataset in _AUTH_DATASETS:
            return True
        return _from_sshd if dataset == "syslog" else _AUTHENTICATION

    def observe(self, event: Event) -> Iterable[Finding]:
        return self.see(View(event))

    def see(self, view: View) -> Iterable[Finding]:
        event = view.event
        fields = event.fields
        result: str | None
        if event.dataset == "syslog":
            parsed = sshd(fields.get("message"))
            if parsed is None:
                return ()
            result, user, source = parsed
            target = _text(fields, "host.hostname")
        else:
            result = outcome(event)
            if result is None:
                return ()
            source = (
                address(fields, "source.ip")
                or address(fields, "fortigate.remip")
                or _text(fields, "source.domain")
            )
            target = (
                _text(fields, "host.name")
                or address(fields, "destination.ip")
                or _text(fields, "observer.name")
            )
            user = _text(fields, "user.name")
        source, target = source or "-", target or "-"
        # Two views of one attempt: guessing from one source (any accounts), and guessing at one account
        # (from any sources, as botnets do against VPN portals).
        keys = [(f"{source}>{target}", user)]
        if user is not None:
            keys.append((f"@{user.lower()}>{target}", source))
        state = self.tenants.get(event.tenant_id)
        now = view.now
        if result == "success":
            return self._success(event, state, keys, now, (source, target))
        attempts = fields.get("zeek.ssh.auth_attempts")
        weight = attempts if type(attempts) is int and 1 <= attempts <= MAX_ATTEMPTS_PER_EVENT else 1
        horizon = now - state.window
        crossed: list[_Pair] = []
        for key, other in keys:
            pair = state.pairs.setdefault(key, _Pair)
            pair.times = [t for t in pair.times[-MAX_TIMES:] if t >= horizon] + [now] * weight
            pair.failures += weight
            if other is not None and other not in pair.users and len(pair.users) < MAX_USERS:
                pair.users.append(other)
            if len(pair.times) >= state.min_failures:
                crossed.append(pair)
        if not crossed or any(now - pair.burst < state.cooldown for pair in crossed):
            return ()  # below the threshold, or this episode was reported (under either view)
        for pair in crossed:
            pair.burst = now
        return (self._finding(event, state, crossed[0], source, target, success=False),)

    def _success(
        self,
        event: Event,
        state: _Tenant,
        keys: list[tuple[str, str | None]],
        now: float,
        ends: tuple[str, str],
    ) -> Iterable[Finding]:
        """A success for a source or an account that had a failure burst shortly before."""
        source, target = ends
        hits = [
            pair
            for key, _ in keys
            if (pair := state.pairs.get(key)) is not None and 0 <= now - pair.burst <= state.success_window
        ]
        if not hits or any(now - pair.success_alerted < state.cooldown for pair in hits):
            return ()
        for pair in hits:
            pair.success_alerted = now
        return (self._finding(event, state, hits[0], source, target, success=True),)

    def _finding(
        self, event: Event, state: _Tenant, pair: _Pair, source: str, target: str, *, success: bool
    ) -> Finding:
        internal = is_lan(source)
        user = _text(event.fields, "user.name") or ""
        if not user and event.dataset == "syslog":
            user = (sshd(event.fields.get("message")) or ("", None, None))[1] or ""
        tags: tuple[str, ...]
        if success:
            severity, tags = Severity.HIGH, TAGS_SUCCESS
            title = f"Logon succeeded after repeated failures: {user or target} from {source}"
            description = (
                "多数のログオン失敗の直後に同じ接続元からのログオンが成功しました"
                " (パスワードが破られた疑い)。"
                " A logon succeeded right after a burst of failures from the same source"
                " (password guessed?)."
            )
        else:
            severity, tags = (Severity.MEDIUM if internal else Severity.LOW), TAGS
            title = f"Repeated logon failures on {target} from {source}"
            description = (
                "短時間に多数のログオン失敗がありました (パスワード総当たり攻撃の疑い)。"
                " Many failed logons in minutes (possible password guessing)."
            )
        return finding(
            NAME,
            event,
            key="brute_force:success" if success else "brute_force:failures",
            title=title,
            severity=severity,
            tags=tags,
            host=target if target != "-" else None,
            source_ip=source if internal else None,
            destination_ip=address(event.fields, "destination.ip"),
            description=description,
            evidence={
                "failures_in_window": len(pair.times),
                "failures_total": pair.failures,
                "window_s": round(state.window),
                "distinct_others": len(pair.users),  # accounts tried (one source) or sources (one account)
                "user.name": user,
                "source": source,
                "target": target,
                "event.code": event.fields.get("event.code", ""),
            },
        )

    def snapshot(self) -> dict[str, Any]:
        return {
            "version": 1,
            "tenants": {
                tenant: [[k, p.dump()] for k, p in state.pairs.items()]
                for tenant, state in self.tenants.items()
            },
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        tenants = state.get("tenants") if isinstance(state, Mapping) and state.get("version") == 1 else None
        if not isinstance(tenants, Mapping):
            return
        for tenant_id, pairs in list(tenants.items())[-MAX_TENANTS:]:
            try:
                fresh = _Tenant(str(tenant_id), self.policy)
                for key, dumped in pairs[-MAX_KEYS:]:
                    fresh.pairs.setdefault(str(key), lambda d=dumped: _Pair.load(d))
            except (TypeError, ValueError, KeyError, AttributeError):
                continue  # a malformed tenant starts fresh
            self.tenants.set(str(tenant_id), fresh)


__all__ = ["NAME", "BruteForceBehaviour", "outcome"]
