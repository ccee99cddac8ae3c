"""Turning dated rows into series: each site's latest score as of a moment, counts per month.

Pure functions over the rows `store.report_queries` returns, so the report's arithmetic is tested
without a database and reads the same wherever it is used.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from statistics import fmean
from typing import Callable, Iterable

from store.report_queries import Score


def latest_as_of(scores: Iterable[Score], moment: datetime,
                 key: Callable[[Score], tuple] = lambda s: (s.stream_id, s.key),
                 ) -> dict[tuple, Score]:
    """Each (site, driver)'s newest score recorded before `moment` (scores come oldest first)."""
    latest: dict[tuple, Score] = {}
    for s in scores:
        if s.occurred_at >= moment:
            break
        latest[key(s)] = s
    return latest


def mean_or_none(values: list[float]) -> float | None:
    return round(fmean(values), 1) if values else None


@dataclass(frozen=True)
class Pooled:
    """Practitioners assessed and meeting fidelity, summed over sites' latest assessments."""

    sites: int
    assessed: int
    meeting: int

    @property
    def percent(self) -> float | None:
        return round(100 * self.meeting / self.assessed, 1) if self.assessed else None


def pooled_fidelity(latest: Iterable[Score], group: Callable[[Score], str]) -> dict[str, Pooled]:
    sums: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for s in latest:
        row = sums[group(s)]
        row[0] += 1
        row[1] += s.assessed
        row[2] += s.meeting
    return {k: Pooled(*v) for k, v in sums.items()}


def months_of(first_day: date, last_day: date) -> list[date]:
    """The first day of every month the period touches."""
    months, month = [], date(first_day.year, first_day.month, 1)
    while month <= last_day:
        months.append(month)
        month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return months


def month_of(moment: datetime) -> date:
    return date(moment.year, moment.month, 1)


def percent_text(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}%"


def coinciding(series: dict[str, list[float | None]]) -> str:
    """A note naming series drawn exactly on top of one another (else ''): a reader who sees
    fewer lines than the legend lists should know why."""
    groups: dict[tuple, list[str]] = defaultdict(list)
    for name, values in series.items():
        if any(v is not None for v in values):
            groups[tuple(values)].append(name)
    same = [names for names in groups.values() if len(names) > 1]
    if not same:
        return ""
    return ("Lines with identical figures are drawn on top of one another: "
            + "; ".join(", ".join(names) for names in same) + ".")
