"""How many generated cases each fuzzed surface runs, and how many it ran, for the terminal summary.

CI runs a share of the cases (`CI_CASES`, a few minutes in all); `ROLLOUT_FUZZ_CASES=N` runs N
cases on each of the three surfaces, plan files, Update payloads and API bodies, as the README's
fuzz command does (`ROLLOUT_FUZZ_CASES=10000 bash scripts/fuzz`). A surface fuzzed by more than
one test splits its cases among them (`SHARES`); the plan files fed to the CLI are a thirtieth of
those parsed, each being a `rollout plan validate` and, when refused, a `rollout start` too.

Issue 7 asks for the figure ("fuzz cases run per surface") to be visible in the CI log, so every
fuzz test adds the cases it ran here and tests/fuzz/conftest.py prints the totals at the end.
"""

from __future__ import annotations

import os
from collections import Counter

SURFACES = ("plan files", "plan files via the CLI", "update payloads", "API bodies")
CI_CASES = {"plan files": 1_500, "plan files via the CLI": 50, "update payloads": 1_000,
            "API bodies": 1_500}
SHARES = {"site updates": ("update payloads", 0.7), "initiative updates": ("update payloads", 0.3)}
"""A test's share of its surface's cases."""
CASES: Counter[str] = Counter()


def planned(surface: str) -> int:
    """The cases a surface (or a test's share of one, named in SHARES) is to run."""
    surface, share = SHARES.get(surface, (surface, 1.0))
    assert surface in SURFACES, surface
    asked = os.environ.get("ROLLOUT_FUZZ_CASES", "").strip()
    if not asked:
        return round(CI_CASES[surface] * share)
    cases = int(asked)
    if surface == "plan files via the CLI":
        cases = max(CI_CASES[surface], cases // 30)
    return max(1, round(cases * share))


def count(surface: str, n: int = 1) -> None:
    assert surface in SURFACES, surface
    CASES[surface] += n


def summary_lines() -> list[str]:
    return [f"{surface}: {CASES[surface]} cases" for surface in SURFACES if CASES[surface]]
