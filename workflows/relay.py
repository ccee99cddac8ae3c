"""Relaying an initiative's control (pause, resume, cancel) to its groups and their sites, which
may have closed by then: a site cancelled on its own, a group whose sites have all finished.
"""

from __future__ import annotations

from temporalio.exceptions import ApplicationError

RELAY_PATCH = "relay-controls-to-open-workflows-only"
"""workflow.patched id: a control relayed to a group or site that has already closed (a site
cancelled on its own, its group finished) is skipped instead of failing the relay, and the
initiative relays to groups a cohort adds while it relays (instead of failing its workflow task on
"dictionary changed size during iteration"). Runs recorded before the patch replay as they ran."""


def closed_target(failure: BaseException) -> bool:
    """The signal went to a workflow that has already closed."""
    return isinstance(failure, ApplicationError) and failure.type == "ExternalWorkflowExecutionNotFound"
