"""UTC times at the boundaries: ISO 8601 text from JSON documents."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from standoff.core.errors import InputError

__all__ = ["with_iso_start"]


def with_iso_start(document: Mapping[str, Any], *, source: str) -> dict[str, Any]:
    """``document`` with its ``start`` parsed when it is ISO 8601 text (JSON has no
    timestamps; YAML gives a datetime already, left as it is)."""
    out = dict(document)
    start = out.get("start")
    if isinstance(start, str):
        try:
            out["start"] = datetime.fromisoformat(start.replace("Z", "+00:00"))
        except ValueError as exc:
            raise InputError(
                "not an ISO 8601 time", source=source, field="start", value=start
            ) from exc
    return out
