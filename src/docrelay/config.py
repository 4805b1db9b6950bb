"""Settings, read from ``DOCRELAY_*`` environment variables and an optional ``.env`` file.

Every setting is documented in ``docs/configuration.md``; a test keeps the two in step.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import os
import urllib.parse
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from docrelay.errors import ConfigurationError


class Settings(BaseSettings):
    """DocRelay's configuration. Field names map to ``DOCRELAY_<NAME>`` variables."""

    model_config = SettingsConfigDict(
        env_prefix="DOCRELAY_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    data_dir: Path = Field(
        default=Path("docrelay-data"),
        description="Directory for the SQLite database, blobs, the generated secret key and .eml alerts.",
    )
    blob_dir: Path = Field(
        default_factory=lambda data: Path(data.get("data_dir", "docrelay-data")) / "blobs",
        description="Directory for stored PDFs and files (default DATA_DIR/blobs). Every API and worker process must see the same directory.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default SQLite at DATA_DIR/docrelay.db. PostgreSQL: postgresql+psycopg://user:pass@host/db.",
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description="Key that encrypts secrets at rest. Generated into DATA_DIR/secret.key when unset (SQLite only).",
    )
    base_url: str = Field(
        default="http://127.0.0.1:8000",
        description="Public base URL used in signing links and download links.",
    )
    host: str = Field(default="127.0.0.1", description="Address `docrelay serve` listens on.")
    port: int = Field(default=8000, ge=0, le=65535, description="Port `docrelay serve` listens on.")
    smtp_url: str | None = Field(
        default=None,
        description="smtp://user:pass@host:port for alert emails; unset writes .eml files under DATA_DIR/outbox.",
    )
    allowed_destination_networks: str = Field(
        default="",
        description="Comma-separated CIDRs that web notification destinations may reach although they are private or loopback.",
    )
    log_format: Literal["text", "json"] = Field(default="text", description="Log line format.")
    log_level: str = Field(
        default="INFO", description="Log level name (DEBUG, INFO, WARNING, ERROR)."
    )
    salesforce_route_url: str | None = Field(
        default=None,
        description="Send every Salesforce call to this base URL instead of *.salesforce.com (the local emulator).",
    )
    salesforce_connect_timeout: float = Field(
        default=10.0, gt=0, description="Seconds to wait for a Salesforce connection."
    )
    salesforce_read_timeout: float = Field(
        default=60.0, gt=0, description="Seconds to wait for a Salesforce response."
    )
    salesforce_max_in_flight: int = Field(
        default=10,
        ge=1,
        le=24,
        description="Salesforce requests in flight per org, kept under Salesforce's 25 long-running limit.",
    )
    poll_interval: float = Field(
        default=1.0,
        gt=0,
        description="Seconds between worker polls when no wake-up signal arrives.",
    )
    lease_seconds: float = Field(
        default=120.0,
        gt=0,
        description="How long a claimed delivery stays reserved for its worker before another may take it.",
    )
    worker_concurrency: int = Field(
        default=32, ge=1, description="Deliveries one worker sends at once."
    )
    worker_enabled: bool = Field(
        default=True, description="Run the delivery worker inside `docrelay serve`."
    )
    attempt_retention_days: int = Field(
        default=90, ge=1, description="Days delivery attempt rows are kept."
    )
    max_template_bytes: int = Field(
        default=25 * 1024 * 1024, gt=0, description="Maximum template PDF size, in bytes."
    )
    max_template_pages: int = Field(
        default=500, gt=0, description="Maximum number of pages in a template PDF."
    )
    sqlite_synchronous: Literal["OFF", "NORMAL", "FULL"] = Field(
        default="NORMAL",
        description="SQLite synchronous pragma; FULL survives power loss at a third of the speed.",
    )
    notify_enabled: bool = Field(
        default=True,
        description="Use PostgreSQL LISTEN/NOTIFY to wake workers (turn off behind PgBouncer transaction pooling).",
    )
    scheduler_interval: float = Field(
        default=30.0,
        gt=0,
        description="Seconds between runs of the expiry and pre-expiration warning job.",
    )
    reconcile_interval: float = Field(
        default=900.0,
        gt=0,
        description="Seconds between runs of the Salesforce reconciler, which re-pushes statuses Salesforce has not confirmed.",
    )

    @field_validator("log_level")
    @classmethod
    def _check_log_level(cls, value: str) -> str:
        level = value.upper()
        if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ValueError(f"{value!r} is not a log level; use DEBUG, INFO, WARNING or ERROR")
        return level

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        parsed = urllib.parse.urlsplit(value)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError(f"{value!r} is not an http(s) URL such as https://sign.example.com")
        return value.rstrip("/")

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        scheme = value.split("://", 1)[0] if "://" in value else ""
        if not (scheme.startswith("sqlite") or scheme.startswith("postgres")):
            raise ValueError(
                f"scheme {scheme or '(none)'!r} is not supported; use sqlite:///PATH or "
                "postgresql+psycopg://USER:PASSWORD@HOST/DATABASE"
            )
        return value

    @field_validator("allowed_destination_networks")
    @classmethod
    def _check_networks(cls, value: str) -> str:
        for item in _split(value):
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError as exc:
                raise ValueError(f"{item!r} is not a CIDR network such as 10.0.0.0/8") from exc
        return value

    @property
    def allowed_networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        return [
            ipaddress.ip_network(item, strict=False)
            for item in _split(self.allowed_destination_networks)
        ]

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            url = self.database_url
            if url.startswith("postgresql://") or url.startswith("postgres://"):
                url = "postgresql+psycopg://" + url.split("://", 1)[1]
            return url
        return f"sqlite:///{(self.data_dir / 'docrelay.db').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")


def _split(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def load_settings(**overrides: object) -> Settings:
    """Read the settings, turning pydantic's error into one that names the variable and the fix."""
    from pydantic import ValidationError as PydanticValidationError

    _warn_unknown_variables()
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except PydanticValidationError as exc:
        problems = []
        for error in exc.errors():
            name = "DOCRELAY_" + "_".join(str(part) for part in error["loc"]).upper()
            problems.append(f"{name}: {error['msg']}")
        raise ConfigurationError(
            "Invalid configuration. "
            + "; ".join(problems)
            + ". Fix the environment variable or .env entry and start again."
        ) from exc


_NOT_SETTINGS = ("DOCRELAY_TEST_", "DOCRELAY_SALESFORCE_TEST_")


def _warn_unknown_variables() -> None:
    """Log ``DOCRELAY_*`` environment variables that match no setting, which are usually typos."""
    known = {f"DOCRELAY_{name.upper()}" for name in Settings.model_fields}
    unknown = sorted(
        name
        for name in os.environ
        if name.startswith("DOCRELAY_") and name not in known and not name.startswith(_NOT_SETTINGS)
    )
    if unknown:
        logging.getLogger(__name__).warning(
            "Ignoring unknown environment variables %s; see docs/configuration.md for the settings",
            ", ".join(unknown),
            extra={"action": "unknown_settings"},
        )


@functools.cache
def get_settings() -> Settings:
    """Return the process-wide settings (read once)."""
    return load_settings()
