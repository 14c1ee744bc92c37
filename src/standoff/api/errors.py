"""One vocabulary for the errors the service reports.

An HTTP error envelope (``{"error": {"code": ...}}``) and a failed job's record
(``job.error.code``) name the same exception with the same code, so a client handles a
refusal the same way whether it came back at once or from a job later.
"""

from __future__ import annotations

from standoff.core.errors import (
    AirspaceViolation,
    Conflict,
    DataError,
    InfeasiblePlan,
    InputError,
    IntegrityError,
    NotFound,
    PolicyDenied,
    StandoffError,
)

__all__ = ["status_and_code"]

# Most specific first: NotFound and Conflict are InputErrors.
_TABLE: tuple[tuple[type[StandoffError], int, str], ...] = (
    (PolicyDenied, 403, "policy_denied"),
    (AirspaceViolation, 403, "airspace"),
    (NotFound, 404, "not_found"),
    (Conflict, 409, "conflict"),
    (InputError, 422, "invalid"),
    (InfeasiblePlan, 422, "infeasible"),
    (IntegrityError, 409, "integrity"),
    (DataError, 500, "data"),
)


def status_and_code(exc: StandoffError) -> tuple[int, str]:
    """The HTTP status and error code of ``exc``; anything else (the store failing) is
    ``503 unavailable``."""
    for kind, status, code in _TABLE:
        if isinstance(exc, kind):
            return status, code
    return 503, "unavailable"
