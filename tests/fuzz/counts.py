"""How many generated cases each fuzzed surface ran in this session, for the terminal summary.

Issue 7 asks for the figure ("fuzz cases run per surface") to be visible in the CI log, so every
fuzz test adds its cases here and tests/fuzz/conftest.py prints the totals at the end of the run.
"""

from __future__ import annotations

from collections import Counter

SURFACES = ("plan files", "plan files via the CLI", "update payloads", "API bodies")
CASES: Counter[str] = Counter()


def count(surface: str, n: int = 1) -> None:
    assert surface in SURFACES, surface
    CASES[surface] += n


def summary_lines() -> list[str]:
    return [f"{surface}: {CASES[surface]} cases" for surface in SURFACES if CASES[surface]]
