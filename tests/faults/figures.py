"""The figures each fault test proves, gathered for the end of the run: printed in the terminal
summary (so they show in the CI log) and written to test-artifacts/faults.json."""

from __future__ import annotations

import json
from pathlib import Path

ARTIFACT = Path(__file__).resolve().parents[2] / "test-artifacts" / "faults.json"
FIGURES: dict[str, dict] = {}


def record(area: str, **figures) -> None:
    FIGURES[area] = figures


def summary_lines() -> list[str]:
    return [f"{area}: " + ", ".join(f"{k}={v}" for k, v in figures.items())
            for area, figures in FIGURES.items()]


def write() -> Path:
    ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
    ARTIFACT.write_text(json.dumps(FIGURES, indent=1, default=str))
    return ARTIFACT
