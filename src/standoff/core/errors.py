"""The one error tree of Standoff.

Every failure a user can cause or meet is a :class:`StandoffError`.  Third-party
errors are translated at the boundary with ``raise ... from``.  The CLI turns any
``StandoffError`` into one line on stderr and exit code 2; the API will turn it
into one JSON error envelope.
"""

from __future__ import annotations

__all__ = [
    "AirspaceViolation",
    "Conflict",
    "DataError",
    "InfeasiblePlan",
    "InputError",
    "IntegrityError",
    "NotFound",
    "PolicyDenied",
    "StandoffError",
    "StorageError",
]


class StandoffError(Exception):
    """Base of every error Standoff raises on purpose."""


class InputError(StandoffError, ValueError):
    """Bad input: names where it came from (file, row or field) and the value.

    ``source`` is a file path or a logical name (``"argument LAT"``), ``field`` a
    column, key path or row reference, ``value`` the offending value (shortened).
    """

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        field: str | None = None,
        value: object = None,
        row: int | None = None,
    ) -> None:
        self.reason = message
        self.source = source
        self.field = field
        self.value = value
        self.row = row
        super().__init__(self._render())

    def _render(self) -> str:
        where: list[str] = []
        if self.source:
            where.append(str(self.source))
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.field:
            where.append(f"field {self.field!r}")
        text = self.reason
        if self.value is not None:
            shown = repr(self.value)
            if len(shown) > 80:
                shown = shown[:77] + "..."
            text = f"{text} (value {shown})"
        return f"{': '.join(where)}: {text}" if where else text


class NotFound(InputError):
    """The input names something that does not exist (the API answers 404)."""


class Conflict(InputError):
    """The input clashes with the current state, e.g. a job already running (the API
    answers 409)."""


class DataError(StandoffError):
    """Vendored or built data is missing, corrupt or does not match its pinned hash."""


class AirspaceViolation(StandoffError):
    """Something that must stay out of forbidden airspace does not."""


class InfeasiblePlan(StandoffError):
    """No plan satisfies the requirements; the message says why in numbers."""


class PolicyDenied(StandoffError):
    """A policy gate said no; the message carries the reasons."""


class IntegrityError(StandoffError):
    """A hash, signature or proof does not verify."""


class StorageError(StandoffError):
    """The store failed to read or write."""
