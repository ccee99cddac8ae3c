"""Reading a written report back the way a checker would: parse the HTML with the standard
library's parser, insist every element is closed in order, and collect the figures (with their
images and tables) and every table's cells by id."""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass, field
from html.parser import HTMLParser

import matplotlib.image

VOID = {"meta", "img", "br", "hr", "link", "input", "col", "area", "base", "source", "wbr"}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
DATA_URI = "data:image/png;base64,"


@dataclass
class TableRead:
    id: str
    headers: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)

    def by_row(self) -> dict[str, dict[str, str]]:
        """row header -> column header -> cell text."""
        return {row[0]: dict(zip(self.headers[1:], row[1:])) for row in self.rows}


@dataclass
class FigureRead:
    id: str
    classes: str
    images: list[dict[str, str]] = field(default_factory=list)
    tables: list[str] = field(default_factory=list)


class ReportReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.figures: list[FigureRead] = []
        self.tables: dict[str, TableRead] = {}
        self.images: list[dict[str, str]] = []
        self.text: list[str] = []
        self._figure: FigureRead | None = None
        self._table: TableRead | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._in_head = False

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if tag not in VOID:
            self.stack.append(tag)
        if tag == "figure":
            self._figure = FigureRead(a.get("id", ""), a.get("class", ""))
            self.figures.append(self._figure)
        elif tag == "img":
            self.images.append(a)
            if self._figure is not None:
                self._figure.images.append(a)
        elif tag == "table":
            self._table = TableRead(a.get("id", ""))
            if a.get("id"):
                self.tables[a["id"]] = self._table
            if self._figure is not None:
                self._figure.tables.append(a.get("id", ""))
        elif tag == "thead":
            self._in_head = True
        elif tag == "tr" and self._table is not None:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes <{self.stack[-1] if self.stack else 'nothing'}>")
            if tag in self.stack:
                while self.stack.pop() != tag:
                    pass
            return
        self.stack.pop()
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None and self._table is not None:
            (self._table.headers.extend(self._row) if self._in_head
             else self._table.rows.append(self._row))
            self._row = None
        elif tag == "thead":
            self._in_head = False
        elif tag == "table":
            self._table = None
        elif tag == "figure":
            self._figure = None

    def handle_data(self, data):
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)


def read_report(html: str) -> ReportReader:
    reader = ReportReader()
    reader.feed(html)
    reader.close()
    if reader.stack:
        reader.problems.append(f"never closed: {reader.stack}")
    return reader


def decode_png(src: str) -> tuple[bytes, tuple[int, ...], float]:
    """The PNG bytes behind a data URI, the image's array shape, and its pixels' spread (a
    blank image has none)."""
    assert src.startswith(DATA_URI), src[:40]
    png = base64.b64decode(src[len(DATA_URI):], validate=True)
    pixels = matplotlib.image.imread(io.BytesIO(png), format="png")
    return png, pixels.shape, float(pixels.std())
