"""Sigma log sources to the Windows events they describe: (channel, event ids) alternatives.

A rule's ``logsource`` is a claim about where its events come from; this engine turns it into a test on
``winlog.channel`` and ``winlog.event_id``, like pySigma's Sysmon and Windows audit pipelines do for
query backends. ``service`` names a channel (pySigma's ``windows_logsource_mapping``); ``category`` names
event kinds (Sysmon event ids, Security 4688 for ``process_creation``, the PowerShell script and module
events). A rule with both is restricted by both. A log source this engine cannot place on Windows events
(another product, or a category no Windows channel records, such as ETW-only ``file_access``) gives
``None`` and the rule is reported as skipped rather than run against events it was not written for.
"""

from __future__ import annotations

from dataclasses import dataclass

from sigma.pipelines.common import windows_logsource_mapping
from sigma.rule import SigmaLogSource

__all__ = ["Source", "sources"]

SYSMON = "microsoft-windows-sysmon/operational"
SECURITY = "security"
_PS = ("microsoft-windows-powershell/operational", "powershellcore/operational")
_PS_CLASSIC = "windows powershell"


@dataclass(frozen=True, slots=True)
class Source:
    """One place a rule's events come from: a channel (lower-case; None = any) and event ids (None = any)."""

    channel: str | None
    event_ids: frozenset[int] | None

    def admits(self, channel: str, event_id: int) -> bool:
        return (self.channel is None or self.channel == channel) and (
            self.event_ids is None or event_id in self.event_ids
        )


def _sysmon(*ids: int) -> tuple[Source, ...]:
    return (Source(SYSMON, frozenset(ids)),)


_CATEGORIES: dict[str, tuple[Source, ...]] = {
    "process_creation": (*_sysmon(1), Source(SECURITY, frozenset((4688,)))),
    "file_change": _sysmon(2),
    "network_connection": _sysmon(3),
    "sysmon_status": _sysmon(4, 16),
    "process_termination": (*_sysmon(5), Source(SECURITY, frozenset((4689,)))),
    "driver_load": _sysmon(6),
    "image_load": _sysmon(7),
    "create_remote_thread": _sysmon(8),
    "raw_access_thread": _sysmon(9),
    "raw_access_read": _sysmon(9),
    "process_access": _sysmon(10),
    "file_event": _sysmon(11),
    "registry_add": _sysmon(12),
    "registry_delete": _sysmon(12),
    "registry_set": _sysmon(13),
    "registry_rename": _sysmon(14),
    "registry_event": _sysmon(12, 13, 14),
    "create_stream_hash": _sysmon(15),
    "pipe_created": _sysmon(17, 18),
    "wmi_event": _sysmon(19, 20, 21),
    "dns_query": _sysmon(22),
    "file_delete": _sysmon(23, 26),
    "clipboard_capture": _sysmon(24),
    "process_tampering": _sysmon(25),
    "file_delete_detected": _sysmon(26),
    "file_block_executable": _sysmon(27),
    "file_block_shredding": _sysmon(28),
    "file_executable_detected": _sysmon(29),
    "sysmon_error": _sysmon(255),
    "ps_module": tuple(Source(c, frozenset((4103,))) for c in _PS),
    "ps_script": tuple(Source(c, frozenset((4104,))) for c in _PS),
    "ps_classic_start": (Source(_PS_CLASSIC, frozenset((400,))),),
    "ps_classic_provider_start": (Source(_PS_CLASSIC, frozenset((600,))),),
    "ps_classic_script": (Source(_PS_CLASSIC, frozenset((800,))),),
}


def _service(service: str) -> tuple[Source, ...] | None:
    channels = windows_logsource_mapping.get(service)
    if channels is None:
        return None
    names = [channels] if isinstance(channels, str) else list(channels)
    return tuple(Source(name.lower(), None) for name in names)


def _restrict(by_category: tuple[Source, ...], by_service: tuple[Source, ...]) -> tuple[Source, ...]:
    """Both given: keep the category's sources on the service's channels."""
    channels = {s.channel for s in by_service}
    return tuple(s for s in by_category if s.channel is None or s.channel in channels)


def sources(logsource: SigmaLogSource) -> tuple[Source, ...] | None:
    """Where events for this log source come from; None when this engine cannot place it."""
    product = (logsource.product or "").lower()
    category = (logsource.category or "").lower()
    service = (logsource.service or "").lower()
    if product not in ("", "windows"):
        return None
    by_category = _CATEGORIES.get(category) if category else None
    by_service = _service(service) if service else None
    if (category and by_category is None) or (service and by_service is None):
        return None
    if by_category is not None and by_service is not None:
        restricted = _restrict(by_category, by_service)
        return restricted or None
    if by_category is not None:
        return by_category
    if by_service is not None:
        return by_service
    return (Source(None, None),) if product == "windows" else None
