"""Fault tests print what they survived, whatever the outcome, where the CI log shows it."""

from __future__ import annotations

from tests.faults import figures


def pytest_terminal_summary(terminalreporter) -> None:
    if not figures.FIGURES:
        return
    terminalreporter.section("faults survived")
    for line in figures.summary_lines():
        terminalreporter.write_line(line)
    terminalreporter.write_line(f"figures written to {figures.write()}")
