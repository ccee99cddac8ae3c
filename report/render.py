"""Writing the report: one self-contained HTML file (charts inlined as PNG data URIs, CSS inlined,
no script), and a PDF of it printed by headless Chromium when one is installed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from report.model import Report

TEMPLATES = Path(__file__).parent / "templates"
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
PDF_TIMEOUT = 180


class PdfError(Exception):
    """The PDF could not be printed; the message says why in one sentence."""


@dataclass(frozen=True)
class Written:
    html: Path
    pdf: Path | None


def environment() -> Environment:
    return Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined,
                       autoescape=select_autoescape(["html", "j2"], default=True),
                       trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)


def render_html(report: Report) -> str:
    env = environment()
    css = (TEMPLATES / "report.css").read_text(encoding="utf-8")
    return env.get_template("report.html.j2").render(report=report, css=css)


def file_stem(report: Report) -> str:
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", report.initiative_id).strip("-") or "initiative"
    return f"ssip-report-{safe}-{report.period.label}"


def write_html(report: Report, out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{file_stem(report)}.html"
    path.write_text(render_html(report), encoding="utf-8")
    return path


def find_browser() -> str | None:
    return next((found for name in BROWSERS if (found := shutil.which(name))), None)


def print_pdf(html: Path, browser: str | None = None, timeout: float = PDF_TIMEOUT) -> Path:
    """Print the HTML file to a PDF beside it with headless Chromium (offline: the file holds
    everything it shows)."""
    browser = browser or find_browser()
    if browser is None:
        raise PdfError("No Chromium found to print the PDF (install Debian's chromium, or use "
                       "--no-pdf).")
    pdf = html.with_suffix(".pdf")
    pdf.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="rollout-report-chromium-") as profile:
        argv = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-extensions",
                "--no-first-run", "--disable-dev-shm-usage", f"--user-data-dir={profile}",
                "--no-pdf-header-footer", f"--print-to-pdf={pdf}", html.resolve().as_uri()]
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                                  stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise PdfError(f"Chromium did not print the PDF within {timeout:g} s.") from None
        except OSError as failure:
            raise PdfError(f"Cannot run {browser}: {failure.strerror or failure}.") from None
    if not pdf.exists() or pdf.stat().st_size == 0:
        detail = _last_line(done.stderr) or f"exit code {done.returncode}"
        raise PdfError(f"Chromium printed no PDF ({detail}).")
    return pdf


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:200] if lines else ""
