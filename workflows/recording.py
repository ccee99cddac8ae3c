"""Recording decided events when a workflow's task has run before.

A workflow reset to an earlier task (the watchdog in service/refused_tasks.py does this when
Temporal refuses a task) decides that task's events again, at a later time, so they differ from
the ones its first pass stored. The event store keeps what it holds and hands those back
(`RecordResult.adopted`); the workflow folds them in place of its own.
"""

ADOPT_STORED_PATCH = "adopt-events-stored-by-an-earlier-pass"
"""workflow.patched id: a batch the store answers with events stored earlier by the same workflow
is replaced by them. Before, the store refused such a batch as a conflict and the workflow failed;
no recorded history reaches the patch, so they replay as they ran."""
