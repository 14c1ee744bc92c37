"""The mission plan: what the planner produces and every exporter, gate and simulator reads.

Coordinates are longitude/latitude in degrees (WGS 84), altitudes in metres above mean sea
level, times in seconds from the plan's ``start_utc``.  Arrays are numpy float64.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

__all__ = [
    "PLAN_SCHEMA",
    "AoiCoverage",
    "MissionPlan",
    "Orbit",
    "PlanLeg",
]

FloatArray = npt.NDArray[np.float64]

PLAN_SCHEMA = "standoff.plan/1"
"""Version of Standoff's own plan format (``plan.json``)."""


@dataclass(frozen=True)
class Orbit:
    """A closed observation orbit: a racetrack (two straight legs joined by half circles) or
    a circle (``leg_length_m == 0``), flown at constant altitude."""

    name: str
    centre_lon_deg: float
    centre_lat_deg: float
    axis_heading_deg: float
    """Heading of the straight legs (degrees from true north)."""
    leg_length_m: float
    radius_m: float
    alt_m: float
    clockwise: bool
    on_station_s: float
    """Time planned on this orbit."""
    aoi_names: tuple[str, ...]
    """Areas of interest this orbit observes."""
    lon_deg: FloatArray
    """The orbit as a closed densified loop (first point repeated last)."""
    lat_deg: FloatArray
    radar_azimuth_deg: float | None = None
    """Where the moving-target radar's azimuth sector is centred while on this orbit (a
    true azimuth at the orbit's centre, degrees in [0, 360)), when the mission asks the
    planner to aim it (``radar_aim: planned``); None: the sector is centred on the AOIs in
    reach."""

    @property
    def kind(self) -> Literal["racetrack", "circle"]:
        return "circle" if self.leg_length_m <= 0 else "racetrack"


@dataclass(frozen=True)
class PlanLeg:
    """One stretch of the nominal flight path: a transit or time on an orbit."""

    kind: Literal["transit_out", "orbit", "transit_between", "transit_back"]
    name: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class AoiCoverage:
    """How much of an area of interest the plan can see."""

    name: str
    priority: float
    area_m2: float
    coverable_m2: float
    """Part of the AOI that any legal orbit could ever see with these sensors."""
    covered_m2: float
    """Part the plan's orbits see."""
    on_station_s: float
    reachable: bool = True
    """False when the AOI does not fit the endurance (reported, not dropped)."""
    note: str = ""
    geometry: dict[str, Any] = field(default_factory=dict)
    """The AOI itself: a GeoJSON Polygon or MultiPolygon (lon, lat), so that the sensors of
    a sortie know where to look (empty in plans written before it was recorded)."""
    radar_m2: float | None = None
    """Part the moving-target radar's azimuth sector sweeps from the plan's orbits, aimed as
    the radar aims it (``platforms/footprint.py``): less than ``covered_m2`` when the AOIs in
    reach are wider than the sector.  None: no such radar, or a plan from before."""

    @property
    def coverable_fraction(self) -> float:
        return self.coverable_m2 / self.area_m2 if self.area_m2 > 0 else 0.0

    @property
    def radar_fraction(self) -> float | None:
        """Share of the AOI the radar's sector sweeps from the orbits."""
        if self.radar_m2 is None:
            return None
        return self.radar_m2 / self.area_m2 if self.area_m2 > 0 else 0.0

    @property
    def coverage_efficiency(self) -> float:
        return self.covered_m2 / self.coverable_m2 if self.coverable_m2 > 0 else 0.0


@dataclass(frozen=True)
class MissionPlan:
    """A complete, airspace-checked sortie plan."""

    mission_name: str
    operator: str
    base_icao: str
    base_lon_deg: float
    base_lat_deg: float
    base_elevation_m: float
    start_utc: datetime
    aircraft_name: str
    sensors: tuple[str, ...]
    altitude_m: float
    margin_m: float
    cruise_speed_mps: float
    loiter_speed_mps: float
    endurance_s: float
    reserve_s: float
    orbits: tuple[Orbit, ...]
    legs: tuple[PlanLeg, ...]
    coverage: tuple[AoiCoverage, ...]
    path_lon_deg: FloatArray
    """Nominal flight path, densified, from take-off to landing."""
    path_lat_deg: FloatArray
    path_time_s: FloatArray
    min_clearance_m: float
    """Smallest clearance of the whole path from forbidden airspace (checked exactly)."""
    airspace_sha256: str
    transit_s: float
    on_station_s: float
    endurance_reserve_s: float
    """Endurance left after the whole sortie, beyond the required reserve."""
    greedy_bound: float = 1.0 - 1.0 / np.e
    """Guarantee of the orbit selection: covered >= bound x optimum for the same orbit count."""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def duration_s(self) -> float:
        return float(self.path_time_s[-1]) if len(self.path_time_s) else 0.0
