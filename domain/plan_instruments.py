"""A plan's references to instruments, checked against the definitions a process knows.

A plan names, in its `instruments` section, the definition (id and version) that answers each
kind of evidence, and its exit criteria may hold thresholds on them ("tfi tier-1 at 70, twice").
Given the catalogue, every reference is checked, each problem at its own field path (an unknown
instrument, version, subscale, tier or threshold); named thresholds take their part and mark from
the definition. The settled criteria are what each site carries from its enrolment.
"""

from __future__ import annotations

from domain.criteria import (
    EVERY_PART, EVIDENCE_KINDS, STAGE_FIELDS, ExitCriteria, InstrumentChoices, InstrumentThreshold,
)
from domain.instrument_definitions import Catalogue, InstrumentDefinition
from domain.instruments import SCALES
from domain.issues import Issue

INSTRUMENTS_CONTEXT = "instruments"
"""The validation-context key under which a caller hands `Plan` the catalogue."""


def instrument_issues(choices: InstrumentChoices, criteria: ExitCriteria,
                      catalogue: Catalogue | None) -> list[Issue]:
    issues: list[Issue] = []
    if "instruments" in criteria.model_fields_set and criteria.instruments != choices:
        issues.append(Issue(("exit_criteria", "instruments"), "", "instruments are chosen in the "
                            "plan's own 'instruments' section; the exit criteria take them from "
                            "there"))
    definitions = _chosen(choices, catalogue, issues)
    chosen_ids = {choices.for_evidence(kind).id: kind for kind in EVIDENCE_KINDS}
    for stage, field in STAGE_FIELDS.items():
        for n, rule in enumerate(criteria.of_stage(stage).thresholds):
            base = ("exit_criteria", field, "thresholds", n)
            if rule.instrument not in chosen_ids:
                issues.append(Issue(base + ("instrument",), rule.instrument, (
                    f"the plan uses no instrument '{rule.instrument}'; a threshold names one of "
                    f"the plan's instruments ({', '.join(sorted(chosen_ids))})")))
                continue
            definition = definitions.get(rule.instrument)
            if catalogue is None:
                if rule.at_least is None:
                    issues.append(Issue(base + ("threshold",), rule.threshold, (
                        "a named threshold is read from the instrument's definition, which was "
                        "not given to this check; give 'at_least' as well")))
                continue
            if definition is not None:
                issues += _threshold_issues(base, rule, definition)
    return issues


def settle_criteria(choices: InstrumentChoices, criteria: ExitCriteria,
                    catalogue: Catalogue | None) -> ExitCriteria:
    """The criteria a site carries: the plan's choices, named thresholds filled in."""
    updates: dict = {"instruments": choices}
    for stage, field in STAGE_FIELDS.items():
        exit_rule = criteria.of_stage(stage)
        settled = tuple(_settled(rule, choices, catalogue) for rule in exit_rule.thresholds)
        if settled != exit_rule.thresholds:
            updates[field] = exit_rule.model_copy(update={"thresholds": settled})
    return criteria.model_copy(update=updates)


def _settled(rule: InstrumentThreshold, choices: InstrumentChoices,
             catalogue: Catalogue | None) -> InstrumentThreshold:
    if rule.threshold is None or catalogue is None:
        return rule
    kind = choices.evidence_of(rule.instrument)
    use = choices.for_evidence(kind) if kind else None
    definition = catalogue.get(use.id, use.version) if use else None
    named = definition.threshold(rule.threshold) if definition else None
    if named is None:
        return rule
    given = rule.model_fields_set
    return rule.model_copy(update={
        "part": rule.part if "part" in given else named.part,
        "at_least": rule.at_least if "at_least" in given and rule.at_least is not None
        else named.at_least})


def _chosen(choices: InstrumentChoices, catalogue: Catalogue | None,
            issues: list[Issue]) -> dict[str, InstrumentDefinition]:
    """The chosen definitions by id; each unknown one, or one of the wrong kind, an issue."""
    found: dict[str, InstrumentDefinition] = {}
    if catalogue is None:
        return found
    for kind in EVIDENCE_KINDS:
        use = choices.for_evidence(kind)
        path = ("instruments", kind.value)
        versions = catalogue.versions(use.id)
        if not versions:
            issues.append(Issue(path + ("id",), use.id, (
                f"no instrument definition '{use.id}' is known (known: "
                f"{', '.join(catalogue.refs())})")))
            continue
        definition = catalogue.get(use.id, use.version)
        if definition is None:
            issues.append(Issue(path + ("version",), use.version, (
                f"'{use.id}' has no version '{use.version}' (known: {', '.join(versions)})")))
            continue
        if definition.evidence is not kind:
            issues.append(Issue(path + ("id",), use.id, (
                f"{definition.ref} gives {definition.evidence.value.replace('_', ' ')} evidence, "
                f"not {kind.value.replace('_', ' ')}")))
            continue
        levels = [level.value for level in SCALES[definition.scale]]
        if use.mark is not None and use.mark not in levels:
            issues.append(Issue(path + ("mark",), use.mark, (
                f"'{use.mark}' is not a level of {definition.ref}'s {definition.scale} scale "
                f"({', '.join(levels)})")))
        found[use.id] = definition
    return found


def _threshold_issues(base: tuple, rule: InstrumentThreshold,
                      definition: InstrumentDefinition) -> list[Issue]:
    issues: list[Issue] = []
    if rule.threshold is not None and definition.threshold(rule.threshold) is None:
        named = ", ".join(t.id for t in definition.thresholds) or "none"
        issues.append(Issue(base + ("threshold",), rule.threshold, (
            f"{definition.ref} names no threshold '{rule.threshold}' (its thresholds: {named})")))
    part = rule.part
    if "part" not in rule.model_fields_set and rule.threshold is not None:
        named_threshold = definition.threshold(rule.threshold)
        part = named_threshold.part if named_threshold else part
    if part not in definition.parts():
        kinds = definition.groups_are
        groups = ", ".join(g.id for g in definition.groups) or "none"
        issues.append(Issue(base + ("part",), part, (
            f"{definition.ref} has no {kinds} '{part}' (its {kinds}s: {groups}; or 'total', or "
            f"'{EVERY_PART}' for each of them)")))
    top = SCALES[definition.scale][-1].points
    if definition.scoring.rule == "mean" and rule.at_least is not None and rule.at_least > top:
        issues.append(Issue(base + ("at_least",), rule.at_least, (
            f"{definition.ref} is scored as a mean rating of at most {top}")))
    return issues
