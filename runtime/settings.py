"""Runtime configuration from environment variables (see deploy/env.example)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

ENV_PREFIX = "ROLLOUT_"


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True)

    temporal_address: str = "localhost:7233"
    temporal_namespace: str = "default"
    task_queue: str = "rollouts"
    database_url: str | None = None
    """The application's PostgreSQL DSN: a role that may append to the events and read them, not
    the schema's owner (store/privileges.py)."""
    migration_database_url: str | None = None
    """The schema owner's DSN: only `python -m runtime.migrate` (and `rollout up` with a given
    database) use it. Never give it to the workers or the API."""
    database_role: str | None = None
    """The application's role, granted its privileges by each migration run (default: the user
    of ROLLOUT_DATABASE_URL)."""
    log_level: str = "INFO"
    temporal_tls: bool = False
    """TLS to the Temporal frontend (a cluster behind TLS, or Temporal Cloud)."""
    temporal_tls_ca: str | None = None
    """PEM file of the CA that signed the server's certificate (default: the system's)."""
    temporal_tls_cert: str | None = None
    temporal_tls_key: str | None = None
    """PEM files of the client certificate and key, for mTLS."""
    temporal_api_key: str | None = None
    """A Temporal Cloud API key (implies TLS). Never logged."""
    workflow_threads: int = Field(default=2, ge=1, le=500)
    """Threads a worker process runs workflow tasks on. Workflow code is CPU-bound Python under
    one GIL: more threads only contend for it (measured: README, "Worker tuning")."""
    max_concurrent_workflow_tasks: int = Field(default=100, ge=1, le=1000)
    max_concurrent_activities: int = Field(default=100, ge=1, le=1000)
    """Per worker process; activities wait mostly on PostgreSQL."""
    max_cached_workflows: int = Field(default=1000, ge=0, le=100_000)
    """Workflows a worker process keeps in memory between their tasks (the SDK's default). One
    pushed out is replayed from its whole history at its next task: keep it above the sites,
    coaching cycles and groups one process serves (README, "Worker tuning")."""
    db_pool_size: int = Field(default=10, ge=1, le=200)
    """PostgreSQL connections per process."""
    smtp_host: str | None = None
    """The mail server notifications are sent through; unset: notifications stay in the
    application (runtime/mail.py)."""
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_user: str | None = None
    smtp_password: str | None = None
    """Login to the mail server (both or neither). The password is never logged."""
    smtp_from: str = "rollouts@localhost"
    """The sender of every notification; its domain also names the Message-IDs."""
    smtp_starttls: bool = False
    """Upgrade the connection with STARTTLS before logging in (port 587 relays)."""

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        value = value.upper()
        if value not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError(f"unknown log level {value!r}")
        return value


    @model_validator(mode="after")
    def _cert_with_key(self) -> "Settings":
        if bool(self.temporal_tls_cert) != bool(self.temporal_tls_key):
            raise ValueError("ROLLOUT_TEMPORAL_TLS_CERT and ROLLOUT_TEMPORAL_TLS_KEY go together "
                             "(mTLS needs both the client certificate and its key)")
        return self

    @model_validator(mode="after")
    def _smtp_login(self) -> "Settings":
        if bool(self.smtp_user) != bool(self.smtp_password):
            raise ValueError("ROLLOUT_SMTP_USER and ROLLOUT_SMTP_PASSWORD go together (the mail "
                             "server's login needs both)")
        return self

    def __repr_args__(self):
        """Printable settings: the API key and the database password hidden."""
        for name, value in super().__repr_args__():
            if name in ("temporal_api_key", "smtp_password") and value:
                value = "***"
            elif name in ("database_url", "migration_database_url") and value:
                value = redact_dsn(value)
            yield name, value


def role_of(dsn: str | None) -> str:
    """The user a PostgreSQL DSN logs in as."""
    user = urlsplit(dsn or "").username
    if not user:
        raise ValueError(f"no user in the database URL {redact_dsn(dsn or '')!r}: name the "
                         "application's role (ROLLOUT_DATABASE_ROLE)")
    return unquote(user)


def redact_dsn(dsn: str) -> str:
    """The DSN without its password, safe to print."""
    return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", dsn)


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Settings from ROLLOUT_* variables; unset or empty variables keep the defaults."""
    environ = os.environ if environ is None else environ
    values = {}
    for name in Settings.model_fields:
        raw = environ.get(ENV_PREFIX + name.upper())
        if raw is not None and raw.strip() != "":
            values[name] = raw.strip()
    return Settings(**values)
