"""Instrument definitions as data: the items, scale, scoring, thresholds, who completes an
instrument and when, in a versioned document a state can read and replace.

The product ships its own definitions (in our words, faithful to each instrument's structure:
`instrument_library/`); a state holding the licensed item text loads its own file with the same id
and version instead. Nothing here reads a file: the library's reader hands the parsed documents
to `Catalogue`, and everything else (plan validation, forms, imports, the simulated teams) asks
the catalogue. A submission carries the scoring key of the definition it answers
(`ScoringKey`, built by `scoring_key`), so the rollout scores it, and the audit reads it, without
the catalogue.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from collections.abc import Mapping
from datetime import date

from domain.drivers import Driver
from domain.instruments import (
    SCALES, CompletedBy, Consensus, DefinedAssessment, FacilitatorRule, Instrument, ItemAnswer,
    KeyGroup, KeyItem, ScaleKind, ScoringKey, ScoringRule,
)
from domain.issues import Issue, raise_if_any
from domain.stages import Stage

FORMAT_VERSION = 1
"""The definition format itself; a document names the format it is written in."""

_ID = re.compile(r"[a-z0-9]+(?:[._-][a-z0-9]+)*")
EVERY = "every"
"""A threshold part meaning each subscale (or tier) on its own."""
TOTAL = "total"
"""A threshold part meaning the whole instrument."""


def _id(value: str) -> str:
    if not _ID.fullmatch(value) or len(value) > 64:
        raise ValueError(f"'{value}' is not a valid id: lowercase letters and digits, separated by "
                         "single dots, dashes or underscores, at most 64 characters (e.g. 'tier-1', "
                         "'1.10', 'team_formed')")
    return value


Id = Annotated[str, AfterValidator(_id)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
Version = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20,
                                           pattern=r"^[A-Za-z0-9._-]+$")]


class _Def(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Group(_Def):
    """A subscale, tier, stage or driver: the items it holds are scored together."""

    id: Id
    label: Text
    description: LongText = ""
    required: bool = Field(default=True, description="False: a team may leave the whole group "
                           "unanswered (a TFI tier the school does not run)")


class DefinitionItem(_Def):
    id: Id
    label: Text = Field(description="short label, in the definition's words")
    description: LongText = ""
    group: Id = Field(description="the subscale, tier or stage the item feeds")
    driver: Driver | None = Field(default=None, description="the Implementation Driver it feeds")
    anchors: dict[str, LongText] = Field(
        default_factory=dict, description="scale level -> what that level looks like for this item")


class Threshold(_Def):
    """A mark a plan can refer to by id, e.g. the TFI's 70% per tier."""

    id: Id
    label: Text
    part: str = Field(default=TOTAL, description="'total', a group id, or 'every' (each group)")
    at_least: float = Field(ge=0, le=100, description="percent (or mean rating, or share)")


class Scoring(_Def):
    rule: ScoringRule
    headline: str = Field(default=TOTAL, description="the part that stands for the instrument "
                          "as one figure: 'total' or a group id (the TFI's Tier I)")


class Completion(_Def):
    by: CompletedBy
    facilitator: FacilitatorRule = "none"


class Window(_Def):
    """A window on the school calendar, by months (from August to September: 8 to 9)."""

    name: Text
    from_month: int = Field(ge=1, le=12)
    to_month: int = Field(ge=1, le=12)


class Schedule(_Def):
    """When the instrument is taken, as data: the scheduling of windows reads it."""

    at_stage_entry: list[Stage] = Field(default_factory=list)
    windows: list[Window] = Field(default_factory=list)
    every: Literal["term", "year"] | None = Field(
        default=None, description="a cadence of its own, counted on the school calendar")
    until: str | None = Field(default=None, description="a threshold id; once it holds, `then`")
    then: Literal["term", "year"] | None = None
    rerun_after: list[Literal["regression", "leadership-change", "staff-turnover"]] = Field(
        default_factory=list)


class InstrumentDefinition(_Def):
    format: Literal[1] = FORMAT_VERSION
    id: Id
    version: Version
    title: Text
    evidence: Instrument = Field(description="the kind of evidence it gives a stage")
    summary: LongText = ""
    source: LongText = Field(default="", description="what it follows, and whose words these are")
    completed_by: Completion
    scale: ScaleKind
    groups_are: Literal["subscale", "tier", "stage", "driver", "indicator group", "section"] = "subscale"
    groups: list[Group] = Field(default_factory=list)
    items: list[DefinitionItem] = Field(default_factory=list)
    scoring: Scoring
    thresholds: list[Threshold] = Field(default_factory=list)
    action_mark: str | None = Field(default=None, description="items scored below this level are "
                                    "proposed as action items (default: the top of the scale)")
    schedule: Schedule = Schedule()

    @property
    def ref(self) -> str:
        return f"{self.id}@{self.version}"

    def group(self, group_id: str) -> Group | None:
        return next((g for g in self.groups if g.id == group_id), None)

    def items_of(self, group_id: str) -> list[DefinitionItem]:
        return [i for i in self.items if i.group == group_id]

    def threshold(self, threshold_id: str) -> Threshold | None:
        return next((t for t in self.thresholds if t.id == threshold_id), None)

    def parts(self) -> tuple[str, ...]:
        """What a threshold may name: the total, each group, or every group."""
        return (TOTAL, *(g.id for g in self.groups), EVERY)

    @model_validator(mode="after")
    def _consistent(self) -> InstrumentDefinition:
        raise_if_any(_definition_issues(self))
        return self


def _definition_issues(d: InstrumentDefinition) -> list[Issue]:
    issues: list[Issue] = []
    levels = [level.value for level in SCALES[d.scale]]
    issues += _duplicates([g.id for g in d.groups], "groups", "group")
    issues += _duplicates([i.id for i in d.items], "items", "item")
    groups = {g.id for g in d.groups}
    for n, item in enumerate(d.items):
        if item.group not in groups:
            issues.append(Issue(("items", n, "group"), item.group, f"item '{item.id}' feeds group "
                                f"'{item.group}', which the definition does not list (groups: "
                                f"{', '.join(sorted(groups)) or 'none'})"))
        for level in item.anchors:
            if level not in levels:
                issues.append(Issue(("items", n, "anchors", level), level, f"'{level}' is not a "
                                    f"level of the {d.scale} scale ({', '.join(levels)})"))
    for n, group in enumerate(d.groups):
        if not d.items_of(group.id) and d.scoring.rule != "share":
            issues.append(Issue(("groups", n, "id"), group.id, f"group '{group.id}' has no items"))
    if d.scoring.rule == "share":
        if d.completed_by.by != "coach-observation":
            issues.append(Issue(("completed_by", "by"), d.completed_by.by, "a share of "
                                "practitioners comes from coaches observing practitioners"))
    elif not d.items:
        issues.append(Issue(("items",), [], f"a {d.scoring.rule}-scored instrument needs items"))
    elif not any(g.required for g in d.groups):
        issues.append(Issue(("groups",), [], "at least one group must be required"))
    if d.scoring.headline != TOTAL and d.scoring.headline not in groups:
        issues.append(Issue(("scoring", "headline"), d.scoring.headline,
                            f"the headline must be 'total' or a group ({', '.join(sorted(groups))})"))
    issues += _duplicates([t.id for t in d.thresholds], "thresholds", "threshold")
    for n, t in enumerate(d.thresholds):
        if t.part not in d.parts():
            issues.append(Issue(("thresholds", n, "part"), t.part, f"threshold '{t.id}' names part "
                                f"'{t.part}'; the parts are {', '.join(d.parts())}"))
        if d.scoring.rule == "mean" and not 1 <= t.at_least <= max(int(v) for v in levels):
            issues.append(Issue(("thresholds", n, "at_least"), t.at_least, "a mean rating "
                                f"threshold lies on the scale ({levels[0]} to {levels[-1]})"))
    if d.action_mark is not None and d.action_mark not in levels:
        issues.append(Issue(("action_mark",), d.action_mark, f"'{d.action_mark}' is not a level "
                            f"of the {d.scale} scale ({', '.join(levels)})"))
    if d.schedule.until is not None and d.threshold(d.schedule.until) is None:
        issues.append(Issue(("schedule", "until"), d.schedule.until, "names no threshold of the "
                            f"definition ({', '.join(t.id for t in d.thresholds) or 'none'})"))
    if d.completed_by.by == "team-consensus" and d.completed_by.facilitator == "none":
        issues.append(Issue(("completed_by", "facilitator"), "none", "a team scoring by consensus "
                            "has a facilitator (required or optional)"))
    return issues


def _duplicates(ids: list[str], field: str, what: str) -> list[Issue]:
    seen: dict[str, int] = {}
    issues = []
    for n, value in enumerate(ids):
        if value in seen:
            issues.append(Issue((field, n, "id"), value,
                                f"duplicate {what} id '{value}' (also {field}[{seen[value]}])"))
        seen.setdefault(value, n)
    return issues


def scoring_key(definition: InstrumentDefinition, mark: str | None = None) -> ScoringKey:
    """What a submission carries so that it is scored, and read later, without the catalogue:
    every item (with its short label, group and driver), the scale, the rule, and the mark under
    which an item becomes an action item (the plan's, else the definition's, else the top)."""
    groups = definition.groups
    return ScoringKey(
        definition_id=definition.id, version=definition.version, evidence=definition.evidence,
        scale=definition.scale,
        rule=definition.scoring.rule, headline=definition.scoring.headline,
        completed_by=definition.completed_by.by, facilitator=definition.completed_by.facilitator,
        groups=tuple(KeyGroup(id=g.id, label=g.label, required=g.required) for g in groups),
        items=tuple(KeyItem(id=i.id, label=i.label, group=i.group, driver=i.driver)
                    for g in groups for i in definition.items_of(g.id)),
        action_mark=mark or definition.action_mark or SCALES[definition.scale][-1].value)


def respond(definition: InstrumentDefinition, values: Mapping[str, str | int] = {}, *,
            consensus: Consensus | None = None, resolutions: Mapping[str, str] = {},
            practitioners: tuple[int, int] | None = None, taken_on: date | None = None,
            mark: str | None = None, notes: str = "") -> DefinedAssessment:
    """Answers to a definition: item id -> agreed level, the consensus behind them (and, item by
    item, how a disagreement was resolved), or (assessed, meeting) practitioner counts."""
    assessed, meeting = practitioners or (None, None)
    return DefinedAssessment(
        instrument=definition.evidence, key=scoring_key(definition, mark), consensus=consensus,
        items=[ItemAnswer(item=item, value=str(value), resolution=resolutions.get(item, ""))
               for item, value in values.items()],
        practitioners_assessed=assessed, practitioners_meeting=meeting, taken_on=taken_on,
        notes=notes)


class Catalogue:
    """The definitions known to this process, by (id, version): the product's own, with a state's
    files of the same id and version in their place."""

    def __init__(self, definitions: list[InstrumentDefinition] = (),
                 notes: list[str] = ()) -> None:
        self._by_ref: dict[tuple[str, str], InstrumentDefinition] = {}
        for d in definitions:
            self._by_ref[(d.id, d.version)] = d
        self.notes = list(notes)
        """What the reader noticed in a state's files (a replaced definition whose item ids
        differ from the product's): said, never silently applied."""

    def __contains__(self, ref: tuple[str, str]) -> bool:
        return ref in self._by_ref

    def get(self, definition_id: str, version: str) -> InstrumentDefinition | None:
        return self._by_ref.get((definition_id, version))

    def require(self, definition_id: str, version: str) -> InstrumentDefinition:
        found = self.get(definition_id, version)
        if found is None:
            raise KeyError(f"no instrument definition '{definition_id}' version '{version}' "
                           f"(known: {', '.join(self.refs()) or 'none'})")
        return found

    def versions(self, definition_id: str) -> list[str]:
        return sorted(v for i, v in self._by_ref if i == definition_id)

    def refs(self) -> list[str]:
        return sorted(f"{i}@{v}" for i, v in self._by_ref)

    def definitions(self) -> list[InstrumentDefinition]:
        return [self._by_ref[k] for k in sorted(self._by_ref)]

    def replaced_by(self, own: list[InstrumentDefinition]) -> Catalogue:
        """This catalogue with a state's definitions in place of those with the same id and
        version (and any new ones added); a replacement whose item ids differ is noted."""
        notes = list(self.notes)
        for d in own:
            before = self.get(d.id, d.version)
            if before is not None:
                lost = sorted({i.id for i in before.items} - {i.id for i in d.items})
                added = sorted({i.id for i in d.items} - {i.id for i in before.items})
                if lost or added:
                    notes.append(f"{d.ref}: the state's definition differs from the product's in "
                                 f"its item ids (only the product's: {', '.join(lost) or 'none'}; "
                                 f"only the state's: {', '.join(added) or 'none'})")
        return Catalogue([*self._by_ref.values(), *own], notes)
