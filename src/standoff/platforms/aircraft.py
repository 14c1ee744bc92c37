"""Aircraft specifications and their flight physics (pure, vectorised)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

__all__ = ["G_MPS2", "AircraftSpec"]

G_MPS2 = 9.80665
"""Standard gravity."""


@dataclass(frozen=True)
class AircraftSpec:
    """An observation aircraft. Every figure's source (or "assumption") is in ``sources``."""

    name: str
    cruise_speed_mps: float
    """True airspeed for transits."""
    loiter_speed_mps: float
    """True airspeed on station."""
    max_speed_mps: float
    service_ceiling_m: float
    endurance_s: float
    reserve_s: float
    """Endurance kept in hand at landing."""
    bank_limit_deg: float
    """Bank used for planning turns (below the airframe's limit, for sensor geometry)."""
    wind_allowance_mps: float
    """Wind the turn radius must absorb: radius = (V + W)^2 / (g tan(bank))."""
    sources: Mapping[str, str] = field(default_factory=dict)

    def turn_radius_m(
        self, speed_mps: float | npt.ArrayLike | None = None, wind_mps: float | None = None
    ) -> float:
        """Minimum ground-fixed turn radius at ``speed_mps`` (default loiter) in ``wind_mps``
        (default the planning allowance): the worst ground speed V + W sets the bank needed."""
        v = self.loiter_speed_mps if speed_mps is None else speed_mps
        w = self.wind_allowance_mps if wind_mps is None else wind_mps
        ground = np.asarray(v, dtype=np.float64) + w
        return float(ground**2 / (G_MPS2 * np.tan(np.radians(self.bank_limit_deg))))

    def racetrack_period_s(self, leg_length_m: float, radius_m: float) -> float:
        """Time for one lap of a racetrack at loiter speed (still air)."""
        return (2.0 * leg_length_m + 2.0 * np.pi * radius_m) / self.loiter_speed_mps
