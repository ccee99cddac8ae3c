"""The texts of a plan are printable and storable: checked once, over the whole plan.

A plan's names (initiative, sites, regions, cohorts, trainers, PD sessions, school years, breaks)
go into events, the status board, audit reports and the annual report, and are printed on
terminals. A control character there (NUL, BEL, ESC) or a format character (U+202E
RIGHT-TO-LEFT OVERRIDE, a zero-width joiner) either cannot be stored at all (NUL: the site's
enrolment would be retried forever, and the site would never start) or makes a name print as
something else than it is. So every text of a plan is refused, naming its field, when it holds
one: names hold none; the three prose fields (the practice's fidelity criterion and evidence
summary, the SiMR) may hold line breaks and tabs. Then the plan as a whole must be something the
event store can hold (domain/storable.py, without the size limits meant for one person's answer:
a plan's size is bounded by the plan file's).
"""

from __future__ import annotations

import unicodedata
from typing import Iterator

from domain.issues import Issue
from domain.storable import unstorable

PROSE = frozenset({"fidelity_criterion", "evidence_summary", "simr"})
"""Fields written as paragraphs (YAML's `|` keeps their line breaks)."""
_LAYOUT = frozenset("\t\n\r")
_UNWANTED = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
"""Control, format, surrogate and line/paragraph separator characters."""
_NAMES = {"\x00": "NUL", "\x07": "BEL", "\x08": "BACKSPACE", "\x1b": "ESC", "\x7f": "DEL",
          "\t": "TAB", "\n": "LINE FEED", "\r": "CARRIAGE RETURN"}


def text_issues(data: object) -> list[Issue]:
    """Every text of `data` (a plan as plain data) holding a character it may not, then the
    first part the store cannot hold, each at its path."""
    issues = list(_unwanted(data, ()))
    if not issues:
        found = unstorable(data, sized=False)
        if found is not None:
            issues.append(Issue(found.path, found.value, found.problem))
    return issues


def _unwanted(data: object, path: tuple) -> Iterator[Issue]:
    if isinstance(data, str):
        prose = bool(path) and path[-1] in PROSE
        bad = unwanted_character(data, prose=prose)
        if bad is not None:
            rule = ("a text holds no control or format characters but line breaks and tabs"
                    if prose else "a name holds no control or format characters")
            yield Issue(path, data, f"contains {describe(bad)}; {rule} (it would be stored and "
                                    "printed as it is: on screens, in logs and in reports)")
    elif isinstance(data, dict):
        for key, value in data.items():
            yield from _unwanted(value, path + (key,))
    elif isinstance(data, (list, tuple)):
        for index, value in enumerate(data):
            yield from _unwanted(value, path + (index,))


def unwanted_character(text: str, *, prose: bool = False) -> str | None:
    """The first control, format or separator character of `text` (prose may hold tabs and line
    breaks), or None. One pass; none at all for the usual text, which is printable."""
    if text.isprintable():
        return None
    for character in text:
        if prose and character in _LAYOUT:
            continue
        if unicodedata.category(character) in _UNWANTED:
            return character
    return None


def describe(character: str) -> str:
    """"the character U+202E (RIGHT-TO-LEFT OVERRIDE)"."""
    name = _NAMES.get(character) or unicodedata.name(character, "a control character")
    return f"the character U+{ord(character):04X} ({name})"
