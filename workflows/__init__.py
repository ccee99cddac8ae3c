"""Deterministic orchestration: the initiative, its site groups, each site's rollout, coaching cycles.

Workflows ask the domain what to do and call activities for side effects; they never do I/O.
"""
