"""Upcasters: read old event payloads as the current event classes expect them.

Stored events are never rewritten (the hash chain covers them as written); when an event class
changes shape, its `schema_version` default goes up and one function per step is registered here,
keyed by (event type, version it upgrades from). Reading applies the steps in order.
"""

from __future__ import annotations

from typing import Callable

from domain.events import EVENT_TYPES

Payload = dict
Upcaster = Callable[[Payload], Payload]

UPCASTERS: dict[tuple[str, int], Upcaster] = {}
"""(event type, from version) -> function returning the payload at from version + 1."""

CURRENT_VERSIONS: dict[str, int] = {
    cls.model_fields["type"].default: cls.model_fields["schema_version"].default for cls in EVENT_TYPES
}
"""The schema version each event class writes today."""


def upcast(event_type: str, version: int, payload: Payload) -> tuple[int, Payload]:
    """Upgrade a stored payload step by step to the current version of its event class."""
    current = CURRENT_VERSIONS.get(event_type)
    if current is None:
        raise LookupError(f"no event class for stored event type {event_type!r}")
    if version > current:
        raise LookupError(f"{event_type} v{version} is newer than this code (v{current}); "
                          "deploy the newer code before reading it")
    while version < current:
        step = UPCASTERS.get((event_type, version))
        if step is None:
            raise LookupError(f"no upcaster registered for {event_type} v{version} -> v{version + 1}")
        payload = step(dict(payload))
        version += 1
    return version, payload
