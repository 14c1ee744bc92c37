"""Sovereign airspace: who owns which airspace, how far forbidden airspace is, path checks."""

from standoff.airspace.model import INTL, OUTSIDE_DATA, Airspace, NoFlyZone, Verdict
from standoff.airspace.path import FlightPath, GapInterval, Incursion, PathCheck, check_path

__all__ = [
    "INTL",
    "OUTSIDE_DATA",
    "Airspace",
    "FlightPath",
    "GapInterval",
    "Incursion",
    "NoFlyZone",
    "PathCheck",
    "Verdict",
    "check_path",
]
