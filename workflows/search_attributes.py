"""The project's custom search attributes, defined once: typed keys for workflow code and the
name -> type mapping the dev-server launcher registers. Never put personal data in them."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

INITIATIVE_ID = SearchAttributeKey.for_keyword("InitiativeId")
SITE_ID = SearchAttributeKey.for_keyword("SiteId")
REGION = SearchAttributeKey.for_keyword("Region")
COHORT = SearchAttributeKey.for_keyword("Cohort")
ROLLOUT_STAGE = SearchAttributeKey.for_keyword("RolloutStage")

ALL: tuple[SearchAttributeKey, ...] = (INITIATIVE_ID, SITE_ID, REGION, COHORT, ROLLOUT_STAGE)

# For `temporal server start-dev --search-attribute Name=Type`.
SEARCH_ATTRIBUTES: dict[str, str] = {key.name: "Keyword" for key in ALL}
