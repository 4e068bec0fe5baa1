"""Type stub of the optional C extension ``_speedups.c``; see ``_native`` for how it is selected."""

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from mimamori.domain.models import Event, Fields, RawRecord

def kv_split(body: str, /) -> dict[str, str] | None: ...
def to_ints(values: Sequence[str], limit: int, /) -> list[int] | None: ...
def rename_values(names: tuple[str, ...], pairs: dict[str, str], /) -> Fields: ...
def fortigate_ints(
    fields: Fields,
    pairs: dict[str, str],
    keys: tuple[str, ...],
    names: tuple[str, ...],
    ports: int,
    limit: int,
    /,
) -> bool: ...
def drop_unset(fields: Fields, names: tuple[str, ...], unset: frozenset[str], /) -> None: ...
def has_big_int(data: bytes, /) -> bool: ...
def flatten(fields: Fields, name: str, value: Any, depth: int = 0, /) -> None: ...
def rename_into(
    fields: Fields, obj: dict[str, Any], specs: dict[str, tuple[str, type[Any]]], prefix: str, /
) -> None: ...
def object_fields(
    fields: Fields,
    obj: dict[str, Any],
    top: dict[str, tuple[str, type[Any]]],
    handlers: dict[str, Callable[[Fields, dict[str, Any]], None]],
    skip: frozenset[str],
    prefix: str,
    /,
) -> None: ...
def zeek_fields(
    obj: dict[str, Any],
    popped: tuple[str, ...],
    skip: frozenset[str],
    known: dict[str, type[Any] | None],
    names: dict[str, str],
    slow: dict[str, Any],
    prefix: str,
    checked: bool,
    /,
) -> Fields: ...
def address_scan(
    events: list[Any],
    ips: dict[str, Any],
    local_cache: dict[str, bool],
    is_local: Callable[[str], bool],
    in_ranges: Callable[[object], bool] | None,
    rare_fields: frozenset[str],
    addresses: dict[tuple[str, str], list[Any]],
    observe: bool,
    range_cache: dict[str, int] | None,
    /,
) -> list[int] | None: ...
def behaviour_views(
    events: Sequence[Any],
    routes: dict[str, Any],
    route: Callable[[str], Any],
    found: list[list[Any]],
    on_error: Callable[[int, BaseException], None],
    /,
) -> None: ...
def views_configure(
    view: type[Any],
    slots: tuple[str, ...],
    is_lan: Callable[[str], bool],
    place: Callable[[str], int],
    port_of: Callable[[Any], int],
    device_of: Callable[[str | None, str | None], Any],
    prefixes: tuple[str, ...],
    max_chars: int,
    lan: int,
    other: int,
    host_datasets: frozenset[str],
    /,
) -> None: ...

# The behaviours' hot paths (_speedups_hot.c): the findings of ``see(view)``, or None when it must run.
def hot_new_device(behaviour: Any, view: Any, /) -> tuple[Any, ...] | None: ...
def hot_new_device_verdict(behaviour: Any, view: Any, /) -> tuple[Any, ...] | None: ...
def hot_no_antivirus(behaviour: Any, view: Any, /) -> tuple[Any, ...] | None: ...
def hot_large_transfer(behaviour: Any, view: Any, /) -> Any: ...
def hot_eol_os(behaviour: Any, view: Any, /) -> tuple[Any, ...] | None: ...
def hot_scan(behaviour: Any, view: Any, /) -> tuple[Any, ...] | None: ...
def hot_beacon(behaviour: Any, view: Any, /) -> tuple[Any, ...] | None: ...
def hot_dns_anomaly(behaviour: Any, view: Any, /) -> tuple[Any, ...] | None: ...
def hot_risky_download(behaviour: Any, view: Any, /) -> tuple[Any, ...] | None: ...
def evtx_fields(
    system: dict[str, Any], event: dict[str, Any], doc: dict[str, Any], /
) -> tuple[Fields, Fields, Any] | None: ...
def evtx_configure(
    plan: dict[str, Any],
    levels: dict[int, str],
    value: Callable[[Any], Any],
    prefix: str,
    none: frozenset[str],
    /,
) -> None: ...
def evtx_get(data: dict[str, Any], name: str, /) -> str | None: ...
def evtx_copy(fields: Fields, data: dict[str, Any], names: dict[str, str], /) -> None: ...
def configure(json_text: Callable[[Any], str], /) -> None: ...
def events_configure(
    event: type[Event],
    slots: tuple[str, ...],
    loads: Callable[[bytes], Any],
    clean_nul: Callable[[Fields], Fields],
    /,
) -> None: ...
def zeek_configure(
    tables: dict[str, Any],
    timestamp: Callable[[Any, str], datetime],
    finish: Callable[..., None],
    handlers: dict[Any, int],
    /,
) -> None: ...
def zeek_event(record: RawRecord, /) -> Event | None: ...
def suricata_configure(
    datasets: dict[str, Any],
    top: dict[str, tuple[str, type[Any]]],
    handlers: dict[str, Callable[[Fields, dict[str, Any]], None]],
    skip: frozenset[str],
    prefix: str,
    kinds: dict[str, int],
    specs: dict[int, tuple[dict[str, tuple[str, type[Any]]], str]],
    outcomes: dict[str, str],
    iso_time: Callable[[str, str], datetime],
    /,
) -> None: ...
def suricata_event(record: RawRecord, /) -> Event | None: ...
def fortigate_configure(
    datasets: dict[tuple[str, str], tuple[str, str]], build: Callable[[dict[str, str], str], Fields], /
) -> None: ...
def fortigate_event(record: RawRecord, /) -> Event | None: ...
def fortigate_build_configure(
    layouts: dict[tuple[str, ...], Any],
    fix_ints: Callable[[Fields, dict[str, str], Any], None],
    macs: dict[str, str],
    mac: Callable[[str], str],
    transport: dict[str, str],
    not_set: frozenset[str],
    outcomes: dict[str | None, str],
    category: dict[str, str],
    url: Callable[[Fields, str], None],
    ip_list: Callable[[str], list[str]],
    domain: Callable[[str], str],
    max_int: int,
    /,
) -> None: ...
def fortigate_build(pairs: dict[str, str], feature: str, /) -> Fields: ...
def evtx_event_configure(enrich: Callable[[Fields, Any], str], /) -> None: ...
def evtx_event(record: RawRecord, /) -> Event | None: ...
def evtx_chunk(chunk: bytes, /) -> list[tuple[int, bytes]] | None: ...
def evtx_sysmon(fields: Fields, data: dict[str, Any], event_id: int, /) -> None: ...
def evtx_security(fields: Fields, data: dict[str, Any], event_id: int, /) -> None: ...
def evtx_enrich(fields: Fields, data: Any, /) -> str: ...
def evtx_enrich_configure(
    known: dict[tuple[str | None, str | None], str],
    remember: Callable[[tuple[str | None, str | None]], str],
    constant: dict[str, str],
    handlers: dict[str, Callable[..., None]],
    /,
) -> None: ...
def evtx_security_configure(
    categories: dict[int, tuple[str, str, str]],
    strs: dict[str, str],
    target_user_events: frozenset[int],
    group_events: frozenset[int],
    failed_events: frozenset[int],
    status_events: frozenset[int],
    logon_types: dict[str, str],
    ip: Callable[[str | None], str | None],
    keywords: Callable[[object], int | None],
    cleared_by: Callable[[Fields], None],
    /,
) -> None: ...
def evtx_sysmon_configure(
    categories: dict[int, tuple[str, str, str]],
    strs: dict[str, str],
    ints: dict[str, str],
    number: Callable[[str | None], int | None],
    hashes: Callable[[Fields, str, str | None], None],
    network: Callable[[Fields, Any], None],
    dns: Callable[[Fields, Any], None],
    hash_fields: dict[str, dict[str, str]],
    /,
) -> None: ...
def literal_set(texts: list[bytes], /) -> object | None: ...
def literal_scan(automaton: object, fields: Mapping[str, Any], /) -> list[int] | None: ...
