"""The optional C speedups of the hot parsers (``_speedups.c``), or ``None`` for each: pure Python then.

``pip install -e .`` builds the extension when a C compiler is present (``setup.py``, ``optional=True``:
the install succeeds without one); ``python -m mimamori.parsers._build speedups`` builds it in place
for an existing environment. Each function below is either the C version or ``None``, and every caller
keeps its pure-Python path for ``None``. The C functions give exactly the pure functions' results
(``tests/unit/parsers/test_speedups.py`` checks that on random and hostile input), so the choice
changes speed only. ``MIMAMORI_PURE=1`` forces the pure paths (as it does for the mypyc build), and
an extension older than ``_speedups.c`` beside it (a developer edited the C source, and the rebuild
failed or was forgotten) is not used either: running stale compiled code would be a silent lie.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import orjson

from mimamori.domain.models import Event, Fields, RawRecord
from mimamori.parsers import _json

__all__ = [
    "AVAILABLE",
    "address_scan",
    "behaviour_views",
    "drop_unset",
    "evtx_chunk",
    "evtx_configure",
    "evtx_copy",
    "evtx_enrich",
    "evtx_enrich_configure",
    "evtx_event",
    "evtx_event_configure",
    "evtx_fields",
    "evtx_get",
    "evtx_security",
    "evtx_security_configure",
    "evtx_sysmon",
    "evtx_sysmon_configure",
    "flatten",
    "fortigate_build",
    "fortigate_build_configure",
    "fortigate_configure",
    "fortigate_event",
    "fortigate_ints",
    "has_big_int",
    "hot_beacon",
    "hot_dns_anomaly",
    "hot_eol_os",
    "hot_large_transfer",
    "hot_new_device",
    "hot_new_device_verdict",
    "hot_no_antivirus",
    "hot_risky_download",
    "hot_scan",
    "kv_split",
    "literal_scan",
    "literal_set",
    "object_fields",
    "rename_into",
    "rename_values",
    "suricata_configure",
    "suricata_event",
    "to_ints",
    "views_configure",
    "zeek_configure",
    "zeek_event",
    "zeek_fields",
]


class Flatten(Protocol):
    """``_json.flatten``'s signature."""

    def __call__(self, fields: Fields, name: str, value: Any, depth: int = 0, /) -> None: ...


kv_split: Callable[[str], dict[str, str] | None] | None = None
to_ints: Callable[[Sequence[str], int], list[int] | None] | None = None
rename_values: Callable[[tuple[str, ...], dict[str, str]], Fields] | None = None
drop_unset: Callable[[Fields, tuple[str, ...], frozenset[str]], None] | None = None
fortigate_ints: Callable[..., bool] | None = None  # (fields, pairs, keys, names, ports, limit)
has_big_int: Callable[[bytes], bool] | None = None
flatten: Flatten | None = None
rename_into: Callable[[Fields, dict[str, Any], dict[str, tuple[str, type[Any]]], str], None] | None = None
object_fields: Callable[..., None] | None = None
zeek_fields: Callable[..., Fields] | None = None
# ``parsers.evtx``: the System walk and EventData, ``values.get``; ``parsers.evtx`` calls evtx_configure.
evtx_fields: (
    Callable[[dict[str, Any], dict[str, Any], dict[str, Any]], tuple[Fields, Fields, Any] | None] | None
) = None
evtx_get: Callable[[dict[str, Any], str], str | None] | None = None
evtx_copy: Callable[[Fields, dict[str, Any], dict[str, str]], None] | None = None
evtx_configure: Callable[..., None] | None = None
# ``zeek.parse``, ``suricata.parse`` and ``fortigate.parse`` (but its ``_build``) whole (the Event, or
# None: take the Python path); the parsers configure their tables at import. Only when Event is the
# slots dataclass the C code fills.
zeek_event: Callable[[RawRecord], Event | None] | None = None
zeek_configure: Callable[..., None] | None = None
suricata_event: Callable[[RawRecord], Event | None] | None = None
suricata_configure: Callable[..., None] | None = None
fortigate_event: Callable[[RawRecord], Event | None] | None = None
fortigate_configure: Callable[..., None] | None = None
# ``fortigate._build`` for a key layout in its cache (the Python function for the others); once
# configured, ``fortigate_event`` calls it instead of the Python one.
fortigate_build: Callable[[dict[str, str], str], dict[str, Any]] | None = None
fortigate_build_configure: Callable[..., None] | None = None
# ``evtx.parse`` for the common records (None: the Python path); ``evtx.ecs.enrich`` configured.
evtx_event: Callable[[RawRecord], Event | None] | None = None
# One 64 KiB EVTX chunk to [(record id, JSON document)], None for a chunk left to the Rust decoder
# (``_speedups_evtx_binxml.c``; used by ``ingest.readers.evtx``).
evtx_chunk: Callable[[bytes], list[tuple[int, bytes]] | None] | None = None
# parsers.evtx.ecs._sysmon in C (``_speedups_evtx_sysmon.c``) and its configuration.
evtx_sysmon: Callable[[Fields, dict[str, Any], int], None] | None = None
evtx_sysmon_configure: Callable[..., None] | None = None
# ... and ecs._security (``_speedups_evtx_security.c``).
evtx_security: Callable[[Fields, dict[str, Any], int], None] | None = None
evtx_security_configure: Callable[..., None] | None = None
# ... and ecs.enrich's dispatch around the handlers.
evtx_enrich: Callable[[Fields, Any], str] | None = None
evtx_enrich_configure: Callable[..., None] | None = None
evtx_event_configure: Callable[[Callable[..., str]], None] | None = None
_EVENT_SLOTS = ("timestamp", "tenant_id", "dataset", "fields", "sensor_id", "raw")
# Not a parser step: the common path of ``detection.indicators.matcher.IndicatorDetector.detect`` over
# the parsed events of a batch (``matcher.scan_addresses`` in C), kept in the one extension.
address_scan: Callable[..., list[int] | None] | None = None
# Not a parser step either: ``detection.behaviours.BehaviourDetector._run_views`` for one batch, and the
# View type and helpers it needs (``behaviours._view`` calls views_configure).
behaviour_views: Callable[..., None] | None = None
views_configure: Callable[..., None] | None = None
# The behaviours' hot paths for behaviour_views (``_speedups_hot.c``): hot(behaviour, view) -> findings,
# or None when the behaviour's ``see`` must run.
hot_new_device: Callable[[Any, Any], Any] | None = None
hot_new_device_verdict: Callable[[Any, Any], Any] | None = None
hot_no_antivirus: Callable[[Any, Any], Any] | None = None
hot_large_transfer: Callable[[Any, Any], Any] | None = None
hot_eol_os: Callable[[Any, Any], Any] | None = None
hot_scan: Callable[[Any, Any], Any] | None = None
hot_beacon: Callable[[Any, Any], Any] | None = None
hot_dns_anomaly: Callable[[Any, Any], Any] | None = None
hot_risky_download: Callable[[Any, Any], Any] | None = None
# Not a parser step either: the Sigma prefilter's search of all an event's values for a set of texts
# (``detection.sigma.prefilter``; ``_speedups_literals.c``): an automaton of the lower-cased texts, or
# None when the set is not for it, and the indexes of the texts found (None: search the Python way).
literal_set: Callable[[list[bytes]], object | None] | None = None
literal_scan: Callable[[object, Mapping[str, Any]], list[int] | None] | None = None

log = logging.getLogger(__name__)


def _stale(built: str | None) -> bool:
    """Whether the extension is older than its C sources (only a source tree has them)."""
    source = Path(__file__).with_name("_speedups.c")
    if built is None or not source.is_file():
        return False
    sources = [source, *source.parent.glob("_speedups_*.c")]  # the files _speedups.c includes
    if Path(built).stat().st_mtime >= max(path.stat().st_mtime for path in sources):
        return False
    log.warning("mimamori.parsers: C speedups older than _speedups.c, not used (rebuild them)")
    return True


AVAILABLE = False
if os.environ.get("MIMAMORI_PURE") != "1":
    try:
        from mimamori.parsers import _speedups
    except ImportError:  # not built (no compiler at install time): the pure paths run
        pass
    else:
        AVAILABLE = not _stale(_speedups.__file__)
    if AVAILABLE:
        _speedups.configure(_json.json_text)
        kv_split = _speedups.kv_split
        to_ints = _speedups.to_ints
        rename_values = _speedups.rename_values
        drop_unset = _speedups.drop_unset
        fortigate_ints = _speedups.fortigate_ints
        has_big_int = _speedups.has_big_int
        flatten = _speedups.flatten
        rename_into = _speedups.rename_into
        object_fields = _speedups.object_fields
        zeek_fields = _speedups.zeek_fields
        address_scan = _speedups.address_scan
        behaviour_views = _speedups.behaviour_views
        views_configure = _speedups.views_configure
        hot_new_device = _speedups.hot_new_device
        hot_new_device_verdict = _speedups.hot_new_device_verdict
        hot_no_antivirus = _speedups.hot_no_antivirus
        hot_large_transfer = _speedups.hot_large_transfer
        hot_eol_os = _speedups.hot_eol_os
        hot_scan = _speedups.hot_scan
        hot_beacon = _speedups.hot_beacon
        hot_dns_anomaly = _speedups.hot_dns_anomaly
        hot_risky_download = _speedups.hot_risky_download
        literal_set = _speedups.literal_set
        literal_scan = _speedups.literal_scan
        evtx_chunk = _speedups.evtx_chunk
        evtx_sysmon = _speedups.evtx_sysmon
        evtx_security = _speedups.evtx_security
        evtx_enrich = _speedups.evtx_enrich
        evtx_enrich_configure = _speedups.evtx_enrich_configure
        evtx_security_configure = _speedups.evtx_security_configure
        evtx_sysmon_configure = _speedups.evtx_sysmon_configure
        evtx_fields = _speedups.evtx_fields
        evtx_get = _speedups.evtx_get
        evtx_copy = _speedups.evtx_copy
        evtx_configure = _speedups.evtx_configure
        if tuple(f.name for f in dataclasses.fields(Event)) == _EVENT_SLOTS and not hasattr(
            Event, "__post_init__"
        ):
            _speedups.events_configure(Event, _EVENT_SLOTS, orjson.loads, _json.clean_nul)
            zeek_event = _speedups.zeek_event
            zeek_configure = _speedups.zeek_configure
            suricata_event = _speedups.suricata_event
            suricata_configure = _speedups.suricata_configure
            fortigate_event = _speedups.fortigate_event
            fortigate_configure = _speedups.fortigate_configure
            fortigate_build = _speedups.fortigate_build
            fortigate_build_configure = _speedups.fortigate_build_configure
            evtx_event = _speedups.evtx_event
            evtx_event_configure = _speedups.evtx_event_configure
