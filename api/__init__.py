"""The HTTP API (FastAPI): token authentication with roles over the task inbox, assessments,
status, the stage board and the audit. `uvicorn --factory api.app:create_app` serves it."""
