"""Structured logging (structlog) shared by the CLI, the worker and the services."""

from observability.logging import configure_logging, get_logger

__all__ = ["configure_logging", "get_logger"]
