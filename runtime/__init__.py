"""What a running process needs around the workflows: settings, the Temporal connection, the
worker's periodic chores and watchdog, health checks, and how a process leaves."""
