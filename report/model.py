"""The report as data: sections of prose, charts and tables, ready for a template.

Every chart carries the table of its numbers, so what the image shows can be read without it
(screen readers, print, copying into the SPP/APR).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import datetime

from report.period import ReportYear
from report.suppression import Suppressed


@dataclass(frozen=True)
class Table:
    id: str
    caption: str
    headers: list[str]
    rows: list[list[str]]
    """Formatted cells; the first cell of each row heads the row."""
    note: str = ""
    total_row: bool = False
    """The last row totals the others (printed in bold)."""
    prose: bool = False
    """Cells of text rather than figures (set left, wrapped)."""


@dataclass(frozen=True)
class Chart:
    id: str
    title: str
    alt: str
    png: bytes
    table: Table
    note: str = ""

    @property
    def data_uri(self) -> str:
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")


@dataclass
class Section:
    id: str
    title: str
    paragraphs: list[str] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    definitions: list[tuple[str, str]] = field(default_factory=list)
    """Terms and what the report says of each (a question and its answer)."""


@dataclass
class Report:
    initiative_id: str
    title: str
    period: ReportYear
    generated_at: datetime
    data_through: datetime | None
    min_cell: int
    facts: list[tuple[str, str]]
    """Initiative facts: name, practice, SSIP phase, SiMR..."""
    highlights: list[tuple[str, str]]
    """Key figures at the year's end."""
    sections: list[Section]
    suppressed: list[Suppressed]
    notes: list[str] = field(default_factory=list)
    """Warnings about the data itself (year not over, plan differs from the launched one)."""

    @property
    def charts(self) -> list[Chart]:
        return [c for s in self.sections for c in s.charts]
