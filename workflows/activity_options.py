"""Timeouts and retry policies for every activity call, chosen per kind of work.

Business refusals (DomainError) and optimistic-concurrency conflicts are never retried; an
outage of the database is retried with backoff for as long as it lasts.
"""

from datetime import timedelta

from temporalio.common import RetryPolicy

NEVER_RETRY = ["DomainError", "ConcurrencyError", "ValidationError"]

RECORD = dict(
    start_to_close_timeout=timedelta(seconds=30),
    retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=500), backoff_coefficient=2.0,
                             maximum_interval=timedelta(seconds=15),
                             non_retryable_error_types=NEVER_RETRY),
)
"""Appends to the event store: retried until the database answers."""

SCHEDULE = dict(
    start_to_close_timeout=timedelta(seconds=60),
    retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30),
                             non_retryable_error_types=NEVER_RETRY),
)
"""PD booking: reads and writes trainer bookings."""

PURE = dict(
    start_to_close_timeout=timedelta(seconds=20),
    retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=200), maximum_attempts=5,
                             non_retryable_error_types=NEVER_RETRY),
)
"""Rule evaluations run as activities so their verdicts are history, immune to later rule changes."""
