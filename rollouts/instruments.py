"""The instrument a site answers for each kind of evidence, for the edges that build its forms,
import its results or simulate its teams.

Every site carries its plan's choices from its enrolment (`SiteEnrolled.criteria.instruments`),
so the edges read them from the site's first event; the definitions themselves come from the
catalogue the process loaded (`instrument_library`), the product's with a state's own in place.
"""

from __future__ import annotations

import asyncpg

from domain import events as ev
from domain.criteria import InstrumentChoices, InstrumentUse
from domain.instrument_definitions import Catalogue, InstrumentDefinition
from domain.instruments import Instrument
from store.eventstore import EventStore


async def site_choices(pool: asyncpg.Pool, initiative_id: str, site_id: str) -> InstrumentChoices:
    """The instruments the site's plan chose (the product's defaults for a site enrolled before
    plans chose them, or not enrolled at all)."""
    first = await EventStore(pool).read_stream(ev.site_stream(initiative_id, site_id), limit=1)
    if first and first[0].type == "SiteEnrolled":
        return first[0].payload.criteria.instruments
    return InstrumentChoices()


def chosen_definition(catalogue: Catalogue, choices: InstrumentChoices,
                      instrument: Instrument | str) -> tuple[InstrumentDefinition, InstrumentUse] | None:
    """The definition answering this evidence, and how the plan uses it (None: the evidence has
    no definition, as the adoption decision, or the definition is not in this catalogue)."""
    use = choices.for_evidence(Instrument(instrument))
    if use is None:
        return None
    definition = catalogue.get(use.id, use.version)
    return (definition, use) if definition is not None else None
