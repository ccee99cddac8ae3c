"""Small-cell suppression for the report's counts of people, never silent.

Counts of practitioners (assessed, meeting fidelity, observed in coaching) and of PD attendees are
counts of people: any from 1 to min_cell - 1 is hidden (domain/privacy.py), a part is hidden with
its whole when the part or the rest is small, and when a row shows its total, one more cell is
hidden beside a lone hidden one so that it cannot be recovered by subtraction (complementary
suppression). Every hidden cell is logged, and the report lists them. Counts of sites are counts
of organisations and are never suppressed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Hashable, Mapping

from domain.privacy import check_min_cell, part_of_whole, small

HIDDEN = "suppressed"


@dataclass(frozen=True)
class Suppressed:
    section: str
    where: str
    what: str
    why: str


@dataclass
class Suppressor:
    min_cell: int
    log: list[Suppressed] = field(default_factory=list)

    def __post_init__(self) -> None:
        check_min_cell(self.min_cell)

    def row(self, section: str, what: str, counts: Mapping[Hashable, int],
            total_shown: bool = True) -> set[Hashable]:
        """Keys of a row of people counts to hide: the small ones, plus one complementary cell
        when the row's total is shown and exactly one would otherwise be hidden."""
        hidden = {k for k, n in counts.items() if small(n, self.min_cell)}
        for k in sorted(hidden, key=str):
            self._note(section, str(k), what, f"fewer than {self.min_cell}")
        if total_shown and len(hidden) == 1:
            others = [k for k, n in counts.items() if k not in hidden and n > 0]
            if others:
                partner = min(others, key=lambda k: (counts[k], str(k)))
                hidden.add(partner)
                self._note(section, str(partner), what,
                           "complementary: would reveal another hidden cell through the total")
        return hidden

    def parts(self, section: str, what: str,
              pairs: Mapping[Hashable, tuple[int, int]], total_shown: bool = True) -> set[Hashable]:
        """Keys of (part, whole) pairs to hide, with the part and the rest each checked, and
        complementary hiding across the row when its totals are shown."""
        hidden = {k for k, (part, whole) in pairs.items()
                  if small(whole, self.min_cell) or not part_of_whole(part, whole, self.min_cell)}
        for k in sorted(hidden, key=str):
            self._note(section, str(k), what,
                       "the count, those meeting it or those not meeting it is under "
                       f"{self.min_cell}")
        if total_shown and len(hidden) == 1:
            others = [k for k, (_, whole) in pairs.items() if k not in hidden and whole > 0]
            if others:
                partner = min(others, key=lambda k: (pairs[k][1], str(k)))
                hidden.add(partner)
                self._note(section, str(partner), what,
                           "complementary: would reveal another hidden cell through the total")
        return hidden

    def total(self, section: str, where: str, what: str, n: int) -> str:
        """A total of people (itself a count that may be small)."""
        if small(n, self.min_cell):
            self._note(section, where, what, f"fewer than {self.min_cell}")
            return HIDDEN
        return str(n)

    def _note(self, section: str, where: str, what: str, why: str) -> None:
        self.log.append(Suppressed(section, where, what, why))
