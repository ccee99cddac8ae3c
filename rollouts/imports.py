"""Fidelity and capacity results scored elsewhere, brought in from a CSV file.

One row per item: `initiative, site, instrument, version, item, score, date` (and, for an
instrument a team scores by consensus, `facilitator`, `participants` as `role:count; role:count`,
and optionally `resolution`). The rows of one site, instrument version and date are one
assessment. A share of practitioners takes two rows, items `assessed` and `meeting`.

Everything is checked before anything is recorded: each row's fields, each assessment against its
definition (every item of a required part, a tier whole or not at all), and then each assessment
against the site's own rules, by running the domain's decision on the site's state folded from
its events (the plan's chosen instrument, the stage, the rollout still open, the importer's
district). One bad row refuses the file, and every bad row is named with its line and field.

A valid file is recorded as assessments submitted to each site's rollout workflow, the Update the
forms and the API send, with the importer as the actor. Nothing is appended to the event store
directly, not even for a site whose rollout has closed: every event of a site must match its
workflow's history (`rollout audit verify`), so rows for a completed or cancelled site are refused
like any other row the site's rules refuse. Each assessment's id is derived from its content
(`import:` and a digest of its site, instrument, date, items and scores, consensus), so the same
rows imported again are recognised by the rollout and record nothing; a corrected row makes a new
assessment, recorded beside the first (the record is never edited). Should an Update fail midway
(a site moving stage between the check and the send), the outcome says which assessments were
recorded, and importing the same file again records the rest.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass, field
from datetime import date, datetime, timezone

import asyncpg
from pydantic import BaseModel, ValidationError
from temporalio.client import Client

from domain import commands as cmd
from domain import events as ev
from domain.actors import Actor
from domain.errors import DomainError
from domain.instrument_definitions import Catalogue, InstrumentDefinition, scoring_key
from domain.instruments import SCALES, Consensus, DefinedAssessment, ItemAnswer
from domain.rollout import decide
from domain.site_state import SiteRolloutState, fold
from rollouts import task_actions
from rollouts.task_actions import ActionFailed
from store.eventstore import EventStore

REQUIRED = ("initiative", "site", "instrument", "version", "item", "score", "date")
OPTIONAL = ("facilitator", "participants", "resolution")
SHARE_ITEMS = ("assessed", "meeting")
MAX_ROWS = 100_000
MAX_BYTES = 10 * 1024 * 1024
FIELD_OF = {"assessment.key.definition_id": "instrument", "assessment.instrument": "instrument",
            "status": "site", "actor.role": "site", "actor.district": "site",
            "task_id": "site"}
"""Where a refusal by the site's rules points in the file."""


@dataclass(frozen=True)
class RowProblem:
    line: int
    field: str
    value: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.field} = {self.value!r}: {self.message}"


class ImportRefused(Exception):
    """The file was refused; nothing was recorded. `problems` names every bad row."""

    def __init__(self, problems: list[RowProblem]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.line, p.field))
        lines = sorted({p.line for p in self.problems})
        super().__init__(f"{len(lines)} bad row{'s' if len(lines) != 1 else ''}; nothing was "
                         "imported:\n" + "\n".join(f"  {p}" for p in self.problems))

    @property
    def lines(self) -> list[int]:
        return sorted({p.line for p in self.problems})


@dataclass
class Planned:
    """One assessment the file holds, ready to send."""

    initiative_id: str
    site_id: str
    definition: str
    taken_on: date
    lines: list[int]
    assessment_id: str
    assessment: DefinedAssessment
    already_recorded: bool = False


class ImportedAssessment(BaseModel):
    assessment_id: str
    initiative_id: str
    site_id: str
    definition: str
    taken_on: date
    lines: str
    status: str
    """recorded, already recorded, not sent (an earlier one failed)"""


class ImportOutcome(BaseModel):
    rows: int
    recorded: int
    unchanged: int
    assessments: list[ImportedAssessment]
    failure: str | None = None
    """Why sending stopped midway (the rest is recorded by importing the same file again)."""


# --- reading and checking ---------------------------------------------------------------------

@dataclass
class _Row:
    line: int
    values: dict[str, str]

    def __getitem__(self, name: str) -> str:
        return (self.values.get(name) or "").strip()


@dataclass
class _Group:
    initiative_id: str
    site_id: str
    definition: InstrumentDefinition
    taken_on: date
    rows: list[_Row] = field(default_factory=list)


def read_rows(text: str) -> list[_Row]:
    """The data rows with their line numbers (the header is line 1), or ImportRefused for a file
    that is not such a CSV."""
    if len(text.encode("utf-8", "replace")) > MAX_BYTES:
        raise ImportRefused([RowProblem(1, "file", "", f"larger than {MAX_BYTES // 2**20} MB; "
                                                       "split it")])
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise ImportRefused([RowProblem(1, "header", ",".join(header), (
            f"missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}; the columns "
            f"are {', '.join(REQUIRED)} (and optionally {', '.join(OPTIONAL)})"))])
    unknown = [h for h in header if h not in REQUIRED + OPTIONAL]
    if unknown:
        raise ImportRefused([RowProblem(1, "header", ",".join(header),
                                        f"unknown column(s) {', '.join(unknown)}")])
    rows = []
    try:
        for values in reader:
            if len(rows) >= MAX_ROWS:
                raise ImportRefused([RowProblem(reader.line_num, "file", "", (
                    f"more than {MAX_ROWS:,} rows; split it"))])
            values = {(k or "").strip(): v for k, v in values.items()}
            if None in values or "" in values:
                raise ImportRefused([RowProblem(reader.line_num, "row", "", "more values than "
                                                "columns")])
            if any((v or "").strip() for v in values.values()):
                rows.append(_Row(reader.line_num, values))
    except csv.Error as broken:
        raise ImportRefused([RowProblem(reader.line_num, "file", "", f"not CSV: {broken}")]) from None
    if not rows:
        raise ImportRefused([RowProblem(1, "file", "", "no rows to import")])
    return rows


def plan_import(text: str, catalogue: Catalogue, states: dict[tuple[str, str], SiteRolloutState],
                actor: Actor, source: str = "the file") -> list[Planned]:
    """Every assessment in the file, each checked by the site's rules (`states`: the sites the
    importer may act for, folded from their events); ImportRefused names every bad row."""
    problems: list[RowProblem] = []
    groups: dict[tuple, _Group] = {}
    for row in read_rows(text):
        checked = _check_row(row, catalogue, states, problems)
        if checked is None:
            continue
        key, definition, taken_on = checked
        group = groups.setdefault(key, _Group(key[0], key[1], definition, taken_on))
        group.rows.append(row)
    if problems:  # the rows first: an assessment is judged whole once its rows are sound
        raise ImportRefused(problems)
    planned = []
    for group in groups.values():
        made = _assessment(group, source, problems)
        if made is not None:
            planned.append(made)
    planned.sort(key=lambda p: (p.initiative_id, p.site_id, p.taken_on, p.definition))
    if not problems:
        _check_with_the_rules(planned, states, actor, problems)
    if problems:
        raise ImportRefused(problems)
    return planned


def _check_row(row: _Row, catalogue: Catalogue, states: dict, problems: list[RowProblem]):
    found: list[RowProblem] = []

    def bad(name: str, message: str) -> None:
        found.append(RowProblem(row.line, name, row[name], message))

    for name in REQUIRED:
        if not row[name]:
            bad(name, "required")
    if found:
        problems += found
        return None
    if (row["initiative"], row["site"]) not in states:
        bad("site", f"initiative '{row['initiative']}' has no site '{row['site']}' you may "
                    "import for")
    definition = catalogue.get(row["instrument"], row["version"])
    if definition is None:
        known = catalogue.versions(row["instrument"])
        if known:
            bad("version", f"'{row['instrument']}' has no version '{row['version']}' (known: "
                           f"{', '.join(known)})")
        else:
            bad("instrument", f"no instrument definition '{row['instrument']}' (known: "
                              f"{', '.join(catalogue.refs())})")
    else:
        _check_item(row, definition, bad)
    try:
        taken_on = date.fromisoformat(row["date"])
    except ValueError:
        bad("date", "not a date; write it as YYYY-MM-DD")
        taken_on = None
    if row["participants"]:
        try:
            _participants(row["participants"])
        except ValueError as wrong:
            bad("participants", str(wrong))
    if found:
        problems += found
        return None
    return (row["initiative"], row["site"], definition.id, definition.version, taken_on), \
        definition, taken_on


def _check_item(row: _Row, definition: InstrumentDefinition, bad) -> None:
    if definition.scoring.rule == "share":
        if row["item"] not in SHARE_ITEMS:
            bad("item", f"{definition.ref} is a share of practitioners: its items are "
                        f"{' and '.join(SHARE_ITEMS)}")
        elif not row["score"].isdigit():
            bad("score", "a count of practitioners (a whole number)")
        return
    if not any(i.id == row["item"] for i in definition.items):
        bad("item", f"{definition.ref} has no item '{row['item']}'")
    levels = [level.value for level in SCALES[definition.scale]]
    if row["score"] not in levels:
        bad("score", f"not a level of {definition.ref}'s {definition.scale} scale "
                     f"({', '.join(levels)})")


def _participants(text: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for part in (p.strip() for p in text.split(";") if p.strip()):
        role, sep, count = part.rpartition(":")
        if not sep or not role.strip() or not count.strip().isdigit():
            raise ValueError(f"'{part}' is not role:count (e.g. 'district leader:3; principal:2')")
        counts[role.strip()] = counts.get(role.strip(), 0) + int(count)
    return counts


def _assessment(group: _Group, source: str, problems: list[RowProblem]) -> Planned | None:
    """The group's rows as one DefinedAssessment; problems name the rows concerned."""
    d, first = group.definition, group.rows[0]
    seen: dict[str, int] = {}
    consensus_of = (first["facilitator"], first["participants"])
    found = []
    for row in group.rows:
        if row["item"] in seen:
            found.append(RowProblem(row.line, "item", row["item"], (
                f"already on line {seen[row['item']]} for this assessment (same site, instrument "
                "and date)")))
        seen.setdefault(row["item"], row.line)
        for name, value in zip(("facilitator", "participants"), consensus_of):
            if row[name] != value:
                found.append(RowProblem(row.line, name, row[name], (
                    f"differs from line {first.line} of the same assessment ({value!r}): one "
                    "assessment has one consensus")))
    if found:
        problems += found
        return None
    rows = {r["item"]: r for r in group.rows}
    counts = {}
    if d.scoring.rule == "share":
        counts = dict(practitioners_assessed=int(rows["assessed"]["score"]) if "assessed" in rows
                      else None,
                      practitioners_meeting=int(rows["meeting"]["score"]) if "meeting" in rows
                      else None)
    consensus = None
    if consensus_of != ("", ""):
        consensus = Consensus(facilitator=consensus_of[0] or None,
                              participants=_participants(consensus_of[1]))
    lines = [r.line for r in group.rows]
    try:
        answers = DefinedAssessment(
            instrument=d.evidence, key=scoring_key(d), consensus=consensus, taken_on=group.taken_on,
            items=[] if d.scoring.rule == "share" else [
                ItemAnswer(item=r["item"], value=r["score"], resolution=r["resolution"][:2000])
                for r in group.rows],
            notes=f"Imported from {source}, line{'s' if len(lines) > 1 else ''} "
                  f"{_span(lines)}"[:2000], **counts)
    except ValidationError as wrong:
        message = "; ".join(e["msg"].removeprefix("Value error, ") for e in wrong.errors())
        field_name = "facilitator" if "facilitator" in message else \
            "participants" if "consensus" in message or "participant" in message else "item"
        problems.append(RowProblem(first.line, field_name, first[field_name], (
            f"the assessment on lines {_span(lines)} ({group.site_id}, {d.ref}, "
            f"{group.taken_on}): {message}")))
        return None
    return Planned(group.initiative_id, group.site_id, d.ref, group.taken_on, lines,
                   _assessment_id(group, answers), answers)


def _assessment_id(group: _Group, answers: DefinedAssessment) -> str:
    """The same rows give the same id, wherever and whenever they are imported."""
    content = [group.initiative_id, group.site_id, answers.key.ref, group.taken_on.isoformat(),
               sorted((a.item, a.value, a.resolution) for a in answers.items),
               answers.practitioners_assessed, answers.practitioners_meeting,
               answers.consensus.model_dump(mode="json") if answers.consensus else None]
    digest = hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()
    return f"import:{digest[:32]}"


def _check_with_the_rules(planned: list[Planned], states: dict, actor: Actor,
                          problems: list[RowProblem]) -> None:
    """Each assessment decided on its site's state, in date order, as the rollout would."""
    at = datetime.now(timezone.utc)
    current = dict(states)
    for p in planned:
        key = (p.initiative_id, p.site_id)
        try:
            events = decide(current[key], cmd.SubmitAssessment(
                at=at, actor=actor, assessment_id=p.assessment_id, assessment=p.assessment))
        except DomainError as refused:
            name = FIELD_OF.get(refused.field or "", "site")
            problems.append(RowProblem(p.lines[0], name, {"site": p.site_id}.get(
                name, p.definition), f"lines {_span(p.lines)}: {refused.message}"))
            continue
        p.already_recorded = not events
        current[key] = fold(events, current[key])


def _span(lines: list[int]) -> str:
    return f"{lines[0]}-{lines[-1]}" if len(lines) > 1 and lines[-1] - lines[0] == len(lines) - 1 \
        else ", ".join(map(str, lines[:8])) + (" ..." if len(lines) > 8 else "")


# --- the sites, and sending -------------------------------------------------------------------

async def site_states(pool: asyncpg.Pool, text: str,
                      district: str | None = None) -> dict[tuple[str, str], SiteRolloutState]:
    """The state of every enrolled site the file names that the importer may act for (a
    coordinator: their district and its schools), folded from its events."""
    try:
        rows = read_rows(text)
    except ImportRefused:
        return {}
    store, states = EventStore(pool), {}
    for key in {(r["initiative"], r["site"]) for r in rows if r["initiative"] and r["site"]}:
        state = fold(await store.read_stream(ev.site_stream(*key)))
        if state.status == "not_enrolled":
            continue
        if district is not None and state.district_id != district:
            continue
        states[key] = state
    return states


async def import_results(pool: asyncpg.Pool, client: Client, catalogue: Catalogue, text: str,
                         actor: Actor, *, district: str | None = None,
                         source: str = "the file") -> ImportOutcome:
    """Check the whole file, then send each assessment not yet recorded to its site's rollout."""
    states = await site_states(pool, text, district)
    planned = plan_import(text, catalogue, states, actor, source)
    rows = sum(len(p.lines) for p in planned)
    done: list[ImportedAssessment] = []
    failure = None
    for p in planned:
        status = "already recorded" if p.already_recorded else "not sent"
        if not p.already_recorded and failure is None:
            try:
                outcome = await task_actions.submit_assessment(
                    client, initiative_id=p.initiative_id, site_id=p.site_id, actor=actor,
                    assessment_id=p.assessment_id, assessment=p.assessment)
                status = "already recorded" if outcome.already_done else "recorded"
            except ActionFailed as refused:
                failure = (f"{p.site_id}, {p.definition} of {p.taken_on} (lines {_span(p.lines)}): "
                           f"{refused.message}")
        done.append(ImportedAssessment(
            assessment_id=p.assessment_id, initiative_id=p.initiative_id, site_id=p.site_id,
            definition=p.definition, taken_on=p.taken_on, lines=_span(p.lines), status=status))
    return ImportOutcome(rows=rows, recorded=sum(a.status == "recorded" for a in done),
                         unchanged=sum(a.status == "already recorded" for a in done),
                         assessments=done, failure=failure)
