"""Workflow ids: stable and derived from the domain's ids, so any caller can find a workflow."""


def initiative_workflow_id(initiative_id: str) -> str:
    return f"initiative:{initiative_id}"


def site_workflow_id(initiative_id: str, site_id: str) -> str:
    return f"site-rollout:{initiative_id}:{site_id}"


def group_workflow_id(initiative_id: str, cohort_id: str, region: str, chunk: int) -> str:
    return f"site-group:{initiative_id}:{cohort_id}:{region}:{chunk}"


def coaching_workflow_id(cycle_id: str) -> str:
    return f"coaching-cycle:{cycle_id}"


def ssip_cycle_workflow_id(initiative_id: str) -> str:
    return f"ssip-cycle:{initiative_id}"


def initiative_workflows_query(initiative_id: str) -> str:
    """A visibility query matching every workflow of one initiative: its own, its SSIP cycle, its
    groups', its sites' and its coaching cycles'."""
    quoted = initiative_id.replace("\\", "\\\\").replace("'", "\\'")
    prefixes = (f"site-rollout:{quoted}:", f"site-group:{quoted}:", f"coaching-cycle:{quoted}:")
    return "(" + " OR ".join([f"WorkflowId = 'initiative:{quoted}'",
                              f"WorkflowId = 'ssip-cycle:{quoted}'",
                              *(f"WorkflowId STARTS_WITH '{p}'" for p in prefixes)]) + ")"
