"""The report's year and its small-cell rules, without a database."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from domain.plan_yaml import parse_plan
from report.period import month_ends, moment_label, school_year
from report.suppression import Suppressor
from tests.report.histories import ROOT

CALENDAR = parse_plan((ROOT / "examples" / "small.yaml").read_text()).calendar


def test_a_year_is_the_plans_school_year_starting_then():
    year = school_year(2026, CALENDAR)
    assert (year.label, year.first_day, year.last_day) == ("2026-27", date(2026, 8, 17),
                                                           date(2027, 6, 4))
    assert year.end == datetime(2027, 6, 5, tzinfo=timezone.utc), "midnight closing the last day"


def test_past_the_plans_calendar_its_last_year_repeats():
    year = school_year(2031, CALENDAR)
    assert (year.label, year.first_day, year.last_day) == ("2031-32", date(2031, 8, 13),
                                                           date(2032, 5, 31))
    assert "repeated 2 years later" in year.source


def test_without_the_plan_a_year_runs_july_to_june():
    year = school_year(2026)
    assert (year.first_day, year.last_day) == (date(2026, 7, 1), date(2027, 6, 30))
    assert "FFY 2026" in year.source


def test_the_moments_are_the_start_each_months_close_and_the_end():
    moments = month_ends(school_year(2026, CALENDAR))
    assert moments[0] == datetime(2026, 8, 17, tzinfo=timezone.utc)
    assert moments[1] == datetime(2026, 9, 1, tzinfo=timezone.utc)
    assert moments[-2] == datetime(2027, 6, 1, tzinfo=timezone.utc)
    assert [moment_label(m) for m in moments[1:3]] == ["31 Aug 2026", "30 Sep 2026"]
    assert moment_label(moments[-1]) == "4 Jun 2027"


def test_a_year_out_of_range_is_refused():
    with pytest.raises(ValueError, match="year must be from 2000 to 2100"):
        school_year(1999)


def test_a_lone_small_cell_takes_a_complementary_one_with_it():
    privacy = Suppressor(10)
    hidden = privacy.row("PD", "attendees", {"North": 115, "South": 9, "East": 30})
    assert hidden == {"South", "East"}, "East is the smallest other cell"
    assert [s.why.startswith("complementary") for s in privacy.log] == [False, True]


def test_two_small_cells_need_no_complement_and_zero_is_not_small():
    privacy = Suppressor(10)
    assert privacy.row("PD", "attendees", {"A": 3, "B": 4, "C": 50, "D": 0}) == {"A", "B"}
    assert privacy.row("PD", "attendees", {"A": 3, "C": 50}, total_shown=False) == {"A"}
    assert privacy.row("PD", "attendees", {"A": 0, "C": 50}) == set()


def test_a_part_is_hidden_with_its_whole_when_the_rest_is_small():
    privacy = Suppressor(10)
    pairs = {"North": (25, 30), "South": (12, 40), "East": (20, 60)}
    assert privacy.parts("Fidelity", "practitioners", pairs) == {"North", "South"}, \
        "5 not meeting in North; South, the smallest other whole, hides with it"
    assert privacy.parts("Fidelity", "practitioners", {"North": (10, 20)}) == set()
    with pytest.raises(ValueError, match="min_cell must be from 5 to 30"):
        Suppressor(4)
