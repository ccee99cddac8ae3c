"""The custom search attributes that let people find rollouts by initiative, site and stage.

Defined once in `devstack.search_attributes` (the dev-server launcher registers the same names)."""

from devstack.search_attributes import ALL, COHORT, INITIATIVE_ID, REGION, ROLLOUT_STAGE, SITE_ID

__all__ = ["ALL", "COHORT", "INITIATIVE_ID", "REGION", "ROLLOUT_STAGE", "SITE_ID"]
