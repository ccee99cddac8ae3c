"""A plan checked as a whole: the rules between fields that each look valid on their own.

Each rule finds a plan that would validate field by field and then not behave as its author
meant; its problem is reported at the field the plan sets (where both are set: the one that
decides), and its message names the other field it disagrees with.

- Percentages are written from 0 to 100 (the unit every `*_percent` field and a share gate's
  `percent` document). A value strictly between 0 and 1 is refused: it is a fraction written
  where a percentage is meant (0.6 for 60%), and read as 0.6% it would let nearly every site
  through. No plan needs a threshold under 1%; 0 stays allowed (no threshold, or no regression).
- The regression line (`regression.fidelity_collapse_percent`) lies below the fidelity mark it
  guards (`full_implementation.fidelity_min_percent`): at or above it, a site meeting the mark
  would still be sent back a stage.
- The school years follow one another without a gap: the summer between two of them is at most
  MAX_SUMMER_DAYS. A longer one means a school year is missing (the rollout would see a year with
  no school days, and every deadline in it slips a year) or a date is mistyped. (Years in order
  and not overlapping, and each break and blackout date inside its year: domain/calendar.py.)
- A cohort's date gate falls inside the plan's school years, where the calendar is defined.
- Every stage's exit can be met with what the plan provides (domain/criteria.py): an
  Installation exit requiring PD sessions scheduled needs PD sessions for Installation (the
  trainers to run them are required by the plan's schema). The other exits ask for assessments
  every site is given tasks for, and for thresholds the instruments can reach.
"""

from __future__ import annotations

from datetime import date

from domain.calendar import SchoolCalendar
from domain.criteria import ExitCriteria
from domain.issues import Issue
from domain.stages import Stage

MAX_SUMMER_DAYS = 120
"""Days between one school year's last day and the next one's first: summers run two to three
months; four months and more means a missing year or a mistyped date."""

PERCENT_FIELDS: tuple[tuple[str, str], ...] = (
    ("installation", "checklist_min_percent"),
    ("initial_implementation", "capacity_min_percent"),
    ("initial_implementation", "capacity_min_percent_per_driver"),
    ("full_implementation", "fidelity_min_percent"),
    ("regression", "fidelity_collapse_percent"),
)
"""The exit criteria's percentages (each documented as 0-100)."""


def cross_field_issues(criteria: ExitCriteria, cohorts: list, pd,
                       calendar: SchoolCalendar) -> list[Issue]:
    fractions = _fraction_issues(criteria, cohorts)
    fractional = {issue.path[-1] for issue in fractions}
    thresholds = [] if fractional & {"fidelity_collapse_percent", "fidelity_min_percent"} \
        else _threshold_issues(criteria)  # a fraction is the problem; the comparison follows
    return (fractions + thresholds + _gap_issues(calendar) + _gate_date_issues(cohorts, calendar)
            + _reachability_issues(criteria, pd))


def _fraction_issues(criteria: ExitCriteria, cohorts: list) -> list[Issue]:
    found = [(("exit_criteria", stage, name), getattr(getattr(criteria, stage), name))
             for stage, name in PERCENT_FIELDS]
    found += [(("cohorts", i, "gate", "percent"), c.gate.percent)
              for i, c in enumerate(cohorts) if c.gate.kind == "share"]
    return [Issue(path, value, f"{value:g} is read as {value:g}%: percentages are written from 0 "
                               f"to 100, so a fraction such as {value:g} means {100 * value:g}% "
                               f"(write {100 * value:g}); a threshold under 1% is taken for a fraction")
            for path, value in found if value is not None and 0 < value < 1]


def _threshold_issues(criteria: ExitCriteria) -> list[Issue]:
    collapse = criteria.regression.fidelity_collapse_percent
    mark = criteria.full_implementation.fidelity_min_percent
    if not 0 < collapse or collapse < mark:
        return []  # 0: no regression at all
    collapse_path = ("exit_criteria", "regression", "fidelity_collapse_percent")
    mark_path = ("exit_criteria", "full_implementation", "fidelity_min_percent")
    at_collapse = "fidelity_collapse_percent" in criteria.regression.model_fields_set \
        or "fidelity_min_percent" not in criteria.full_implementation.model_fields_set
    path, value = (collapse_path, collapse) if at_collapse else (mark_path, mark)
    return [Issue(path, value, (
        f"the regression line (exit_criteria.regression.fidelity_collapse_percent = {collapse:g}) "
        f"is at or above the fidelity mark it guards (exit_criteria.full_implementation."
        f"fidelity_min_percent = {mark:g}): a site meeting the mark would still be sent back a "
        "stage; set the regression line below the mark"))]


def _gap_issues(calendar: SchoolCalendar) -> list[Issue]:
    issues = []
    for i, (earlier, later) in enumerate(zip(calendar.years, calendar.years[1:]), start=1):
        summer = (later.start - earlier.end).days - 1
        if summer > MAX_SUMMER_DAYS:
            issues.append(Issue(("calendar", "years", i, "start"), later.start, (
                f"school year '{later.name}' starts on {later.start}, {summer} days after school "
                f"year '{earlier.name}' ends (calendar.years[{i - 1}].end = {earlier.end}); a "
                f"summer is at most {MAX_SUMMER_DAYS} days: list every school year the rollout "
                "runs through, with no year missing between them")))
    return issues


def _gate_date_issues(cohorts: list, calendar: SchoolCalendar) -> list[Issue]:
    first, last = calendar.span()
    issues = []
    for i, cohort in enumerate(cohorts):
        on: date | None = getattr(cohort.gate, "on", None)
        if on is None or first <= on <= last:
            continue
        side, bound = ("before", f"calendar.years[0].start = {first}") if on < first else \
            ("after", f"calendar.years[{len(calendar.years) - 1}].end = {last}")
        issues.append(Issue(("cohorts", i, "gate", "on"), on, (
            f"cohort '{cohort.id}' opens on {on}, {side} the plan's school years ({bound}); a "
            "gate date falls within the school years the calendar lists (extend the calendar, "
            "or move the date)")))
    return issues


def _reachability_issues(criteria: ExitCriteria, pd) -> list[Issue]:
    if criteria.installation.require_pd_scheduled and not pd.sessions.get(Stage.INSTALLATION):
        return [Issue(("pd", "sessions", Stage.INSTALLATION.value), "(none)", (
            "the Installation exit requires PD sessions scheduled (exit_criteria.installation."
            "require_pd_scheduled = true), but the plan has no PD sessions for Installation "
            "to schedule, so no site could leave Installation: add sessions under pd.sessions."
            "Installation, or set require_pd_scheduled: false"))]
    return []
