"""The pipeline use case: RawRecord batch -> parse -> Event -> detect -> Finding -> Alert -> Incident.

One batch is one database transaction: alerts, their outbox rows, quarantined records and sensor
counters commit together, so a batch redelivered after a crash produces no duplicate alert (fingerprints
are unique) and no duplicate notification (outbox idempotency keys). The aggregates kept in memory
(indicator sightings, observed values, the device inventory) are written every 30 s after a batch's
commit, in transactions of ``AGGREGATE_ROWS`` rows:
with SQLite a writer holds the database's write lock for its whole transaction, and a 50,000-row upsert
inside a batch stopped the other pipeline processes (``serve --workers N``) for over a second.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from mimamori.archive import ArchiveWriter, fields_json
from mimamori.detection import DetectionEngine
from mimamori.detection.hostnames import HostNames
from mimamori.domain import Event, QuarantinedRecord, RawRecord
from mimamori.errors import ParseError
from mimamori.inventory import DeviceRecorder
from mimamori.parsers import PARSERS
from mimamori.services import indicators
from mimamori.services import inventory as device_inventory
from mimamori.services.triage import record_findings
from mimamori.storage import Counters, Database, Repositories, unit_of_work
from mimamori.triage import fingerprinted

log = logging.getLogger(__name__)

T = TypeVar("T")
AGGREGATE_ROWS = 2_000  # rows per transaction when the periodic aggregates are written


@dataclass(slots=True)
class BatchResult:
    """What one batch did; summed by callers for progress bars and metrics."""

    received: int = 0
    parsed: int = 0
    skipped: int = 0
    quarantined: int = 0
    findings: int = 0
    alerts_created: int = 0
    alerts_updated: int = 0
    created_alert_ids: list[str] = field(default_factory=list)
    incidents_created: int = 0
    alerts_suppressed: int = 0
    created_incident_ids: list[str] = field(default_factory=list)

    def add(self, other: BatchResult) -> None:
        self.received += other.received
        self.parsed += other.parsed
        self.skipped += other.skipped
        self.quarantined += other.quarantined
        self.findings += other.findings
        self.alerts_created += other.alerts_created
        self.alerts_updated += other.alerts_updated
        self.incidents_created += other.incidents_created
        self.alerts_suppressed += other.alerts_suppressed


@dataclass(slots=True)
class _SensorTally:
    received: int = 0
    parsed: int = 0
    quarantined: int = 0
    last_seen: datetime | None = None


class Pipeline:
    """Parses, detects and stores batches. Thread-compatible: one instance per worker thread."""

    def __init__(
        self,
        db: Database,
        engine: DetectionEngine,
        *,
        max_record: int = 64 * 1024,
        archive: ArchiveWriter | None = None,
    ) -> None:
        self.db = db
        self.engine = engine
        self.max_record = max_record
        self.archive = archive  # the event archive (docs/archive.md): every parsed event, after commit
        self.hostnames = HostNames()
        self.devices = DeviceRecorder()  # the device inventory, written every 30 s (see flush())

    def parse(
        self, records: Sequence[RawRecord], *, encoded: list[bytes] | None = None
    ) -> tuple[list[Event], list[QuarantinedRecord], dict[str, _SensorTally], int]:
        """Parse a batch; bad records become quarantine entries with the reason, never exceptions.

        With ``encoded`` (the archive is on), each event's fields are also encoded as JSON at once,
        while they are in the CPU cache: several times cheaper than after the batch's other stages."""
        events: list[Event] = []
        bad: list[QuarantinedRecord] = []
        tallies: dict[str, _SensorTally] = {}
        skipped = 0
        parsers = PARSERS
        limit = self.max_record
        for record in records:
            tally = tallies.get(record.sensor_id)
            if tally is None:
                tally = tallies[record.sensor_id] = _SensorTally()
            tally.received += 1
            if tally.last_seen is None or record.received_at > tally.last_seen:
                tally.last_seen = record.received_at
            reason: str | None = None
            if len(record.data) > limit:
                reason = f"record of {len(record.data)} bytes exceeds the {limit}-byte limit"
            else:
                parser = parsers.get(record.format)
                if parser is None:
                    reason = f"no parser for format {record.format!r}"
                else:
                    try:
                        event = parser(record)
                    except ParseError as exc:
                        reason = exc.reason
                    except Exception as exc:  # a parser bug must never stop the pipeline
                        log.exception("parser %s crashed", record.format)
                        reason = f"internal parser error: {type(exc).__name__}"
                    else:
                        if event is None:
                            skipped += 1
                        else:
                            if event.raw is None:
                                # The event is new and ours alone: linking its record costs no copy.
                                object.__setattr__(event, "raw", record)
                            events.append(event)
                            if encoded is not None:
                                encoded.append(fields_json(event.fields))
                            tally.parsed += 1
                        continue
            tally.quarantined += 1
            bad.append(
                QuarantinedRecord(
                    tenant_id=record.tenant_id,
                    sensor_id=record.sensor_id,
                    format=record.format,
                    reason=reason[:500],
                    data=record.data,
                    received_at=record.received_at,
                )
            )
        return events, bad, tallies, skipped

    def flush(self) -> None:
        """Write the sightings, observed values and archived events still held (end of an import,
        shutdown)."""
        try:
            self.write_aggregates(force=True)
        finally:
            if self.archive is not None:
                self.archive.flush()

    def write_aggregates(self, *, force: bool = False) -> int:
        """Write the sightings, observed values and device summaries that are due (or all, ``force``),
        ``AGGREGATE_ROWS`` per transaction; returns the rows written. What a failed transaction held is
        lost with whatever was taken and not yet written (aggregates: never counted twice)."""
        sightings, observations = indicators.drain_due(self.engine, force=force)
        devices = device_inventory.drain_due(self.devices, force=force)
        return (
            self._in_chunks(sightings, lambda uow, chunk: uow.sightings.record(chunk))
            + self._in_chunks(observations, lambda uow, chunk: uow.observations.record(chunk))
            + self._in_chunks(devices, device_inventory.write_devices)
        )

    def _in_chunks(self, rows: Sequence[T], write: Callable[[Repositories, Sequence[T]], object]) -> int:
        for start in range(0, len(rows), AGGREGATE_ROWS):
            with unit_of_work(self.db) as uow:
                write(uow, rows[start : start + AGGREGATE_ROWS])
        return len(rows)

    def process(
        self, records: Sequence[RawRecord], *, on_commit: Callable[[Repositories], None] | None = None
    ) -> BatchResult:
        """Run one batch through every stage and commit its results atomically.

        ``on_commit`` writes more in the same transaction (the file import's ledger position), so the
        batch and the caller's bookkeeping commit together or not at all; if it raises, nothing commits.
        """
        encoded: list[bytes] | None = [] if self.archive is not None else None
        events, bad, tallies, skipped = self.parse(records, encoded=encoded)
        self.hostnames.enrich(events)  # the name columns include learned names; ``fields`` is the log's
        # Converted for the archive now, while the events are in the CPU cache; filed after the commit.
        archived = self.archive.prepare(events, encoded) if self.archive is not None and events else None
        findings = self.engine.run(events) if events else []
        result = BatchResult(
            received=len(records),
            parsed=len(events),
            skipped=skipped,
            quarantined=len(bad),
            findings=len(findings),
        )
        items = fingerprinted(findings)
        # Summarised before the transaction: with SQLite its write lock is held for the whole of it, and
        # the other pipeline processes (``serve --workers N``) wait for it. A batch that fails below is
        # added again when it is retried (device sightings are counts over time, not per-batch facts).
        self.devices.add(events)
        with unit_of_work(self.db) as uow:
            if items:
                # Alerts, outbox rows and incidents in the same transaction: they commit together.
                recorded = record_findings(uow, items)
                result.alerts_created += len(recorded.created_alert_ids)
                result.created_alert_ids.extend(recorded.created_alert_ids)
                result.alerts_updated += recorded.alerts_updated
                triaged = recorded.triage
                result.incidents_created += len(triaged.incidents_created)
                result.created_incident_ids.extend(triaged.incidents_created)
                result.alerts_suppressed += triaged.alerts_suppressed
            if bad:
                uow.quarantine.add_many(bad)
            if tallies:
                uow.sensors.add_counters(
                    {
                        sensor_id: Counters(
                            received=t.received,
                            parsed=t.parsed,
                            quarantined=t.quarantined,
                            dropped=0,
                            last_seen=t.last_seen,
                        )
                        for sensor_id, t in tallies.items()
                        if sensor_id
                    }
                )
            if on_commit is not None:
                on_commit(uow)
        if self.archive is not None and archived:
            # After the commit: a batch that failed (and is redelivered) is archived once, when it passes.
            self.archive.add(archived)
        try:
            self.write_aggregates()
        except Exception:  # the batch is committed: it must not be processed again for this
            log.exception("writing the periodic aggregates failed; what they held is lost")
        return result
