"""Aircraft and sensor specifications and their physics; the intelligence-only mandate."""

from standoff.platforms.aircraft import G_MPS2, AircraftSpec
from standoff.platforms.catalogue import (
    AIRCRAFT,
    SENSORS,
    as_profile,
    resolve_aircraft,
    resolve_sensor,
)
from standoff.platforms.mandate import MANDATE, refuse_kinetic
from standoff.platforms.sensors import SensorSpec, ground_range_m

__all__ = [
    "AIRCRAFT",
    "G_MPS2",
    "MANDATE",
    "SENSORS",
    "AircraftSpec",
    "SensorSpec",
    "as_profile",
    "ground_range_m",
    "refuse_kinetic",
    "resolve_aircraft",
    "resolve_sensor",
]
