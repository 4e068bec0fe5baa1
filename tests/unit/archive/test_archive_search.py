"""Event search: one tenant, a time range, newest first, filters, text; hostile input stays data."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from tests.unit.archive.conftest import OTHER, T0, TENANT, event

from mimamori.archive import ArchiveWriter, search
from mimamori.errors import ValidationError

START, END = T0 - timedelta(hours=1), T0 + timedelta(hours=1)


@pytest.fixture
def filled(make_writer: Callable[..., ArchiveWriter], root: Path) -> Path:
    writer = make_writer()
    writer.append(
        [
            event(
                T0,
                source__ip="192.168.1.5",
                destination__ip="203.0.113.66",
                destination__port=443,
                host__name="PC-Keiri-01",
                message="first",
            ),
            event(
                T0 + timedelta(minutes=1),
                source__ip="192.168.1.6",
                dns__question__name="Evil.Example",
                raw=b"it's \"quoted\" '; DROP TABLE x; --",
            ),
            event(T0 + timedelta(minutes=2), source__ip="192.168.1.5", destination__port=53, message="third"),
            event(T0 + timedelta(minutes=3), tenant=OTHER, source__ip="192.168.1.5", message="other tenant"),
            event(T0 - timedelta(days=1), source__ip="192.168.1.5", message="yesterday"),
        ]
    )
    writer.flush()
    return root


def messages(root: Path, **kwargs: object) -> list[object]:
    page = search(root, TENANT, kwargs.pop("start", START), kwargs.pop("end", END), **kwargs)  # type: ignore[arg-type]
    return [e.get("message") for e in page.events]


def test_newest_first_within_the_range_and_only_the_tenant(filled: Path) -> None:
    assert messages(filled) == ["third", None, "first"]
    assert messages(filled, start=T0 - timedelta(days=2)) == ["third", None, "first", "yesterday"]


def test_end_is_exclusive(filled: Path) -> None:
    assert messages(filled, start=T0, end=T0 + timedelta(minutes=2)) == [None, "first"]


def test_limit_offset_and_has_more(filled: Path) -> None:
    page = search(filled, TENANT, START, END, limit=2)
    assert [e.get("message") for e in page.events] == ["third", None]
    assert page.has_more
    page = search(filled, TENANT, START, END, limit=2, offset=2)
    assert [e.get("message") for e in page.events] == ["first"]
    assert not page.has_more


def test_field_filters(filled: Path) -> None:
    assert messages(filled, filters={"source.ip": "192.168.1.5"}) == ["third", "first"]
    assert messages(filled, filters={"destination.port": "443"}) == ["first"]
    assert messages(filled, filters={"host.name": "pc-keiri-01"}) == ["first"]  # names: any case
    assert messages(filled, filters={"dns.question.name": "evil.example"}) == [None]
    assert messages(filled, filters={"source.ip": "192.168.1.5", "destination.port": "53"}) == ["third"]
    assert messages(filled, filters={"source.ip": ""}) == ["third", None, "first"]  # empty: no filter


def test_text_search_is_case_insensitive_over_fields_and_raw(filled: Path) -> None:
    assert messages(filled, text="FIRST") == ["first"]
    assert messages(filled, text="keiri") == ["first"]
    page = search(filled, TENANT, START, END, text="drop table")
    assert [e.raw for e in page.events] == ["it's \"quoted\" '; DROP TABLE x; --"]


@pytest.mark.parametrize(
    "text",
    ["'", '"', "'; DROP TABLE x; --", "%", "_", "\\", "') OR 1=1 --", "$files", "*"],
)
def test_hostile_text_is_only_data(filled: Path, text: str) -> None:
    page = search(filled, TENANT, START, END, text=text)
    assert all(
        text.lower() in (e.raw or "").lower() or text.lower() in str(e.fields).lower() for e in page.events
    )


def test_quote_inside_a_field_value_is_found(filled: Path) -> None:
    assert messages(filled, text='"quoted"') == [None]


def test_hostile_filter_values_match_nothing(filled: Path) -> None:
    assert messages(filled, filters={"source.ip": "' OR '1'='1"}) == []
    assert messages(filled, filters={"host.name": 'x") OR 1=1 --'}) == []


@pytest.mark.parametrize(
    "tenant", ["../" + TENANT, "..", "", ".", "a/b", "tenant=x", "a\x00b", "x" * 65, "a b", "*", "a;b"]
)
def test_hostile_tenant_ids_are_refused(filled: Path, tenant: str) -> None:
    with pytest.raises(ValidationError):
        search(filled, tenant, START, END)


def test_other_tenant_directory_is_never_read(filled: Path) -> None:
    page = search(filled, OTHER, START, END)
    assert [e.tenant_id for e in page.events] == [OTHER]
    assert page.files == 1


def test_unknown_filter_and_bad_values_are_refused(filled: Path) -> None:
    with pytest.raises(ValidationError):
        search(filled, TENANT, START, END, filters={'source.ip" = 1 OR "x': "1"})
    with pytest.raises(ValidationError):
        search(filled, TENANT, START, END, filters={"destination.port": "443 OR 1=1"})
    with pytest.raises(ValidationError):
        search(filled, TENANT, START, END, limit=0)
    with pytest.raises(ValidationError):
        search(filled, TENANT, START, END, limit=10_001)
    with pytest.raises(ValidationError):
        search(filled, TENANT, START.replace(tzinfo=None), END)


def test_empty_archive_and_empty_range(root: Path) -> None:
    assert search(root, TENANT, START, END).events == []
    assert search(root, TENANT, END, START).events == []


def test_range_in_another_zone_is_the_same_instant(filled: Path) -> None:
    from zoneinfo import ZoneInfo

    jst = ZoneInfo("Asia/Tokyo")
    page = search(filled, TENANT, START.astimezone(jst), END.astimezone(jst))
    assert len(page.events) == 3
    assert all(e.timestamp.tzinfo is UTC or e.timestamp.utcoffset() == timedelta(0) for e in page.events)
    assert page.events[0].timestamp == datetime(2026, 11, 26, 1, 2, tzinfo=UTC)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"text": "\ud800"},
        {"filters": {"host.name": "\ud800x"}},
        {"start": datetime(9999, 12, 31, tzinfo=timezone(timedelta(hours=-14)))},
        {"start": datetime(1, 1, 1, 1, tzinfo=timezone(timedelta(hours=14)))},
    ],
)
def test_unencodable_text_and_out_of_range_times_are_validation_errors(
    filled: Path, kwargs: dict[str, object]
) -> None:
    start = kwargs.pop("start", START)
    end = datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-14))) if start != START else END
    with pytest.raises(ValidationError):
        search(filled, TENANT, start, end, **kwargs)  # type: ignore[arg-type]


def test_nul_characters_are_just_text(filled: Path) -> None:
    assert search(filled, TENANT, START, END, text="\x00").events == []
    assert search(filled, TENANT, START, END, filters={"source.ip": "\x00"}).events == []
