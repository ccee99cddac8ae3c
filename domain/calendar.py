"""The school calendar: which days count for deadlines, PD sessions and reviews.

A school day is a weekday inside a school year that is neither in a break nor a blackout date;
summer (between years) has none. Rollouts run for years, often past the years a plan defines, so
the calendar repeats its last year's pattern annually after it (and its first year's before it):
the same dates shifted by whole years, Feb 29 falling back to Feb 28, weekends recomputed.

The functions are pure and are called from workflows in loops, so each calendar lazily builds a
sorted list of its school days per year and answers by bisection. The cache lives on the model
instance, never in its fields: it is not serialized and does not affect equality.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from datetime import date

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from domain.errors import DomainError
from domain.issues import Issue, raise_if_any
from domain.memo import Memo

_SEARCH_YEARS = 200  # a calendar whose pattern yields no school day for this long is broken


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Break(_Model):
    name: str = Field(min_length=1)
    start: date
    end: date = Field(description="last day of the break, inclusive")

    @model_validator(mode="after")
    def _ordered(self) -> Break:
        if self.end < self.start:
            raise_if_any([Issue(("end",), self.end, f"break '{self.name}' ends on {self.end} "
                                f"before it starts on {self.start}")])
        return self

    def span(self) -> str:
        return f"{self.start}..{self.end}"


class SchoolYear(_Model):
    name: str = Field(min_length=1)
    start: date = Field(description="first day of the school year")
    end: date = Field(description="last day of the school year, inclusive")
    breaks: list[Break] = Field(default_factory=list)
    blackout_dates: list[date] = Field(default_factory=list, description="no PD, no deadlines")

    @model_validator(mode="after")
    def _consistent(self) -> SchoolYear:
        label = f"school year '{self.name}' ({self.start}..{self.end})"
        if self.end <= self.start:
            raise_if_any([Issue(("end",), self.end, f"school year '{self.name}' ends on "
                                f"{self.end}, not after it starts on {self.start}")])
        if _shift(self.start, 1) <= self.end:
            raise_if_any([Issue(("end",), self.end,
                                f"{label} lasts a year or more; a school year is shorter")])
        issues = [Issue(("breaks", i), b.span(), f"break '{b.name}' ({b.span()}) is outside {label}")
                  for i, b in enumerate(self.breaks) if b.start < self.start or b.end > self.end]
        ordered = sorted(enumerate(self.breaks), key=lambda ib: (ib[1].start, ib[1].end))
        for (_, earlier), (i, later) in zip(ordered, ordered[1:]):
            if later.start <= earlier.end:
                issues.append(Issue(("breaks", i), later.span(),
                                    f"break '{later.name}' ({later.span()}) overlaps break "
                                    f"'{earlier.name}' ({earlier.span()})"))
        issues += [Issue(("blackout_dates", i), d, f"blackout date {d} is outside {label}")
                   for i, d in enumerate(self.blackout_dates) if not self.start <= d <= self.end]
        raise_if_any(issues)
        if not _Year.of(self, 0).days:
            raise_if_any([Issue((), self.name, f"{label} has no school days")])
        return self


class SchoolCalendar(_Model):
    years: list[SchoolYear] = Field(min_length=1)
    _memo: Memo = PrivateAttr(default_factory=Memo)

    @model_validator(mode="after")
    def _in_order(self) -> SchoolCalendar:
        raise_if_any([
            Issue(("years", i, "start"), later.start,
                  f"school year '{later.name}' starts on {later.start}, before school year "
                  f"'{earlier.name}' ends on {earlier.end}; years must be in order, not overlapping")
            for i, (earlier, later) in enumerate(zip(self.years, self.years[1:]), start=1)
            if later.start <= earlier.end])
        return self

    def span(self) -> tuple[date, date]:
        return self.years[0].start, self.years[-1].end


def is_school_day(cal: SchoolCalendar, d: date) -> bool:
    index = _index(cal)
    return d.toordinal() in index.year(index.locate(d)).day_set


def next_school_day(cal: SchoolCalendar, d: date) -> date:
    """`d` itself when it is a school day, else the first school day after it."""
    return add_school_days(cal, d, 0)


def add_school_days(cal: SchoolCalendar, d: date, n: int) -> date:
    """The n-th school day after `d` (n > 0), before it (n < 0), or `next_school_day` (n == 0).

    Consistent with `school_days_between`: for n >= 1, school_days_between(d, result) == n.
    """
    index = _index(cal)
    j = index.locate(d)
    year, day = index.year(j), d.toordinal()
    if n >= 0:
        position = (bisect_left if n == 0 else bisect_right)(year.days, day)
        remaining = max(n, 1)
        for _ in range(_SEARCH_YEARS):
            if remaining <= len(year.days) - position:
                return date.fromordinal(year.days[position + remaining - 1])
            remaining -= len(year.days) - position
            j, position = j + 1, 0
            year = index.year(j)
    else:
        position, remaining = bisect_left(year.days, day), -n
        for _ in range(_SEARCH_YEARS):
            if remaining <= position:
                return date.fromordinal(year.days[position - remaining])
            remaining -= position
            j -= 1
            year = index.year(j)
            position = len(year.days)
    raise DomainError(f"The school calendar has no school day within {_SEARCH_YEARS} years of {d}.",
                      field="calendar", value=str(d))


def school_days_between(cal: SchoolCalendar, a: date, b: date) -> int:
    """School days after `a` up to and including `b` (negative when `b` is before `a`)."""
    if b < a:
        return -school_days_between(cal, b, a)
    index = _index(cal)
    ja, jb = index.locate(a), index.locate(b)
    count = sum(len(index.year(j).days) for j in range(ja, jb))
    return (count - bisect_right(index.year(ja).days, a.toordinal())
            + bisect_right(index.year(jb).days, b.toordinal()))


def _shift(d: date, years: int) -> date:
    """The same month and day `years` later (or earlier); Feb 29 becomes Feb 28."""
    try:
        return d.replace(year=d.year + years)
    except ValueError:
        return date(d.year + years, 2, 28)


class _Year:
    """One school year's school days, as sorted ordinals and as a set."""

    def __init__(self, start: date, end: date, days: list[int]) -> None:
        self.start, self.end, self.days, self.day_set = start, end, days, frozenset(days)

    @classmethod
    def of(cls, pattern: SchoolYear, shift: int) -> _Year:
        start, end = _shift(pattern.start, shift), _shift(pattern.end, shift)
        closed = {_shift(d, shift).toordinal() for d in pattern.blackout_dates}
        for b in pattern.breaks:
            closed.update(range(_shift(b.start, shift).toordinal(),
                                _shift(b.end, shift).toordinal() + 1))
        days = [o for o in range(start.toordinal(), end.toordinal() + 1)
                if (o - 1) % 7 < 5 and o not in closed]  # ordinal 1 (0001-01-01) was a Monday
        return cls(start, end, days)


class _Index:
    """Years numbered from the first defined one (0); beyond the defined years, projections."""

    def __init__(self, years: list[SchoolYear]) -> None:
        self.patterns = years
        self.starts = [y.start for y in years]
        self.ends = [y.end for y in years]
        self.years: dict[int, _Year] = {}

    def year(self, j: int) -> _Year:
        if j not in self.years:
            last = len(self.patterns) - 1
            if j < 0:
                self.years[j] = _Year.of(self.patterns[0], j)
            elif j > last:
                self.years[j] = _Year.of(self.patterns[last], j - last)
            else:
                self.years[j] = _Year.of(self.patterns[j], 0)
        return self.years[j]

    def locate(self, d: date) -> int:
        """The year containing `d`, or the next one when `d` falls in a summer."""
        if d < self.starts[0]:
            return self._projected(d, 0, self.patterns[0])
        if d > self.ends[-1]:
            return self._projected(d, len(self.patterns) - 1, self.patterns[-1])
        j = bisect_right(self.starts, d) - 1
        return j if d <= self.ends[j] else j + 1

    @staticmethod
    def _projected(d: date, base: int, pattern: SchoolYear) -> int:
        k = d.year - pattern.start.year
        if _shift(pattern.start, k) > d:
            k -= 1
        return base + k if d <= _shift(pattern.end, k) else base + k + 1


def _index(cal: SchoolCalendar) -> _Index:
    if not cal._memo.holds(cal.years):
        cal._memo = Memo((cal.years,), _Index(cal.years))
    return cal._memo.value

