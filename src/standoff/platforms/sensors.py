"""Sensor specifications and their geometry (pure, vectorised)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt

__all__ = ["EARTH_RADIUS_4_3_M", "SensorSpec", "ground_range_m"]

_MEAN_EARTH_RADIUS_M = 6_371_008.8
EARTH_RADIUS_4_3_M = _MEAN_EARTH_RADIUS_M * 4.0 / 3.0
"""Effective Earth radius for radar propagation (standard atmosphere)."""


def ground_range_m(slant_range_m: npt.ArrayLike, alt_m: float) -> npt.NDArray[np.float64]:
    """Ground distance to a point at ``slant_range_m`` from a sensor at ``alt_m`` (spherical
    Earth of mean radius; zero when the slant range does not reach the ground)."""
    rs = np.asarray(slant_range_m, dtype=np.float64)
    r = _MEAN_EARTH_RADIUS_M
    cos_angle = ((r + alt_m) ** 2 + r**2 - rs**2) / (2.0 * (r + alt_m) * r)
    out = r * np.arccos(np.clip(cos_angle, -1.0, 1.0))
    return np.asarray(np.where(rs > alt_m, out, 0.0), dtype=np.float64)


@dataclass(frozen=True)
class SensorSpec:
    """An observation sensor. Every figure's source (or "assumption") is in ``sources``."""

    name: str
    kind: Literal["gmti", "eoir"]
    max_slant_range_m: float
    min_slant_range_m: float
    revisit_s: float
    """GMTI: time between scans of an area; EO/IR: time between looks when cued."""
    mdv_mps: float
    """GMTI minimum detectable (radial) velocity; 0 for EO/IR."""
    fov_deg: float
    """EO/IR field of view (horizontal); GMTI azimuth sector."""
    range_sigma_m: float
    angle_sigma_rad: float
    sources: Mapping[str, str] = field(default_factory=dict)

    def ground_reach_m(self, alt_m: float) -> float:
        """Farthest ground distance the sensor reaches from ``alt_m``."""
        return float(ground_range_m(self.max_slant_range_m, alt_m))

    @property
    def half_fov_rad(self) -> float:
        """Half the field of view in radians (a GMTI's azimuth sector either side of where it
        is aimed); pi for a radar that sees all round."""
        return float(np.pi) if self.fov_deg >= 360.0 else float(np.radians(self.fov_deg) / 2.0)

    def ground_min_m(self, alt_m: float) -> float:
        """Nearest ground distance the sensor sees (its blind ring below the aircraft)."""
        return float(ground_range_m(self.min_slant_range_m, alt_m))
