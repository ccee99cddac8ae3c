"""The SSIP's own sections of the Phase III report: SiMR progress by FFY, the fidelity of the
practices, infrastructure improvements, stakeholder engagement, changes to the plan, the state
team's reflection, and the plan of Phases I and II they rest on.

They read the SSIP's record (domain/ssip.py, folded from its stream) for the report's FFY: the
school year the report covers is the FFY of the same number (FFY 2026 is 2026-27). The year's
figures are entered after it ends (the report is due the February after next), so they are keyed
by FFY rather than bounded by the year's last day: a figure corrected later shows corrected, and
the corrections are listed as changes to the plan with their reasons.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain import ssip
from domain.ssip_records import (
    QUESTIONS, EvaluationPlan, ImplementationPlan, InfrastructureActivities, SimrDefinition,
    TheoryOfAction,
)
from report import charts
from report.model import Chart, Section, Table
from report.suppression import HIDDEN, Suppressor

STAKEHOLDERS = "Stakeholder engagement"
NO_FIGURE = "-"


@dataclass(frozen=True)
class Simr:
    """The SiMR's figures for the report's FFY (None where nothing is recorded)."""

    ffy: int
    baseline: float | None
    target: float | None
    actual: float | None

    def headline(self) -> str | None:
        if self.actual is None and self.target is None:
            return None
        actual = f"{self.actual:.1f}%" if self.actual is not None else "not yet reported"
        parts = [f"target {self.target:.1f}%"] if self.target is not None else []
        if self.baseline is not None:
            parts.append(f"baseline {self.baseline:.1f}%")
        return f"{actual} ({'; '.join(parts)})" if parts else actual


def simr_figures(state: ssip.SsipState, ffy: int) -> Simr:
    actual = state.actuals.get(ffy)
    return Simr(ffy, state.simr.baseline if state.simr else None, state.targets.get(ffy),
                actual.percent if actual else None)


def simr_section(state: ssip.SsipState, statement: str, ffy: int) -> Section:
    simr = state.simr
    out = Section("simr", f"SiMR progress, FFY {ffy}", paragraphs=[
        f"State-identified Measurable Result (SiMR): {simr.statement if simr else statement}"])
    if simr is None:
        out.notes.append("No SiMR baseline or targets are recorded yet, so progress cannot be "
                         "charted: record them with `rollout ssip simr` and `rollout ssip target` "
                         "(or the Phase I document, `rollout ssip record`).")
        return out
    out.paragraphs.append(
        f"Measure: {simr.measure} Baseline: {simr.baseline:.1f}% in FFY {simr.baseline_ffy}"
        + (f" ({simr.data_source})." if simr.data_source else ".")
        + f" Progress means the figure {'rises' if simr.direction == 'increase' else 'falls'}.")
    years = _years(state, simr, ffy)
    actuals = {y: a.percent for y, a in state.actuals.items() if y <= ffy}
    table = Table(
        "simr-by-ffy", "SiMR by federal fiscal year (FFY)",
        ["FFY", "School year", "Target", "Actual", "Against the target", "Change from the baseline",
         "Data source"],
        [[f"FFY {simr.baseline_ffy} (baseline)", ssip.ffy_label(simr.baseline_ffy), NO_FIGURE,
          f"{simr.baseline:.1f}%", NO_FIGURE, NO_FIGURE, simr.data_source or NO_FIGURE]]
        + [_row(state, simr, year, actuals.get(year), ffy) for year in years],
        note=f"Actuals after FFY {ffy} belong to later reports and are not shown.")
    png = charts.simr_progress(
        [f"FFY {y}" for y in [simr.baseline_ffy, *years]], simr.baseline,
        [state.targets.get(y) for y in [simr.baseline_ffy, *years]],
        [simr.baseline, *(actuals.get(y) for y in years)],
        f"SiMR by FFY: baseline, targets and actuals", simr.direction)
    out.charts.append(Chart("chart-simr", "SiMR progress by FFY", _alt(state, simr, years,
                                                                      actuals, ffy), png, table))
    return out


def _years(state: ssip.SsipState, simr: SimrDefinition, ffy: int) -> list[int]:
    last = max([ffy, *state.targets, *(y for y in state.actuals if y <= ffy)])
    return list(range(simr.baseline_ffy + 1, last + 1))


def _row(state: ssip.SsipState, simr: SimrDefinition, year: int, actual: float | None,
         ffy: int) -> list[str]:
    target = state.targets.get(year)
    recorded = state.actuals.get(year) if year <= ffy else None
    return [f"FFY {year}", ssip.ffy_label(year),
            f"{target:.1f}%" if target is not None else NO_FIGURE,
            f"{actual:.1f}%" if actual is not None else
            ("not yet reported" if year <= ffy else NO_FIGURE),
            _against(actual, target, simr.direction),
            f"{actual - simr.baseline:+.1f} points" if actual is not None else NO_FIGURE,
            (recorded.data_source or NO_FIGURE) if recorded else NO_FIGURE]


def _against(actual: float | None, target: float | None, direction: str) -> str:
    if actual is None or target is None:
        return NO_FIGURE
    gap = round(actual - target, 1) if direction == "increase" else round(target - actual, 1)
    if gap >= 0:
        return "met" if gap == 0 else f"met ({abs(gap):.1f} points beyond)"
    return f"not met ({abs(gap):.1f} points short)"


def _alt(state, simr: SimrDefinition, years: list[int], actuals: dict[int, float],
         ffy: int) -> str:
    targets = "; ".join(f"{state.targets[y]:.1f}% for FFY {y}" for y in years if y in state.targets)
    shown = "; ".join(f"{actuals[y]:.1f}% in FFY {y}" for y in years if y in actuals)
    text = (f"Line chart of the SiMR by federal fiscal year: baseline {simr.baseline:.1f}% in FFY "
            f"{simr.baseline_ffy}; targets {targets or 'none recorded'}; actuals "
            f"{shown or 'none recorded yet'}.")
    if ffy in actuals and ffy in state.targets:
        text += (f" FFY {ffy}: {actuals[ffy]:.1f}% against a target of {state.targets[ffy]:.1f}% "
                 f"({_against(actuals[ffy], state.targets[ffy], simr.direction)}), "
                 f"{actuals[ffy] - simr.baseline:+.1f} points from the baseline.")
    return text


def fidelity_section(statewide: str | None, sites_at_mark: list[str] | None) -> Section:
    """The fidelity of the practices, as the evaluation plan reads it: the year-end figures of the
    fidelity section below, in two sentences."""
    out = Section("practice-fidelity", "Fidelity of the practices")
    if statewide is None and sites_at_mark is None:
        out.notes.append("No fidelity assessment was recorded by the year's end.")
        return out
    if statewide:
        out.paragraphs.append(f"Practitioners meeting the practice's fidelity criterion at the "
                              f"year's end (each site's latest assessment, pooled statewide): "
                              f"{statewide}.")
    if sites_at_mark:
        _, assessed, met = sites_at_mark[:3]
        out.paragraphs.append(f"Sites whose latest fidelity assessment reached the plan's mark: "
                              f"{met} of {assessed} assessed.")
    out.paragraphs.append("By region and month: see 'Fidelity by region' below.")
    return out


def infrastructure_section(state: ssip.SsipState, ffy: int) -> Section:
    out = Section("infrastructure", "Infrastructure improvements", paragraphs=[
        "The infrastructure activities of the SSIP's Phase II plan, with what was done in "
        f"FFY {ffy} ({ssip.ffy_first_day(ffy):%-d %B %Y} to {ssip.ffy_last_day(ffy):%-d %B %Y}) "
        "and what is still under way."])
    part = state.parts.get("infrastructure_activities")
    if not isinstance(part, InfrastructureActivities):
        out.notes.append("No infrastructure activities are recorded (Phase II: `rollout ssip "
                         "record` with the Phase II document).")
        return out
    strategies = state.strategies()
    end = ssip.ffy_last_day(ffy)
    rows, done_in_year = [], 0
    for a in sorted(part.activities, key=lambda a: (a.due, a.id)):
        done = state.done.get(a.id)
        if done and ssip.ffy_of(done.completed_on) == ffy:
            done_in_year += 1
        status = (f"completed {done.completed_on:%-d %b %Y}" + (f" ({done.note})" if done.note
                                                                 else "")
                  if done and done.completed_on <= end else
                  "overdue" if a.due <= end else "under way")
        rows.append([a.title, strategies.get(a.strategy, a.strategy or NO_FIGURE),
                     a.component.value if a.component else NO_FIGURE, a.owner,
                     f"{a.start:%-d %b %Y}", f"{a.due:%-d %b %Y}", status])
    out.tables.append(Table("infrastructure-activities",
                            f"Infrastructure activities and their status at the end of FFY {ffy}",
                            ["Activity", "Strategy", "Component", "Owner", "Start", "Due",
                             "Status"], rows, prose=True))
    out.paragraphs.append(f"Completed in FFY {ffy}: {done_in_year} of {len(rows)} activities.")
    return out


def stakeholder_section(state: ssip.SsipState, ffy: int, privacy: Suppressor) -> Section:
    out = Section("stakeholders", STAKEHOLDERS, paragraphs=[
        f"Meetings with stakeholders in FFY {ffy} and the people taking part, by group: counts "
        "only, never names. Participants are counts of people: small counts are suppressed, with "
        "a second one beside a lone suppressed count, as everywhere in this report."])
    groups = state.stakeholders.get(ffy)
    if groups is None:
        out.notes.append(f"No stakeholder engagement is recorded for FFY {ffy} (`rollout ssip "
                         "record` with the year's Phase III document).")
        return out
    hidden = privacy.row(STAKEHOLDERS, "stakeholder participants",
                         {g.group: g.participants for g in groups})
    rows = [[g.group, str(g.meetings), HIDDEN if g.group in hidden else str(g.participants)]
            for g in groups]
    rows.append(["All groups", str(sum(g.meetings for g in groups)),
                 privacy.total(STAKEHOLDERS, "All groups", "stakeholder participants",
                               sum(g.participants for g in groups))])
    out.tables.append(Table("stakeholders-by-group",
                            f"Stakeholder meetings and participants by group, FFY {ffy}",
                            ["Group", "Meetings", "Participants"], rows, total_row=True,
                            note="A meeting several groups attended counts once for each."))
    return out


def changes_section(state: ssip.SsipState, ffy: int) -> Section:
    out = Section("plan-changes", "Changes to the plan", paragraphs=[
        f"Changes to the SSIP made for FFY {ffy}, each with its reason: those the state team "
        "wrote down for the year, and every revision of something recorded before (the SiMR, "
        "a target, a part of the plan, a year's figures)."])
    changes = [c for c in state.changes if c.ffy == ffy]
    if not changes:
        out.notes.append(f"No change to the plan is recorded for FFY {ffy}.")
        return out
    out.tables.append(Table("plan-changes-table", f"Changes to the plan, FFY {ffy}",
                            ["Recorded", "Change", "Reason", "By"],
                            [[f"{c.at:%-d %b %Y}", c.what, c.reason, c.by] for c in changes],
                            prose=True))
    return out


def reflection_section(state: ssip.SsipState, ffy: int) -> Section:
    answers = state.reflections.get(ffy, {})
    out = Section("reflection", "The state team's reflection", paragraphs=[
        f"The state implementation team's answers to the five discussion questions of its "
        f"yearly reflection on FFY {ffy}."])
    out.definitions = [(question, answers.get(key, "Not answered yet."))
                       for key, question in QUESTIONS.items()]
    missing = [key.value.replace("_", " ") for key in QUESTIONS if key not in answers]
    if missing:
        out.notes.append(f"{len(missing)} of 5 questions not answered: {', '.join(missing)}.")
    return out


def plan_section(state: ssip.SsipState, plan_phase: str) -> Section:
    out = Section("ssip-plan", "The SSIP plan (Phases I and II)", paragraphs=[
        f"The plan this report measures progress against. The initiative's plan names SSIP phase "
        f"{plan_phase}."])
    strategies = state.strategies()
    links = state.parts.get("implementation_plan")
    linked = {link.strategy: link.initiatives for link in links.links} if isinstance(
        links, ImplementationPlan) else {}
    if strategies:
        out.tables.append(Table("improvement-strategies", "Improvement strategies and the "
                                "initiatives carrying them out", ["Strategy", "Initiatives"],
                                [[title, ", ".join(linked.get(sid, [])) or NO_FIGURE]
                                 for sid, title in strategies.items()], prose=True))
    theory = state.parts.get("theory_of_action")
    if isinstance(theory, TheoryOfAction):
        out.paragraphs.append(f"Theory of action: {theory.statement}")
    evaluation = state.parts.get("evaluation_plan")
    if isinstance(evaluation, EvaluationPlan):
        out.tables.append(Table("evaluation-plan", "Evaluation plan: which measures, which "
                                "instruments, when", ["Measure", "Kind", "Instrument", "When"],
                                [[m.measure, m.kind, m.instrument, m.when]
                                 for m in evaluation.measures], prose=True))
    for phase in ("I", "II"):
        if missing := state.missing(phase):
            out.notes.append(f"Phase {phase} parts not recorded: {', '.join(missing)}.")
    return out
