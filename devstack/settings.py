"""Runtime configuration from environment variables (see deploy/env.example)."""

from __future__ import annotations

import os
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, field_validator

ENV_PREFIX = "ROLLOUT_"


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True)

    temporal_address: str = "localhost:7233"
    temporal_namespace: str = "default"
    task_queue: str = "rollouts"
    database_url: str | None = None
    log_level: str = "INFO"

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        value = value.upper()
        if value not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError(f"unknown log level {value!r}")
        return value


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Settings from ROLLOUT_* variables; unset or empty variables keep the defaults."""
    environ = os.environ if environ is None else environ
    values = {}
    for name in Settings.model_fields:
        raw = environ.get(ENV_PREFIX + name.upper())
        if raw is not None and raw.strip() != "":
            values[name] = raw.strip()
    return Settings(**values)
