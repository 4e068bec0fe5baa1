"""Behaviour detectors: stateful detectors of what the seed's incidents look like on the wire.

``BEHAVIOURS`` is the one table of behaviour modules (name → factory taking the ``BehaviourPolicy``);
``BehaviourDetector`` is the single entry of ``detection.DETECTORS`` that runs them all over a batch,
keeps each one's failures to itself, and snapshots/restores their state as one JSON-able document.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from mimamori.detection.behaviours.base import Behaviour, BehaviourPolicy
from mimamori.detection.behaviours.beacon import BeaconBehaviour
from mimamori.detection.behaviours.brute_force import BruteForceBehaviour
from mimamori.detection.behaviours.dns_anomaly import DnsAnomaly
from mimamori.detection.behaviours.eol_os import EolOsBehaviour
from mimamori.detection.behaviours.large_transfer import LargeTransfer
from mimamori.detection.behaviours.new_device import NewDeviceBehaviour
from mimamori.detection.behaviours.no_antivirus import NoAntivirusBehaviour
from mimamori.detection.behaviours.risky_download import RiskyDownload
from mimamori.detection.behaviours.scan import ScanBehaviour
from mimamori.detection.behaviours.smtp_burst import SmtpBurstBehaviour
from mimamori.detection.behaviours.utm_verdict import UtmVerdict
from mimamori.domain import Event, Finding

log = logging.getLogger(__name__)

BehaviourFactory = Callable[[BehaviourPolicy], Behaviour]

BEHAVIOURS: dict[str, BehaviourFactory] = {
    NewDeviceBehaviour.name: NewDeviceBehaviour,
    EolOsBehaviour.name: EolOsBehaviour,
    NoAntivirusBehaviour.name: NoAntivirusBehaviour,
    DnsAnomaly.name: DnsAnomaly,
    LargeTransfer.name: LargeTransfer,
    RiskyDownload.name: RiskyDownload,
    UtmVerdict.name: UtmVerdict,  # also emits "ids_alert" findings
    BeaconBehaviour.name: BeaconBehaviour,
    SmtpBurstBehaviour.name: SmtpBurstBehaviour,
    ScanBehaviour.name: ScanBehaviour,
    BruteForceBehaviour.name: BruteForceBehaviour,
}

SNAPSHOT_VERSION = 1


class BehaviourDetector:
    """Runs every behaviour; a failing behaviour is logged and counted and the others go on."""

    name = "behaviour"

    def __init__(self, behaviours: Sequence[Behaviour], policy: BehaviourPolicy | None = None) -> None:
        self.behaviours = list(behaviours)
        self.policy = policy or BehaviourPolicy()
        self.errors: dict[str, int] = {}
        self._pending: BehaviourPolicy | None = None

    @classmethod
    def build(cls, policy: BehaviourPolicy, enabled: set[str] | None = None) -> BehaviourDetector:
        chosen = [f(policy) for name, f in BEHAVIOURS.items() if enabled is None or name in enabled]
        return cls(chosen, policy)

    def update_policy(self, policy: BehaviourPolicy) -> None:
        """Use ``policy`` from the next batch on (applied in the pipeline's thread, state carried over)."""
        if policy != self.policy:
            self._pending = policy

    def detect(self, events: Sequence[Event]) -> Iterator[Finding]:
        pending, self._pending = self._pending, None
        if pending is not None:
            state = self.snapshot()
            self.behaviours = BehaviourDetector.build(pending, {b.name for b in self.behaviours}).behaviours
            self.policy = pending
            self.restore(state)
        for behaviour in self.behaviours:
            accepts, observe = behaviour.accepts, behaviour.observe
            found: list[Finding] = []
            try:
                for event in events:
                    if accepts(event):
                        found.extend(observe(event))
            except Exception:  # one behaviour's bug must not blind the others
                self.errors[behaviour.name] = self.errors.get(behaviour.name, 0) + 1
                log.exception("behaviour %s failed on a batch of %d events", behaviour.name, len(events))
            yield from found

    def snapshot(self) -> dict[str, Any]:
        """Every behaviour's state, keyed by name."""
        states: dict[str, Any] = {}
        for behaviour in self.behaviours:
            try:
                states[behaviour.name] = behaviour.snapshot()
            except Exception:
                log.exception("behaviour %s could not snapshot its state", behaviour.name)
        return {"version": SNAPSHOT_VERSION, "behaviours": states}

    def restore(self, snapshot: Mapping[str, Any]) -> int:
        """Continue from ``snapshot``; returns how many behaviours took their state back."""
        if not isinstance(snapshot, Mapping) or snapshot.get("version") != SNAPSHOT_VERSION:
            return 0
        states = snapshot.get("behaviours")
        if not isinstance(states, Mapping):
            return 0
        restored = 0
        for behaviour in self.behaviours:
            state = states.get(behaviour.name)
            if isinstance(state, Mapping):
                try:
                    behaviour.restore(state)
                    restored += 1
                except Exception:  # a bad snapshot means starting fresh, not stopping
                    log.exception("behaviour %s could not restore its state; starting fresh", behaviour.name)
        return restored


__all__ = ["BEHAVIOURS", "Behaviour", "BehaviourDetector", "BehaviourPolicy"]
