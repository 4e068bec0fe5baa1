"""File import (``mimamori ingest PATH...``): files, directories and archives through the live pipeline.

``ingest.readers.walk`` turns the paths into leaves (a file, or an archive member, with its records);
this module sends each leaf's records through ``Pipeline.process`` in batches and keeps the import ledger
(``imports`` table): one row per (tenant, sensor, fingerprint of the leaf's first MiB). The ledger position
(records done) is advanced in the same transaction as the batch's results, so an import stopped at any
point (Ctrl+C, kill, power cut) resumes after the last committed batch, and a second import of the same
content counts its records as ``duplicates`` and creates nothing. A file that grew since (a log that is
still written) keeps its head: it is found again, and only the new records are read. A record longer
than the pipeline's limit is quarantined with the reason without being held in memory, and a file that
cannot be read (corrupt, refused as an archive bomb, no format) is reported while the others go on.

EVTX files are followed by record id, not by position: Windows rewrites an event log's header (and its
last chunk) as it appends, so a grown copy has another head. Its ledger row also keeps the highest
record id committed and that record's digest (advanced in the same transaction as each batch); a file
whose head is new is matched to the rows of the same source (path, or archive member) whose last record
it still holds unchanged (``EvtxLeaf.follows``; or whose records are all newer: a circular log that
wrapped), and only the records above that id are decoded and sent. ``duplicates`` is then the number of
records up to that id that the file still holds (from its chunk headers; they are not decoded). A log
that was cleared (ids restart) or another log copied to the same path does not follow: it gets a row of
its own and is read from its start. A row written before record ids were kept (no ``last_record_id``)
is still resumed by position. Doubt costs duplicates, never records: a grown copy under another path,
or an older copy imported after a newer one (its newest id is below the last one read: it looks
cleared), is read whole.

Formats: ``fmt`` (``--format``) applies to every leaf, except that EVTX files and Zeek TSV logs can only
be one format and always get it; without ``fmt`` those two are recognised and anything else is refused.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from mimamori.domain import QuarantinedRecord, RawRecord, Sensor
from mimamori.errors import IngestError
from mimamori.ingest import readers
from mimamori.ingest.readers import evtx
from mimamori.ingest.readers.directory import files as directory_files
from mimamori.ingest.readers.source import ByteProgress
from mimamori.services.pipeline import BatchResult, Pipeline
from mimamori.services.tenants import ensure_sensor
from mimamori.storage import Counters, Database, ImportEntry, Repositories, unit_of_work

BATCH = 1000  # records per pipeline batch (one transaction each)

Progress = Callable[[int, str], None]  # (bytes of all input read so far, the leaf being read)


class ImportConflictError(IngestError):
    """Another process advanced the same ledger row: this batch was rolled back, nothing counted twice."""


@dataclass(slots=True)
class FileReport:
    """What happened to one leaf (a file or an archive member)."""

    origin: str
    reader: str = ""
    format: str | None = None
    received: int = 0
    parsed: int = 0
    quarantined: int = 0
    duplicates: int = 0
    findings: int = 0
    alerts_created: int = 0
    error: str | None = None

    def add(self, result: BatchResult) -> None:
        self.received += result.received
        self.parsed += result.parsed
        self.quarantined += result.quarantined
        self.findings += result.findings
        self.alerts_created += result.alerts_created


@dataclass(slots=True)
class ImportReport:
    """The sum over every leaf, and each leaf's own report."""

    files: list[FileReport] = field(default_factory=list)

    def _sum(self, name: str) -> int:
        return sum(getattr(f, name) for f in self.files)

    @property
    def received(self) -> int:
        return self._sum("received")

    @property
    def parsed(self) -> int:
        return self._sum("parsed")

    @property
    def quarantined(self) -> int:
        return self._sum("quarantined")

    @property
    def duplicates(self) -> int:
        return self._sum("duplicates")

    @property
    def findings(self) -> int:
        return self._sum("findings")

    @property
    def alerts_created(self) -> int:
        return self._sum("alerts_created")

    @property
    def errors(self) -> list[FileReport]:
        return [f for f in self.files if f.error is not None]

    def summary(self, seconds: float) -> dict[str, object]:
        """The ``--json`` contract: received, parsed, quarantined, duplicates, seconds (and more keys)."""
        return {
            "received": self.received,
            "parsed": self.parsed,
            "quarantined": self.quarantined,
            "duplicates": self.duplicates,
            "seconds": round(seconds, 3),
            "findings": self.findings,
            "alerts_created": self.alerts_created,
            "files": [
                {
                    "origin": f.origin,
                    "reader": f.reader,
                    "format": f.format,
                    "received": f.received,
                    "parsed": f.parsed,
                    "quarantined": f.quarantined,
                    "duplicates": f.duplicates,
                    "alerts_created": f.alerts_created,
                    "error": f.error,
                }
                for f in self.files
            ],
            "errors": [f.error for f in self.errors],
        }


def total_bytes(paths: Iterable[Path]) -> int:
    """Bytes of every file ``import_paths`` will open (the progress bar's total)."""
    total = 0
    for path in paths:
        for target in directory_files(path) if path.is_dir() else (path,):
            try:
                total += target.stat().st_size
            except OSError:
                continue
    return total


def import_paths(
    pipeline: Pipeline,
    paths: Sequence[Path],
    tenant_id: str,
    fmt: str | None,
    *,
    progress: Progress | None = None,
    limits: readers.Limits | None = None,
    batch: int = BATCH,
) -> ImportReport:
    """Import files and directories for ``tenant_id``; returns one report per leaf.

    Raises only for what stops the whole import (an unknown tenant, the database); a file that cannot
    be read is reported in its ``FileReport.error`` and the next one is read.
    """
    limits = limits or readers.Limits(record=pipeline.max_record)
    report = ImportReport()
    run = _Run(pipeline, tenant_id, fmt, batch, progress)
    for item in readers.walk(paths, limits):
        if isinstance(item, readers.Failure):
            report.files.append(FileReport(item.origin, error=f"{item.origin}: {item.message}"))
            continue
        report.files.append(run.leaf(item))
    pipeline.flush()  # observed values for retro-hunting, held between batches
    return report


def import_file(pipeline: Pipeline, path: Path, tenant_id: str, fmt: str | None) -> ImportReport:
    """Import one file or directory (``import_paths`` for a single path)."""
    return import_paths(pipeline, [path], tenant_id, fmt)


class _Run:
    """One ``import_paths`` call: the sensors per format and the progress across files."""

    def __init__(
        self, pipeline: Pipeline, tenant_id: str, fmt: str | None, batch: int, progress: Progress | None
    ) -> None:
        self.pipeline = pipeline
        self.db: Database = pipeline.db
        self.tenant_id = tenant_id
        self.fmt = fmt
        self.batch = max(1, batch)
        self.progress = progress
        self.sensors: dict[str, Sensor] = {}
        self.report_progress = ByteProgress(progress)

    def sensor(self, fmt: str) -> Sensor:
        if fmt not in self.sensors:
            self.sensors[fmt] = ensure_sensor(self.db, self.tenant_id, f"file import ({fmt})", fmt)
        return self.sensors[fmt]

    def leaf(self, leaf: readers.Leaf) -> FileReport:
        fmt = leaf.implies or self.fmt
        report = FileReport(leaf.origin, leaf.reader, fmt)
        self.report_progress(leaf)
        if fmt is None:
            report.error = "--format is required: the content does not say which log format it is"
            return report
        if not leaf.head:
            return report  # an empty file: nothing to import, nothing to remember
        sensor = self.sensor(fmt)
        entry = _resume_point(self.db, self.tenant_id, sensor.id, leaf)
        _Leaf(self, leaf, sensor, entry, report).run()
        return report


class _Leaf:
    """Reading one leaf in batches, each committed with the ledger position after it."""

    def __init__(
        self, run: _Run, leaf: readers.Leaf, sensor: Sensor, entry: ImportEntry, report: FileReport
    ) -> None:
        self.run_ = run
        self.leaf = leaf
        self.sensor = sensor
        self.entry = entry
        self.report = report
        self.position = entry.position
        self.origin = f"file:{leaf.origin}"
        self.last_id = entry.last_record_id or 0  # EVTX: the highest record id committed
        self.newest: tuple[int, bytes] | None = None  # EVTX: the highest one read, not yet committed

    def _records(self) -> Iterable[readers.Record]:
        """The leaf's records not done yet: after the last record id (EVTX), or after the position."""
        leaf, entry = self.leaf, self.entry
        if not isinstance(leaf, readers.EvtxLeaf) or (entry.last_record_id is None and entry.position):
            return leaf.open(self.position)  # by position (rows from before record ids were kept)
        return self._by_id(leaf.after(self.last_id))

    def _by_id(self, records: Iterable[tuple[int, bytes]]) -> Iterable[readers.Record]:
        for record_id, data in records:
            if self.newest is None or record_id > self.newest[0]:
                self.newest = (record_id, data)
            yield data

    def run(self) -> None:
        run, leaf, report = self.run_, self.leaf, self.report
        tenant_id, sensor_id, fmt, zone = (
            run.tenant_id,
            self.sensor.id,
            report.format or "",
            self.sensor.timezone,
        )
        size = run.batch
        batch: list[RawRecord] = []
        oversize: list[QuarantinedRecord] = []
        now = datetime.now(UTC)
        try:
            for record in self._records():
                if isinstance(record, bytes):
                    batch.append(RawRecord(tenant_id, sensor_id, fmt, record, now, self.origin, zone))
                else:
                    oversize.append(self._refused(record, now))
                if len(batch) + len(oversize) >= size:
                    self._flush(batch, oversize, final=False)
                    batch, oversize, now = [], [], datetime.now(UTC)
        except ImportConflictError as exc:
            report.error = str(exc)
            return
        except readers.READ_ERRORS as exc:
            self._flush(batch, oversize, final=False)
            report.duplicates = leaf.skipped
            report.error = f"{leaf.origin}: {readers.reason(exc)} (stopped after {self.position} records)"
            return
        report.duplicates = leaf.skipped
        if batch or oversize or not self.entry.completed or self.position != self.entry.position:
            self._flush(batch, oversize, final=True)

    def _refused(self, record: readers.Oversize, now: datetime) -> QuarantinedRecord:
        limit = self.run_.pipeline.max_record
        return QuarantinedRecord(
            tenant_id=self.run_.tenant_id,
            sensor_id=self.sensor.id,
            format=self.report.format or "",
            reason=f"record over {limit} bytes ({record.size} bytes); refused by the file reader",
            data=record.head,
            received_at=now,
        )

    def _flush(self, batch: list[RawRecord], oversize: list[QuarantinedRecord], *, final: bool) -> None:
        expected = self.position
        position = expected + len(batch) + len(oversize)
        if not final and position == expected:
            return
        tenant_id, entry_id = self.run_.tenant_id, self.entry.id
        last_record = None
        if self.newest is not None and self.newest[0] > self.last_id:
            last_record = (self.newest[0], evtx.digest(self.newest[1]))

        def commit(uow: Repositories) -> None:
            if oversize:
                uow.quarantine.add_many(oversize)
                seen = oversize[-1].received_at
                n = len(oversize)
                uow.sensors.add_counters(
                    {self.sensor.id: Counters(received=n, quarantined=n, last_seen=seen)}
                )
            if not uow.imports.advance(
                tenant_id,
                entry_id,
                expected=expected,
                position=position,
                completed=final,
                last_record=last_record,
            ):
                raise ImportConflictError(
                    f"{self.leaf.origin} is being imported by another process at the same time; stopped"
                )

        result = self.run_.pipeline.process(batch, on_commit=commit)
        self.position = position
        if last_record is not None:
            self.last_id = last_record[0]
        self.report.add(result)
        self.report.received += len(oversize)
        self.report.quarantined += len(oversize)
        self.run_.report_progress(self.leaf)


def _resume_point(db: Database, tenant_id: str, sensor_id: str, leaf: readers.Leaf) -> ImportEntry:
    """The ledger row of this content: the same head, a head it grew from (same source), or a new one.

    An EVTX file grows from the row of its source whose last record it continues (see the docstring).
    """
    fingerprint = readers.fingerprint(leaf.head)
    with unit_of_work(db) as uow:
        entry = uow.imports.find(tenant_id, sensor_id, fingerprint)
        if entry is not None:
            return entry
        if isinstance(leaf, readers.EvtxLeaf):
            for old in uow.imports.by_source(tenant_id, sensor_id, leaf.source):
                last_id, last_digest = old.last_record_id, old.last_record_digest
                if last_id is None or last_digest is None or not leaf.follows(last_id, last_digest):
                    continue
                if uow.imports.rekey(tenant_id, sensor_id, old.id, fingerprint):
                    return replace(old, fingerprint=fingerprint)
            return uow.imports.start(tenant_id, sensor_id, fingerprint, leaf.source)
        for old in uow.imports.by_source(tenant_id, sensor_id, leaf.source):
            length = readers.hashed_length(old.fingerprint)
            if length is None or length >= len(leaf.head):
                continue
            if readers.fingerprint(leaf.head[:length]) != old.fingerprint:
                continue
            if uow.imports.rekey(tenant_id, sensor_id, old.id, fingerprint):
                return replace(old, fingerprint=fingerprint)
        return uow.imports.start(tenant_id, sensor_id, fingerprint, leaf.source)
