from pathlib import Path

import pytest

from mimamori.config import DEMO_SECRET, Settings
from mimamori.errors import ConfigError


@pytest.mark.parametrize("secret", ["", "change-me", "secret", "short-but-not-placeholder"])
def test_placeholder_or_short_secret_fails_closed(secret: str) -> None:
    with pytest.raises(ConfigError, match="MIMAMORI_SECRET_KEY"):
        Settings(secret_key=secret).check_secrets()


def test_demo_mode_gets_its_own_secret_and_may_run() -> None:
    settings = Settings(demo=True)
    settings.check_secrets()
    assert settings.secret_key == DEMO_SECRET


def test_environment_and_toml_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    toml = tmp_path / "mimamori.toml"
    toml.write_text("port = 9000\nsyslog_tcp_port = 1514\n", encoding="utf-8")
    monkeypatch.setenv("MIMAMORI_CONFIG_FILE", str(toml))
    monkeypatch.setenv("MIMAMORI_DATA_DIR", str(tmp_path / "d"))
    monkeypatch.setenv("MIMAMORI_SYSLOG_TCP_PORT", "2514")  # the environment wins over the file
    monkeypatch.delenv("MIMAMORI_DATABASE_URL", raising=False)  # set in the suite's PostgreSQL mode
    settings = Settings.load()
    assert settings.port == 9000
    assert settings.syslog_tcp_port == 2514
    assert settings.data_dir == tmp_path / "d"
    assert settings.db_url == f"sqlite:///{tmp_path / 'd' / 'mimamori.db'}"


def test_invalid_values_are_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MIMAMORI_PORT", "not-a-number")
    with pytest.raises(ConfigError):
        Settings.load()
