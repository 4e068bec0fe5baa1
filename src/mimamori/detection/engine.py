"""Runs every enabled detector over a batch of events."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import Protocol

from mimamori.domain import Event, Finding

log = logging.getLogger(__name__)


class Detector(Protocol):
    """A detector looks at a batch of events and yields findings; stateful ones keep state per tenant."""

    name: str

    def detect(self, events: Sequence[Event]) -> Iterator[Finding]: ...


class DetectionEngine:
    """Holds the enabled detectors; a failing detector is logged and counted, never stops the pipeline."""

    def __init__(self, detectors: Sequence[Detector]) -> None:
        self.detectors = list(detectors)
        self.errors: dict[str, int] = {}

    def run(self, events: Sequence[Event]) -> list[Finding]:
        findings: list[Finding] = []
        for detector in self.detectors:
            try:
                findings.extend(detector.detect(events))
            except Exception:  # a detector bug must not stop 24-hour monitoring
                self.errors[detector.name] = self.errors.get(detector.name, 0) + 1
                log.exception("detector %s failed on a batch of %d events", detector.name, len(events))
        return findings
