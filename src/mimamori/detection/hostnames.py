"""Enrichment: give events the customer's device name when the log itself only has an address.

FortiGate's device identification names LAN hosts (``srcname`` -> ``host.name``); Zeek and many other
sources do not. The pipeline learns (tenant, LAN address) -> name from events that carry both and fills in
``host.name`` on events that lack it, so alerts say "PC-KEIRI-01" instead of "192.168.1.23". The full
device inventory (DHCP, OUI, OS guesses) is the asset issue; this is its cheapest useful part.
"""

from __future__ import annotations

from collections.abc import Sequence

from mimamori.domain import Event

MAX_ENTRIES = 200_000  # (tenant, address) pairs remembered; the oldest are forgotten first


class HostNames:
    """An in-memory, bounded map of (tenant, LAN address) to the device's name."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self._names: dict[tuple[str, str], str] = {}

    def __len__(self) -> int:
        return len(self._names)

    def enrich(self, events: Sequence[Event]) -> None:
        """Learn names from events that have them, then fill ``host.name`` where it is missing."""
        names = self._names
        for event in events:
            fields = event.fields
            ip = fields.get("source.ip")
            if not isinstance(ip, str):
                continue
            name = fields.get("host.name")
            key = (event.tenant_id, ip)
            if isinstance(name, str) and name:
                if names.get(key) != name:
                    names.pop(key, None)
                    names[key] = name
                    if len(names) > self.max_entries:
                        del names[next(iter(names))]
            else:
                known = names.get(key)
                if known is not None:
                    fields["host.name"] = known
