"""Local infrastructure for development and tests: private PostgreSQL clusters, the Temporal dev
server from the virtualenv, the project's search attributes and its settings.

Submodules are imported explicitly (``from devstack.postgres import LocalPostgres``) so that
workflow code can import ``workflows.search_attributes`` without pulling in process management.
"""
