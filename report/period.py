"""Which stretch of time an annual report covers, and the moments it samples.

`--year 2026` means the 2026-27 school year. With the plan, that is the plan's school year that
starts in 2026 (its first to its last day; a year past the plan's calendar repeats its last year's
dates, as domain/calendar.py does for deadlines). The event store does not keep the plan's
calendar, so without the plan the report covers 1 July 2026 to 30 June 2027: the SPP/APR reporting
period of federal fiscal year 2026, which holds the whole 2026-27 school year.

School time is recorded in UTC (the workflows' school clock), so every moment here is UTC too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from domain.calendar import SchoolCalendar, SchoolYear

YEAR_RANGE = (2000, 2100)


@dataclass(frozen=True)
class ReportYear:
    year: int
    label: str
    """e.g. '2026-27'"""
    first_day: date
    last_day: date
    source: str
    """Where the dates come from, said in the report."""

    @property
    def start(self) -> datetime:
        """The moment the year opens: midnight before its first day."""
        return midnight(self.first_day)

    @property
    def end(self) -> datetime:
        """The moment the year is over: midnight after its last day (the year-end board)."""
        return midnight(self.last_day + timedelta(days=1))

    def describe(self) -> str:
        return f"{self.label} ({self.first_day:%-d %B %Y} to {self.last_day:%-d %B %Y})"


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=timezone.utc)


def check_year(year: int) -> int:
    low, high = YEAR_RANGE
    if not low <= year <= high:
        raise ValueError(f"year must be from {low} to {high} (the calendar year the school "
                         f"year starts in), not {year}")
    return year


def label_for(year: int) -> str:
    return f"{year}-{(year + 1) % 100:02d}"


def school_year(year: int, calendar: SchoolCalendar | None = None) -> ReportYear:
    """The report's year: the plan's school year starting in `year`, else July to June."""
    check_year(year)
    if calendar is None:
        return ReportYear(year, label_for(year), date(year, 7, 1), date(year + 1, 6, 30),
                          f"the SPP/APR reporting period for FFY {year} (1 July to 30 June); "
                          "pass the plan (--plan) to use its school-year dates")
    defined = next((y for y in calendar.years if y.start.year == year), None)
    if defined is not None:
        return ReportYear(year, defined.name, defined.start, defined.end,
                          f"the plan's calendar (school year '{defined.name}')")
    pattern = calendar.years[0] if year < calendar.years[0].start.year else calendar.years[-1]
    shift = year - pattern.start.year
    return ReportYear(year, label_for(year), _shifted(pattern.start, shift),
                      _shifted(pattern.end, shift),
                      f"the plan's calendar, school year '{pattern.name}' repeated "
                      f"{abs(shift)} year{'s' if abs(shift) != 1 else ''} "
                      f"{'later' if shift > 0 else 'earlier'} (the plan defines "
                      f"{_span(calendar.years)})")


def month_ends(period: ReportYear) -> list[datetime]:
    """The moments the report samples: the year's opening, the close of each month inside it,
    and the year's end (the close of its last day)."""
    moments = [period.start]
    month = date(period.first_day.year, period.first_day.month, 1)
    while True:
        month = (month + timedelta(days=32)).replace(day=1)
        close = midnight(month)
        if close >= period.end:
            break
        moments.append(close)
    moments.append(period.end)
    return moments


def moment_label(moment: datetime) -> str:
    """'31 Aug 2026' for the close of 31 August: the day the moment closes."""
    return f"{moment - timedelta(days=1):%-d %b %Y}"


def _shifted(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return date(day.year + years, 2, 28)


def _span(years: list[SchoolYear]) -> str:
    return years[0].name if len(years) == 1 else f"{years[0].name} to {years[-1].name}"
