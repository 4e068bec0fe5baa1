"""Behaviour detectors: stateful detectors of what the seed's incidents look like on the wire.

``BEHAVIOURS`` is the one table of behaviour modules (name → factory taking the ``BehaviourPolicy``);
``BehaviourDetector`` is the single entry of ``detection.DETECTORS`` that runs them all over a batch,
keeps each one's failures to itself, and snapshots/restores their state as one JSON-able document.

Every behaviour here also reads a shared per-event ``View`` (``_view``): the runner makes one view per
event — addresses and whether they are local, the port, the device, the epoch seconds — and passes it to
the behaviours whose ``route`` (asked once per dataset) takes the event, instead of eleven separate
``accepts``/``observe`` passes over the batch. Findings come out in the same order as those passes'
(behaviour by behaviour); a behaviour with only ``accepts``/``observe`` still runs the plain way.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from operator import attrgetter
from typing import Any, TypeGuard

from mimamori.detection.behaviours._view import IN_C, Hot, View, ViewBehaviour, taken
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
from mimamori.parsers import _native

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
_TENANT = attrgetter("tenant_id")
# ``_run_views``' loop in C (the view built there too), or None: the Python loop below
_views_c = _native.behaviour_views if IN_C else None


def _reads_views(behaviour: object) -> TypeGuard[ViewBehaviour]:
    """Whether ``behaviour`` reads the shared ``View`` (``route`` and ``see``), not only ``observe``."""
    return hasattr(behaviour, "see") and hasattr(behaviour, "route")


MAX_ROUTES = 1024  # datasets whose routes are cached (a handful in practice)
# One view-reading behaviour on one dataset's route: its index, the field condition an event must pass
# (``_view.taken``) and the test its view must pass (None: no such condition), its ``see``, and for the C
# loop its hot path on the dataset (None: none) and the behaviour (the hot path's first argument).
_Entry = tuple[
    int,
    str | frozenset[str] | tuple[str, frozenset[str | int]] | None,
    Callable[[View], bool] | None,
    Callable[[View], Iterable[Finding]],
    Hot | None,
    ViewBehaviour,
]


class BehaviourDetector:
    """Runs every behaviour; a failing behaviour is logged and counted and the others go on."""

    name = "behaviour"

    def __init__(self, behaviours: Sequence[Behaviour], policy: BehaviourPolicy | None = None) -> None:
        self.behaviours = list(behaviours)
        self.policy = policy or BehaviourPolicy()
        self.errors: dict[str, int] = {}
        self._pending: BehaviourPolicy | None = None
        self._routes: dict[str, tuple[_Entry, ...]] = {}  # dataset → view-reading behaviours taking it
        self._routed: tuple[int, ...] = ()  # the behaviours (ids) the routes were made for

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
        current = tuple(map(id, self.behaviours))
        if current != self._routed:  # new behaviour objects (a policy change): their routes anew
            self._routes.clear()
            self._routed = current
        found: list[list[Finding]] = [[] for _ in self.behaviours]
        # Tenant by tenant, each tenant's events in their order (a stable sort): the behaviours keep
        # per-tenant state, and their ``TenantStates.last`` then finds it without a look-up (a batch
        # from the receivers interleaves many customers).
        events = sorted(events, key=_TENANT)
        if any(map(_reads_views, self.behaviours)):
            self._run_views(events, found)
        for index, behaviour in enumerate(self.behaviours):
            if not _reads_views(behaviour):
                self._run_events(behaviour, events, found[index])
        for findings in found:  # in the behaviours' order, as if each had run over the batch in turn
            yield from findings

    def _run_views(self, events: Sequence[Event], found: list[list[Finding]]) -> None:
        """The behaviours that read ``View``s, event by event: one view per event, shared; each behaviour
        sees the events its ``route`` takes, in order. A behaviour that raises is counted and skips the
        rest of the batch, as in ``_run_events``; the findings it made before are kept."""
        routes = self._routes
        if len(routes) > MAX_ROUTES:  # datasets come from parsers, but an odd source could vary them
            routes.clear()
        if _views_c is not None:
            _views_c(events, routes, self._route, found, self._failed)
            return
        failed: set[int] = set()
        entries: dict[str, tuple[_Entry, ...]] = {}  # this batch's routes, without failed behaviours
        for event in events:
            dataset = event.dataset
            entry = entries.get(dataset)
            if entry is None:
                entry = routes.get(dataset)
                if entry is None:
                    entry = routes[dataset] = self._route(dataset)
                if failed:
                    entry = tuple(e for e in entry if e[0] not in failed)
                entries[dataset] = entry
            if not entry:
                continue
            try:
                view = View(event)
            except Exception:  # not with parsed events (aware timestamps); never stop the batch for one
                self.errors["view"] = self.errors.get("view", 0) + 1
                log.exception("behaviours could not read an event of dataset %r", dataset[:64])
                continue
            fields = event.fields
            for index, needed, wants, see, _, _ in entry:  # (the hot paths are the C loop's)
                if needed is not None and (
                    needed not in fields if type(needed) is str else not taken(fields, needed)
                ):
                    continue
                try:
                    if wants is None or wants(view):
                        out = see(view)
                        if out:
                            found[index].extend(out)
                except Exception:  # one behaviour's bug must not blind the others
                    name = self.behaviours[index].name
                    self.errors[name] = self.errors.get(name, 0) + 1
                    log.exception("behaviour %s failed on a batch of %d events", name, len(events))
                    failed.add(index)
                    entries.clear()  # rebuilt without it from the next event on

    def _failed(self, index: int, error: BaseException) -> None:
        """What ``_run_views`` does on an exception, for the C loop: the view (``index`` -1) or the
        behaviour ``index`` failed; counted and logged (the C loop then skips the event, or that
        behaviour for the rest of the batch)."""
        name = "view" if index < 0 else self.behaviours[index].name
        self.errors[name] = self.errors.get(name, 0) + 1
        if index < 0:
            log.error("behaviours could not read an event", exc_info=error)
        else:
            log.error("behaviour %s failed on a batch", name, exc_info=error)

    def _route(self, dataset: str) -> tuple[_Entry, ...]:
        """``(index, field, test, see, hot, behaviour)`` of each view-reading behaviour that may take
        ``dataset``."""
        entry: list[_Entry] = []
        for index, behaviour in enumerate(self.behaviours):
            if _reads_views(behaviour):
                answer = behaviour.route(dataset)
                if answer is False:
                    continue
                offer = getattr(behaviour, "hot", None)
                hot: Hot | None = offer(dataset) if offer is not None else None
                if answer is True:
                    entry.append((index, None, None, behaviour.see, hot, behaviour))
                elif isinstance(answer, str | frozenset | tuple):
                    entry.append((index, answer, None, behaviour.see, hot, behaviour))
                else:
                    entry.append((index, None, answer, behaviour.see, hot, behaviour))
        return tuple(entry)

    def _run_events(self, behaviour: Behaviour, events: Sequence[Event], found: list[Finding]) -> None:
        """A behaviour of the plain protocol (``accepts``/``observe``) over the batch."""
        accepts, observe = behaviour.accepts, behaviour.observe
        try:
            for event in events:
                if accepts(event):
                    found.extend(observe(event))
        except Exception:  # one behaviour's bug must not blind the others
            self.errors[behaviour.name] = self.errors.get(behaviour.name, 0) + 1
            log.exception("behaviour %s failed on a batch of %d events", behaviour.name, len(events))

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
