"""Read models fed by the events: the stage board now and over time, the task inbox, the
notification outbox and scores over time.

Live, each is updated inside the append's transaction (live.py); each can be rebuilt from the
events table, resuming from its checkpoint (rebuild.py), and shows how far behind it is (lag.py).
One module per projection holds its handlers.
"""

from store.projections import notifications, scores, sites, ssip, stage_history, tasks  # noqa: F401  (registers handlers)
from store.projections.lag import ProjectionStatus, status
from store.projections.live import apply
from store.projections.rebuild import catch_up, rebuild, rebuilding, start
from store.projections.registry import PROJECTIONS, Recorded

__all__ = ["PROJECTIONS", "ProjectionStatus", "Recorded", "apply", "catch_up", "rebuild",
           "rebuilding", "start", "status"]
