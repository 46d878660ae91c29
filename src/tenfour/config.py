"""Settings from the environment (prefix ``TENFOUR_``), read through ``get_settings()`` — never at import time."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Values that must never protect a production deployment.
INSECURE_SECRETS = frozenset({"", "change-me", "changeme", "secret", "dev", "tenfour"})
SECRET_FILE_NAME = "secret_key"  # noqa: S105 - a file name


class ConfigurationError(RuntimeError):
    """The deployment is configured in a way that is unsafe or cannot work."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TENFOUR_", env_file=None, extra="ignore")

    environment: Literal["development", "production", "test"] = "development"
    data_dir: Path = Field(default=Path("data"), description="Folder for the SQLite database and the secret key")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; SQLite file in data_dir if unset")
    # Issue 10: a PostgreSQL read replica for analytics (the outcomes dashboard, research exports). Its sessions are
    # read-only (default_transaction_read_only). Unset: analytics read the primary.
    analytics_database_url: str | None = Field(default=None, description="Read replica URL for analytics")
    secret_key: str | None = Field(default=None, description="Signing key; generated into data_dir if unset")
    # Cookies get the Secure flag when the app is served over HTTPS (directly or behind a proxy that says so).
    force_secure_cookies: bool = False
    trusted_proxies: str = "127.0.0.1"
    base_url: str = "http://127.0.0.1:8000"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 8025
    smtp_sender: str = "TenFour <no-reply@tenfour.invalid>"
    smtp_starttls: bool = False
    smtp_username: str | None = None
    smtp_password: str | None = None
    # "smtp" sends through the server above; "file" writes each message as an .eml file into data_dir/mail
    # (the demo uses it, so a demo user can open the invitation and reminder emails without a mail server).
    mail_backend: Literal["smtp", "file"] = "smtp"
    # Background jobs (issue 10): "procrastinate" = a real queue in the same PostgreSQL, run by `tenfour worker`;
    # "inprocess" = a thread inside each server process (SQLite, demos). "auto": procrastinate on PostgreSQL.
    job_backend: Literal["auto", "procrastinate", "inprocess"] = "auto"
    # Logs: "json" = one JSON object per line, fields listed in docs/deployment.md and never PHI; "text" for people.
    # Unset: json in production, text otherwise.
    log_format: Literal["text", "json"] | None = None
    log_level: str = "INFO"
    # GET /metrics (Prometheus). With a token set, scrapers must send `Authorization: Bearer <token>`.
    metrics_token: str | None = None
    login_max_failures: int = Field(default=5, ge=1, description="Failures per account or address before slowing")
    login_failure_window_min: int = Field(default=15, ge=1)
    # The periodic sweep (check-ins, relapse, reminders, escalation) run by the server itself; 0 turns it off.
    # Unset: every 60 s, except in the test environment (off unless a test asks).
    sweep_interval_s: int | None = Field(default=None, ge=0, description="Seconds between sweeps; 0 = off")
    # Rate limits on invitations and check-ins (issue 9), per hour. Generous for real use: a patient checks in about
    # once a week, a coordinator invites a few people a day; they stop scripted guessing, mail floods and form floods.
    invitation_attempts_per_hour: int = Field(default=20, ge=1, description="Per address: invitation links tried")
    invitations_sent_per_hour: int = Field(default=30, ge=1, description="Per staff member: invitations emailed")
    checkin_submissions_per_hour: int = Field(default=12, ge=1, description="Per patient: check-ins stored")
    checkin_link_failures_per_hour: int = Field(default=20, ge=1, description="Per address: bad check-in links")

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def effective_sweep_interval_s(self) -> int:
        """The server's own sweep timer. Off when a job worker runs the sweeps (procrastinate) and in tests."""
        if self.sweep_interval_s is not None:
            return self.sweep_interval_s
        return 0 if self.environment == "test" or self.effective_job_backend == "procrastinate" else 60

    @property
    def effective_job_backend(self) -> Literal["procrastinate", "inprocess"]:
        if self.job_backend != "auto":
            return self.job_backend
        return "procrastinate" if self.effective_database_url().startswith("postgresql") else "inprocess"

    @property
    def effective_log_format(self) -> Literal["text", "json"]:
        return self.log_format or ("json" if self.is_production else "text")

    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'tenfour.db'}"

    def effective_secret_key(self) -> str:
        """The signing key: from the environment, else from the data folder (created on first run).

        Production refuses to start without a strong, explicit or stored key.
        """
        if self.secret_key is not None:
            key = self.secret_key
        else:
            path = self.data_dir / SECRET_FILE_NAME
            if path.exists():
                key = path.read_text().strip()
            elif self.is_production:
                raise ConfigurationError(
                    f"No secret key: set TENFOUR_SECRET_KEY or put one in {path} before starting in production"
                )
            else:
                self.data_dir.mkdir(parents=True, exist_ok=True)
                key = secrets.token_urlsafe(48)
                path.write_text(key + "\n")
                path.chmod(0o600)
        if self.is_production and (key.strip().lower() in INSECURE_SECRETS or len(key) < 32):
            raise ConfigurationError("The secret key is a default or too short (need 32+ characters) in production")
        return key


@lru_cache
def get_settings() -> Settings:
    return Settings()
