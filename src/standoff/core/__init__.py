"""Foundations shared by every layer: the error tree and unit conversions."""

from standoff.core.errors import (
    AirspaceViolation,
    DataError,
    InfeasiblePlan,
    InputError,
    IntegrityError,
    PolicyDenied,
    StandoffError,
    StorageError,
)

__all__ = [
    "AirspaceViolation",
    "DataError",
    "InfeasiblePlan",
    "InputError",
    "IntegrityError",
    "PolicyDenied",
    "StandoffError",
    "StorageError",
]
