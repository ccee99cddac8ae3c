"""How an event becomes a row, a row becomes an event again, and what the hash chain covers.

The hash is computed over values exactly as they read back from PostgreSQL (JSONB numbers,
UTC timestamps), so verifying a stream years later recomputes the very same digest.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from typing import Any, Mapping

from domain.events import EVENT_ADAPTER, Event
from store.upcasters import upcast

GENESIS = "0" * 64
"""The prev_hash of every stream's first event."""

EVENT_COLUMNS = ("position, event_id, stream_id, stream_version, type, schema_version, occurred_at, "
                 "actor, payload, workflow_id, recorded_at, prev_hash, hash")


def content(*, event_id: str, stream_id: str, stream_version: int, type: str, schema_version: int,
            occurred_at: datetime, actor: Any, payload: Any) -> dict:
    """The part of an event the hash chain vouches for."""
    return {
        "event_id": event_id, "stream_id": stream_id, "stream_version": stream_version,
        "type": type, "schema_version": schema_version,
        "occurred_at": occurred_at.astimezone(timezone.utc).isoformat(),
        "actor": actor, "payload": payload,
    }


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def chain_hash(prev_hash: str, event_content: dict) -> str:
    return hashlib.sha256((prev_hash + canonical(event_content)).encode()).hexdigest()


def row_content(row: Mapping[str, Any]) -> dict:
    """The hashed content of a stored events row, as written (before any upcasting)."""
    return content(event_id=row["event_id"], stream_id=row["stream_id"],
                   stream_version=row["stream_version"], type=row["type"],
                   schema_version=row["schema_version"], occurred_at=row["occurred_at"],
                   actor=row["actor"], payload=row["payload"])


def event_from_row(row: Mapping[str, Any]) -> Event:
    """Parse a stored row as today's event class, upcasting an older payload first."""
    version, payload = upcast(row["type"], row["schema_version"], row["payload"])
    return EVENT_ADAPTER.validate_python({
        "event_id": row["event_id"], "stream_id": row["stream_id"],
        "sequence": row["stream_version"], "type": row["type"], "schema_version": version,
        "occurred_at": row["occurred_at"], "actor": row["actor"], "payload": payload,
    })
