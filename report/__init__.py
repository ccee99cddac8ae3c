"""The annual SSIP progress report (Phase III) of one initiative, read from the event store.

`build_report` reads and shapes it (stage progression, the year-end board per cohort and region,
capacity by driver and region, fidelity by region, coaching and PD delivered, review action
items), `render` writes it as one self-contained HTML file and, where Chromium is installed, a
PDF. Counts of people are suppressed below the minimum cell size, and the report says which.
"""

from report.build import STEPS, ReportError, ReportRequest, build_report
from report.render import PdfError, Written, find_browser, print_pdf, write_html

__all__ = ["STEPS", "PdfError", "ReportError", "ReportRequest", "Written", "build_report",
           "find_browser", "print_pdf", "write_html"]
