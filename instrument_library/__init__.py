"""The instrument definitions the product ships, and the reader that loads them and a state's own.

`definitions/` holds one YAML document per instrument version, in our own words (see each file's
header for what it follows). A state that holds an instrument's licensed text writes its own file
with the same id and version and points `ROLLOUT_INSTRUMENTS_DIR` (or a command's `--instruments`)
at the folder holding it: its definitions take the place of the product's, and new ids are added.
The reader does the file work and hands validated `InstrumentDefinition`s to the domain's
`Catalogue`; the domain itself never reads a file.
"""

from __future__ import annotations

from functools import lru_cache
from importlib.resources import files
from pathlib import Path

from domain.instrument_definitions import Catalogue, InstrumentDefinition
from domain.plan_yaml import PlanError, PlanIssue, parse_document

SUFFIXES = (".yaml", ".yml")


class DefinitionsError(Exception):
    """A folder of definitions could not be read; the message names each file and problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


def read_definition(text: str, source: str = "<definition>") -> InstrumentDefinition:
    """One definition document, or PlanError naming each problem with its line and path."""
    return parse_document(text, InstrumentDefinition, source, what="instrument definition", hint=(
        "it must be a mapping with 'id', 'version', 'title', 'evidence', 'completed_by', 'scale', "
        "'items' and 'scoring'"))


def read_folder(folder: Path) -> list[InstrumentDefinition]:
    """Every definition in a folder (not its subfolders), or DefinitionsError listing every file
    that fails and two files that claim the same id and version."""
    if not folder.is_dir():
        raise DefinitionsError([f"{folder}: not a folder of instrument definitions"])
    found: dict[tuple[str, str], Path] = {}
    definitions, problems = [], []
    for path in sorted(p for p in folder.iterdir() if p.suffix in SUFFIXES and p.is_file()):
        try:
            definition = read_definition(path.read_text(encoding="utf-8"), source=str(path))
        except PlanError as refused:
            problems += [f"{refused.source}: {issue}" for issue in refused.errors]
            continue
        except (OSError, UnicodeDecodeError) as failure:
            problems.append(f"{path}: cannot be read ({failure})")
            continue
        key = (definition.id, definition.version)
        if key in found:
            problems.append(f"{path}: {definition.ref} is also defined in {found[key]}")
            continue
        found[key] = path
        definitions.append(definition)
    if problems:
        raise DefinitionsError(problems)
    return definitions


@lru_cache(maxsize=1)
def built_in() -> Catalogue:
    """The product's own definitions (read once per process)."""
    return Catalogue(read_folder(Path(str(files("instrument_library") / "definitions"))))


def load_catalogue(folder: str | Path | None = None) -> Catalogue:
    """The product's definitions, with a state's folder of its own in their place."""
    if not folder:
        return built_in()
    return built_in().replaced_by(read_folder(Path(folder)))


def definition_issue(problem: str) -> PlanIssue:
    """A folder's problem as a plan issue, for commands that report plan problems."""
    return PlanIssue(path="", value="", message=problem)
