"""Settings: one validated object, from ``MIMAMORI_*`` environment variables and an optional TOML file.

Created once at the entry point (``Settings.load()``) and passed down; never at import time.
Outside demo mode a placeholder or missing secret is refused (fail closed).
"""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from mimamori.errors import ConfigError

PLACEHOLDER_SECRETS = frozenset({"", "change-me", "changeme", "secret", "placeholder", "demo-secret-key"})
DEMO_SECRET = "demo-secret-key"  # noqa: S105 - used only when demo mode is on, refused otherwise
MIN_SECRET_LENGTH = 32


def default_data_dir() -> Path:
    """Where mimamori keeps its database, spool and content unless ``MIMAMORI_DATA_DIR`` says otherwise."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "mimamori"


class WatchEntry(BaseModel):
    """One directory-watch source: a glob of files and the sensor their lines belong to."""

    path: str
    tenant: str
    sensor: str


class Settings(BaseSettings):
    """Every setting of a mimamori process."""

    model_config = SettingsConfigDict(env_prefix="MIMAMORI_", extra="ignore")

    data_dir: Path = Field(default_factory=default_data_dir)
    database_url: str = ""  # empty: SQLite file in data_dir
    secret_key: str = ""
    demo: bool = False
    config_file: Path | None = None

    host: str = "127.0.0.1"
    port: int = 8000
    syslog_host: str = "127.0.0.1"
    syslog_tcp_port: int = 5514
    syslog_udp_port: int = 5514
    syslog_tls_port: int = 6514  # RFC 5425; listens only when a server certificate is configured
    syslog_max_message: int = 64 * 1024
    tls_cert_file: Path | None = None  # PEM server certificate (chain) for syslog over TLS
    tls_key_file: Path | None = None
    tls_client_ca_file: Path | None = None  # CA bundle that signs sensors' client certificates
    tls_require_client_cert: bool = False  # False: senders without a certificate use token or address

    # Files another agent writes, tailed into a sensor:
    # [[watch]] path = "/var/log/fw/*.log", tenant = "<tenant id>", sensor = "<sensor id>"
    watch: list[WatchEntry] = Field(default_factory=list)
    watch_from_start: bool = False

    # Scale-out (docs/deploy.md): `mimamori receiver | worker | scheduler | web` over NATS JetStream.
    nats_url: str = "nats://127.0.0.1:4222"
    bus_prefix: str = "mimamori"  # subjects <prefix>.raw.<partition>; stream and buckets named after it
    bus_partitions: int = 16  # fixed for the life of the stream: a tenant always hashes to the same partition
    worker_id: str = ""  # empty: host name and process id
    # Bytes the raw stream may hold (-1: unlimited, bounded by NATS's disk); when full, receivers push back
    # (TCP not read, HTTP 429) instead of NATS dropping unprocessed batches.
    bus_stream_max_bytes: int = -1

    queue_batches: int = 256  # bounded in-process queue, in batches
    # Pipeline processes of `mimamori serve` (`--workers`): 1 runs it in the serving process; N > 1 spawns
    # N children, each owning the tenants of one partition (docs/deploy.md, "One box, several cores").
    workers: int = Field(default=1, ge=1, le=64)
    batch_size: int = 500
    batch_linger_ms: int = 200
    http_max_body: int = 8 * 1024 * 1024
    record_max_bytes: int = 64 * 1024

    indicators_file: Path | None = None  # default: data_dir/indicators.txt, seeded from the bundled content
    # Sigma rules: `mimamori rules update` fetches this (a SigmaHQ release archive, a zip or a directory).
    sigma_source: str = "https://github.com/SigmaHQ/sigma/releases/latest/download/sigma_all_rules.zip"
    sigma_disabled_levels: list[str] = Field(default_factory=lambda: ["informational"])
    sigma_disabled_rules: list[str] = Field(default_factory=list)  # rule ids off for every tenant
    sigma_keep_versions: int = 3  # installed rulesets kept on disk (the current one and rollbacks)
    sigma_max_download: int = 256 * 1024 * 1024  # bytes; a larger archive is refused
    # Threat-intelligence feeds (`mimamori feeds`): refresh period, default lifetime, download limit.
    indicator_refresh_minutes: int = 60
    indicator_ttl_days: int = 30
    indicator_max_download: int = 256 * 1024 * 1024
    retrohunt_days: int = 30  # observed values kept and searched when new indicators arrive
    language: str = "ja"
    # Session cookie only over HTTPS ("Secure"). Unset: on when public_url is https:// (docs/accounts.md).
    session_https_only: bool | None = None

    # Notifications (docs/notifications.md). E-mail goes over SMTP when ``smtp_host`` is set; without it,
    # messages are written as .eml files to ``mail_dir`` (the demo), or dead-lettered with the reason.
    notify_enabled: bool = True
    public_url: str = "http://127.0.0.1:8000"  # the portal's address, for links in messages
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_security: str = "starttls"  # starttls | tls (implicit, port 465) | none (a local relay only)
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_from: str = "mimamori@localhost"
    smtp_timeout: float = 10.0  # seconds
    smtp_ca_file: Path | None = None  # extra CA for the SMTP server's certificate (a private relay)
    mail_dir: Path | None = None  # .eml files instead of SMTP when smtp_host is empty
    webhook_secret: str = ""  # HMAC key of the generic webhook; empty: derived from secret_key
    phone_webhook_url: str = ""  # the provider's telephony service (the last escalation step)
    phone_webhook_secret: str = ""  # empty: derived from secret_key
    http_timeout: float = 10.0  # seconds, webhook/Slack/Teams/telephony requests
    brand_name: str = "mimamori"
    brand_color: str = "#1f5fa8"
    brand_logo_url: str | None = None
    brand_footer: str = ""  # the provider's desk: phone, e-mail, hours
    soc_email: str = ""  # the SOC mailbox, told when no on-call shift covers the moment
    notify_escalation_minutes: int = 15  # default for tenants without their own policy
    notify_quiet_hours: str = "20:00-08:00"
    notify_digest_time: str = "08:30"
    notify_retry_base_seconds: float = 30.0  # first retry wait; doubles per failure
    notify_retry_cap_seconds: float = 3600.0
    notify_max_attempts: int = 10  # then dead-lettered (shown in the SOC console)
    notify_lease_seconds: float = 60.0  # a worker that dies while sending gives its messages back after this
    notify_poll_seconds: float = 1.0  # fallback poll; new alerts wake the notifier at once
    sensor_silence_minutes: int = 60  # a sensor silent for longer raises a notification (0: off)

    # The event archive (docs/archive.md): every parsed event as Parquet under data_dir/archive, per
    # tenant and UTC day, for event search. A (tenant, day) buffer is written after flush_seconds or
    # flush_events events; max_buffered bounds the events held in memory across all tenants.
    archive_enabled: bool = True
    archive_flush_seconds: float = 60.0
    archive_flush_events: int = 20_000
    archive_max_buffered: int = 100_000
    archive_retention_days: int = 90  # older days are deleted (0: kept forever)
    # Where the archive lives: empty = data_dir/archive; a local path; s3://bucket/prefix (S3 or an
    # S3-compatible store); file:///path (a local directory through the object-store code path).
    archive_url: str = ""
    archive_s3_endpoint: str = ""  # e.g. http://minio:9000 (empty: AWS)
    archive_s3_region: str = ""  # empty: the AWS default (environment, ~/.aws/config)
    archive_s3_access_key: str = ""  # empty (both): the AWS default credential chain
    archive_s3_secret_key: str = Field(default="", repr=False)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_path = os.environ.get("MIMAMORI_CONFIG_FILE")
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if toml_path:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(toml_path)))
        return tuple(sources)

    @model_validator(mode="after")
    def _fail_closed(self) -> Settings:
        if self.demo and self.secret_key in PLACEHOLDER_SECRETS:
            self.secret_key = DEMO_SECRET
        return self

    def check_secrets(self) -> None:
        """Refuse to run a real service with a placeholder secret (demo mode is exempt)."""
        if self.demo:
            return
        if self.secret_key.strip().lower() in PLACEHOLDER_SECRETS or len(self.secret_key) < MIN_SECRET_LENGTH:
            raise ConfigError(
                "MIMAMORI_SECRET_KEY is missing or a placeholder; set at least "
                f"{MIN_SECRET_LENGTH} random characters (e.g. `python -c 'import secrets;"
                " print(secrets.token_urlsafe(48))'`), or run `mimamori demo`."
            )

    @property
    def session_secure(self) -> bool:
        """Whether the session cookie is marked Secure (sent over HTTPS only)."""
        if self.session_https_only is not None:
            return self.session_https_only
        return self.public_url.lower().startswith("https://")

    @property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'mimamori.db'}"

    @property
    def spool_dir(self) -> Path:
        return self.data_dir / "spool"

    @property
    def archive_dir(self) -> Path:
        return self.data_dir / "archive"

    @property
    def indicators_path(self) -> Path:
        return self.indicators_file or self.data_dir / "indicators.txt"

    def derived_secret(self, purpose: str) -> str:
        """A per-purpose key derived from ``secret_key`` (for signatures when no own secret is set)."""
        return hmac.new(self.secret_key.encode(), purpose.encode(), hashlib.sha256).hexdigest()

    @property
    def sigma_dir(self) -> Path:
        return self.data_dir / "rules" / "sigma"

    @classmethod
    def load(cls, **overrides: Any) -> Settings:
        """Build the settings for an entry point; raise ConfigError with a readable message."""
        try:
            return cls(**overrides)
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc
