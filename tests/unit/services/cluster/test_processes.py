"""The scale-out processes read the bus settings every process must agree on."""

from __future__ import annotations

from pathlib import Path

from mimamori.config import Settings
from mimamori.services.cluster.processes import alerts_subject, bus_config


def test_bus_config_follows_the_settings(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        nats_url="nats://nats.example:4222",
        bus_prefix="prod",
        bus_partitions=32,
        bus_stream_max_bytes=8 * 1024**3,
    )
    config = bus_config(settings)
    assert (config.url, config.prefix, config.partitions, config.max_bytes) == (
        "nats://nats.example:4222", "prod", 32, 8 * 1024**3,
    )  # fmt: skip
    assert config.stream == "prod_raw"
    assert alerts_subject(settings) == "prod.alerts"
    assert bus_config(Settings(data_dir=tmp_path)).max_bytes == -1  # bounded by NATS's disk
