"""UTC timestamps for the audit log: one fixed ISO 8601 spelling, microseconds, ``Z``.

(``core/`` has no time module yet; when it gets one these helpers should move there.)
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from standoff.core.errors import InputError

__all__ = ["format_utc", "parse_utc"]

_ZERO = timedelta(0)


def format_utc(at_utc: datetime, *, field: str = "at_utc") -> str:
    """``2026-11-24T21:15:32.000000Z``; naive or non-UTC datetimes are rejected."""
    if type(at_utc) is datetime and at_utc.tzinfo is UTC:  # the hot path (audit appends)
        t = at_utc  # %-formatting measured ~1.7x faster than an f-string with format specs
        return "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ" % (  # noqa: UP031
            t.year,
            t.month,
            t.day,
            t.hour,
            t.minute,
            t.second,
            t.microsecond,
        )
    if not isinstance(at_utc, datetime):
        raise InputError("expected a datetime", field=field, value=at_utc)
    if at_utc.tzinfo is None or at_utc.utcoffset() != _ZERO:
        raise InputError("timestamp must be timezone-aware UTC", field=field, value=at_utc)
    return at_utc.isoformat(timespec="microseconds")[:26] + "Z"


def parse_utc(text: str) -> datetime:
    """Inverse of :func:`format_utc`; ``ValueError`` unless ``text`` is in that exact form."""
    if not text.endswith("Z"):
        raise ValueError(f"timestamp does not end in Z: {text!r}")
    value = datetime.fromisoformat(text[:-1])
    if value.tzinfo is not None:
        raise ValueError(f"timestamp carries an offset: {text!r}")
    value = value.replace(tzinfo=UTC)
    if format_utc(value) != text:
        raise ValueError(f"timestamp not in canonical form: {text!r}")
    return value
