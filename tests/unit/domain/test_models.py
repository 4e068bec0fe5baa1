"""The domain records behave as the frozen dataclasses they are declared as (``RawRecord`` has a faster
``__init__`` of its own)."""

from __future__ import annotations

import dataclasses
import inspect
import pickle
from datetime import UTC, datetime

import pytest

from mimamori.domain.models import DEFAULT_TIMEZONE, RawRecord

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def test_raw_record_init_is_the_dataclass_signature() -> None:
    parameters = list(inspect.signature(RawRecord).parameters.values())
    declared = dataclasses.fields(RawRecord)
    assert [p.name for p in parameters] == [f.name for f in declared]
    assert [p.default for p in parameters] == [
        inspect.Parameter.empty if f.default is dataclasses.MISSING else f.default for f in declared
    ]


def test_raw_record_is_a_frozen_value() -> None:
    record = RawRecord("t", "s", "fortigate", b"line", NOW)
    assert (record.origin, record.timezone) == ("", DEFAULT_TIMEZONE)
    same = RawRecord(
        tenant_id="t",
        sensor_id="s",
        format="fortigate",
        data=b"line",
        received_at=NOW,
        origin="",
        timezone=DEFAULT_TIMEZONE,
    )
    assert record == same
    assert hash(record) == hash(same)
    assert record != RawRecord("t", "s", "fortigate", b"line", NOW, "http")
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.data = b"other"  # type: ignore[misc]
    changed = dataclasses.replace(record, data=b"other", timezone="UTC")
    assert (changed.data, changed.timezone, changed.tenant_id) == (b"other", "UTC", "t")
    assert pickle.loads(pickle.dumps(changed)) == changed
    assert repr(record).startswith("RawRecord(tenant_id='t', sensor_id='s', format='fortigate'")
    with pytest.raises(TypeError):
        RawRecord("t", "s", "fortigate", b"line")  # type: ignore[call-arg]
