"""The archive location setting: default directory, a file:// URL through the object-store path, S3."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from mimamori import archive
from mimamori.config import Settings
from mimamori.domain import Event, RawRecord
from mimamori.errors import ConfigError
from mimamori.services import events

T0 = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)  # a past day: compaction merges it
TENANT = "a1b2c3d4e5f60718"


def _settings(tmp_path: Path, **values: object) -> Settings:
    return Settings(data_dir=tmp_path / "data", secret_key="x" * 48, **values)  # type: ignore[arg-type]


def test_default_is_the_data_directory(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    assert events.archive_root(settings) == settings.archive_dir == tmp_path / "data" / "archive"


def test_a_file_url_archives_compacts_and_prunes_through_the_file_system(tmp_path: Path) -> None:
    settings = _settings(tmp_path, archive_url=f"file://{tmp_path}/elsewhere", archive_retention_days=1)
    root = events.archive_root(settings)
    assert isinstance(root, archive.FileSystemRoot)
    assert events.archive_root(settings) is root  # one client per configuration
    writer = events.open_writer(settings)
    assert writer is not None
    for n in range(2):
        writer.append(
            [
                Event(
                    T0,
                    TENANT,
                    "zeek.conn",
                    {"message": f"m{n}"},
                    "s",
                    RawRecord(TENANT, "s", "zeek", b"r", T0),
                )
            ]
        )
        writer.flush()
    writer.close()
    day = tmp_path / "elsewhere" / f"tenant={TENANT}" / "date=2026-01-05"
    assert len(list(day.glob("part-*.parquet"))) == 2
    assert not (tmp_path / "data" / "archive").exists()
    assert events.compact(settings).days == 1
    assert [p.name.split("-")[0] for p in day.iterdir()] == ["compact"]
    assert events.prune(settings, today=T0.date()).days == 0
    assert events.prune(settings, today=datetime(2027, 1, 1, tzinfo=UTC).date()).days == 1
    assert not day.exists()


def test_s3_settings_build_an_s3_client(tmp_path: Path) -> None:
    settings = _settings(
        tmp_path,
        archive_url="s3://mimamori-archive/prod",
        archive_s3_endpoint="http://127.0.0.1:9000",
        archive_s3_region="ap-northeast-1",
        archive_s3_access_key="minio",
        archive_s3_secret_key="minio-secret",
    )
    root = events.archive_root(settings)
    assert isinstance(root, archive.FileSystemRoot)
    assert (root.filesystem.type_name, root.base) == ("s3", "mimamori-archive/prod")


def test_a_half_configured_s3_is_a_config_error(tmp_path: Path) -> None:
    settings = _settings(tmp_path, archive_url="s3://bucket", archive_s3_access_key="only-the-key")
    with pytest.raises(ConfigError):
        events.archive_root(settings)
